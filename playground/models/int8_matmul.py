"""Products of float32 rows by group-quantized int8 weights, as LLVM IR compiled for this CPU.

A weight matrix (N outputs x K inputs) is stored as int8 values ``q`` with, for each run of
``group`` inputs of an output (16 or 32), a float32 ``scale`` and optionally an ``offset``:
the weight is ``q * scale + offset``. That holds the GGUF formats the bundled models come in
(Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q6_K) without loss (:mod:`playground.models.gguf_blocks`),
at a byte and a bit per weight instead of float32's four.

A product reads the weights once for all its rows:

1. each row of the input is cut into the same groups and each group is rounded to int16
   against its own largest magnitude (a relative error under 2**-15 of that magnitude, far
   finer than bfloat16's 2**-8);
2. each group's dot product of int8 weights and int16 inputs is exact in 32-bit integers
   (LLVM emits ``vpmaddwd`` on x86, ``smlal`` on ARM), then scaled in float32 by the
   weight's and the input's scales and summed with fused multiply-adds; an offset adds
   ``offset * sum(inputs)`` per group.

Every output is computed by the same sequence of operations whatever the number of rows in
the product, the tile a row falls in, or how the outputs are split between threads: a row
batched with others gets the numbers it gets alone, bit for bit (:func:`self_check` proves
it on the machine it runs on, with the error against a float64 reference within
:data:`TOLERANCE`). The outputs are split between the threads of torch's OpenMP pool
(:mod:`playground.models.jit`).
"""

from __future__ import annotations

import ctypes
import logging
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

import torch

from playground.models.jit import Compiled, JitUnavailableError, compile_module, openmp_usable

log = logging.getLogger(__name__)

GROUPS = (16, 32)  # the group sizes the kernels handle
TILES = (8, 4, 1)  # rows computed together, widest first: each group of weights is loaded and widened once for them
BLOCK = 64  # outputs whose weights every tile of rows reads in turn, from the cache (64 x 2048 int8: 128 KiB)
TOLERANCE = 2e-4  # largest error of an output, relative to the largest output magnitude, the self-check accepts
_P = ctypes.c_void_p
_I = ctypes.c_int64
_ARGTYPES = (_P, _I, _I, _I, _P, _P, _P, _P, _P, _P, _P, ctypes.c_int32)


def _indices(values: range) -> str:
    return ", ".join(f"i32 {i}" for i in values)


def _hsum(name: str, vector: str) -> list[str]:
    """IR that sums the 8 lanes of a float vector in a fixed order (no reassociation left to LLVM)."""
    return [
        f"  %{name}.h = shufflevector <8 x float> {vector}, <8 x float> poison, <4 x i32> <{_indices(range(4, 8))}>",
        f"  %{name}.l = shufflevector <8 x float> {vector}, <8 x float> poison, <4 x i32> <{_indices(range(4))}>",
        f"  %{name}.4 = fadd <4 x float> %{name}.l, %{name}.h",
        f"  %{name}.4h = shufflevector <4 x float> %{name}.4, <4 x float> poison, <2 x i32> <i32 2, i32 3>",
        f"  %{name}.4l = shufflevector <4 x float> %{name}.4, <4 x float> poison, <2 x i32> <i32 0, i32 1>",
        f"  %{name}.2 = fadd <2 x float> %{name}.4l, %{name}.4h",
        f"  %{name}.a = extractelement <2 x float> %{name}.2, i64 0",
        f"  %{name}.b = extractelement <2 x float> %{name}.2, i64 1",
        f"  %{name} = fadd float %{name}.a, %{name}.b",
    ]


def _group_dot(group: int, row: str, q_wide: str, x_ptr: str) -> list[str]:
    """IR of one row's exact integer dot product with a group of weights, as 8 int32 lanes, then float."""
    half = group // 2
    vector = f"<{group} x i32>"
    evens = f"<{half} x i32> <{_indices(range(0, group, 2))}>"
    odds = f"<{half} x i32> <{_indices(range(1, group, 2))}>"
    lines = [
        f"  %x{row} = load <{group} x i16>, ptr {x_ptr}, align 2",
        f"  %xw{row} = sext <{group} x i16> %x{row} to <{group} x i32>",
        f"  %p{row} = mul nsw <{group} x i32> {q_wide}, %xw{row}",
        f"  %pe{row} = shufflevector {vector} %p{row}, {vector} poison, {evens}",
        f"  %po{row} = shufflevector {vector} %p{row}, {vector} poison, {odds}",
        f"  %s{row} = add nsw <{half} x i32> %pe{row}, %po{row}",
    ]
    lanes = f"%s{row}"
    if half == 16:
        lines += [
            f"  %sl{row} = shufflevector <16 x i32> %s{row}, <16 x i32> poison, <8 x i32> <{_indices(range(8))}>",
            f"  %sh{row} = shufflevector <16 x i32> %s{row}, <16 x i32> poison, <8 x i32> <{_indices(range(8, 16))}>",
            f"  %s8{row} = add nsw <8 x i32> %sl{row}, %sh{row}",
        ]
        lanes = f"%s8{row}"
    lines.append(f"  %f{row} = sitofp <8 x i32> {lanes} to <8 x float>")
    return lines


def _tile_function(group: int, offset: bool, rows: int, half: bool) -> str:
    """``tile{rows}``: the outputs [n0, n1) of input rows [m0, m0 + rows), each with its own accumulator."""
    name = f"@tile{rows}"
    head = [
        f"define internal void {name}(ptr noalias %q, ptr noalias %sc, ptr noalias %off, ptr noalias %out,",
        "    ptr noalias %x16, ptr noalias %xs, ptr noalias %xsum, i64 %N, i64 %K, i64 %n0, i64 %n1, i64 %m0) {",
        "entry:",
        f"  %G = udiv i64 %K, {group}",
        "  %any = icmp slt i64 %n0, %n1",
        "  br i1 %any, label %nloop, label %exit",
        "nloop:",
        "  %n = phi i64 [ %n0, %entry ], [ %n.next, %nend ]",
        "  %qrow = mul i64 %n, %K",
        "  %srow = mul i64 %n, %G",
        "  br label %gloop",
        "gloop:",
        "  %g = phi i64 [ 0, %nloop ], [ %g.next, %gloop ]",
    ]
    body = [
        f"  %k = mul i64 %g, {group}",
        "  %qi = add i64 %qrow, %k",
        "  %qp = getelementptr i8, ptr %q, i64 %qi",
        f"  %qv = load <{group} x i8>, ptr %qp, align 1",
        f"  %qw = sext <{group} x i8> %qv to <{group} x i32>",
        "  %si = add i64 %srow, %g",
        *_load_scale("wscale", "%sc", half),
    ]
    if offset:
        body += _load_scale("woff", "%off", half)
    phis, tail = [], []
    for t in range(rows):
        phis.append(f"  %acc{t} = phi <8 x float> [ zeroinitializer, %nloop ], [ %acc{t}.next, %gloop ]")
        if offset:
            phis.append(f"  %accb{t} = phi float [ 0.0, %nloop ], [ %accb{t}.next, %gloop ]")
        body += [
            f"  %row{t} = add i64 %m0, {t}",
            f"  %xrow{t} = mul i64 %row{t}, %K",
            f"  %xi{t} = add i64 %xrow{t}, %k",
            f"  %xp{t} = getelementptr i16, ptr %x16, i64 %xi{t}",
            *_group_dot(group, str(t), "%qw", f"%xp{t}"),
            f"  %xsrow{t} = mul i64 %row{t}, %G",
            f"  %xsi{t} = add i64 %xsrow{t}, %g",
            f"  %xsp{t} = getelementptr float, ptr %xs, i64 %xsi{t}",
            f"  %xsv{t} = load float, ptr %xsp{t}, align 4",
            f"  %sc{t} = fmul float %wscale, %xsv{t}",
            f"  %sc0{t} = insertelement <8 x float> poison, float %sc{t}, i64 0",
            f"  %scv{t} = shufflevector <8 x float> %sc0{t}, <8 x float> poison, <8 x i32> zeroinitializer",
            f"  %acc{t}.next = call <8 x float> @llvm.fma.v8f32("
            f"<8 x float> %f{t}, <8 x float> %scv{t}, <8 x float> %acc{t})",
        ]
        if offset:
            body += [
                f"  %xsump{t} = getelementptr float, ptr %xsum, i64 %xsi{t}",
                f"  %xsumv{t} = load float, ptr %xsump{t}, align 4",
                f"  %accb{t}.next = call float @llvm.fma.f32(float %woff, float %xsumv{t}, float %accb{t})",
            ]
        total = f"%tot{t}"
        tail += _hsum(f"h{t}", f"%acc{t}.next")
        if offset:
            tail.append(f"  {total} = fadd float %h{t}, %accb{t}.next")
        else:
            total = f"%h{t}"
        tail += [
            f"  %orow{t} = mul i64 %row{t}, %N",
            f"  %oi{t} = add i64 %orow{t}, %n",
            f"  %outp{t} = getelementptr float, ptr %out, i64 %oi{t}",
            f"  store float {total}, ptr %outp{t}, align 4",
        ]
    loop_end = [
        "  %g.next = add i64 %g, 1",
        "  %gdone = icmp eq i64 %g.next, %G",
        "  br i1 %gdone, label %nend, label %gloop",
        "nend:",
    ]
    close = [
        "  %n.next = add i64 %n, 1",
        "  %ndone = icmp eq i64 %n.next, %n1",
        "  br i1 %ndone, label %exit, label %nloop",
        "exit:",
        "  ret void",
        "}",
    ]
    return "\n".join(head + phis + body + loop_end + tail + close)


def _load_scale(name: str, base: str, half: bool) -> list[str]:
    """IR loading the weight scale (or offset) of group ``%si`` as a float, from float16 or float32 storage."""
    if not half:
        return [
            f"  %{name}.p = getelementptr float, ptr {base}, i64 %si",
            f"  %{name} = load float, ptr %{name}.p, align 4",
        ]
    return [
        f"  %{name}.p = getelementptr half, ptr {base}, i64 %si",
        f"  %{name}.h = load half, ptr %{name}.p, align 2",
        f"  %{name} = fpext half %{name}.h to float",
    ]


def _quantize_function(group: int, offset: bool) -> str:
    """``quantize``: each group of each input row as int16 against its largest magnitude, its scale, its sum."""
    lines = [
        "define internal void @quantize(ptr noalias %x, ptr noalias %x16, ptr noalias %xs, ptr noalias %xsum,",
        "    i64 %M, i64 %K) {",
        "entry:",
        f"  %G = udiv i64 %K, {group}",
        "  %count = mul i64 %M, %G",
        "  br label %loop",
        "loop:",
        "  %i = phi i64 [ 0, %entry ], [ %i.next, %loop ]",
        f"  %k = mul i64 %i, {group}",
        "  %xp = getelementptr float, ptr %x, i64 %k",
        f"  %v = load <{group} x float>, ptr %xp, align 4",
        f"  %abs = call <{group} x float> @llvm.fabs.v{group}f32(<{group} x float> %v)",
        f"  %max = call float @llvm.vector.reduce.fmax.v{group}f32(<{group} x float> %abs)",
        "  %nonzero = fcmp ogt float %max, 0.0",
        "  %inv0 = fdiv float 32767.0, %max",
        "  %inv = select i1 %nonzero, float %inv0, float 0.0",
        "  %scale = fdiv float %max, 32767.0",
        f"  %inv.0 = insertelement <{group} x float> poison, float %inv, i64 0",
        f"  %invv = shufflevector <{group} x float> %inv.0, <{group} x float> poison, <{group} x i32> zeroinitializer",
        f"  %scaled = fmul <{group} x float> %v, %invv",
        f"  %rounded = call <{group} x float> @llvm.rint.v{group}f32(<{group} x float> %scaled)",
        f"  %ints = fptosi <{group} x float> %rounded to <{group} x i16>",
        "  %x16p = getelementptr i16, ptr %x16, i64 %k",
        f"  store <{group} x i16> %ints, ptr %x16p, align 2",
        "  %xsp = getelementptr float, ptr %xs, i64 %i",
        "  store float %scale, ptr %xsp, align 4",
    ]
    if offset:
        lines += [
            f"  %wide = sext <{group} x i16> %ints to <{group} x i32>",
            f"  %isum = call i32 @llvm.vector.reduce.add.v{group}i32(<{group} x i32> %wide)",
            "  %fsum = sitofp i32 %isum to float",
            "  %sum = fmul float %fsum, %scale",
            "  %xsump = getelementptr float, ptr %xsum, i64 %i",
            "  store float %sum, ptr %xsump, align 4",
        ]
    lines += [
        "  %i.next = add i64 %i, 1",
        "  %done = icmp eq i64 %i.next, %count",
        "  br i1 %done, label %exit, label %loop",
        "exit:",
        "  ret void",
        "}",
    ]
    return "\n".join(lines)


_CONTEXT = "{ ptr, ptr, ptr, ptr, ptr, ptr, ptr, i64, i64, i64 }"  # q, scale, offset, out, x16, xs, xsum, M, N, K


def _span_function() -> str:
    """``span``: the outputs [n0, n1) of every row, in tiles of :data:`TILES` rows, the widest first.

    The worker calls it on blocks of :data:`BLOCK` outputs, so that every tile of rows reads
    a block's weights from the cache: the weights come from memory once, whatever the rows.
    """
    args = "ptr %q, ptr %sc, ptr %off, ptr %out, ptr %x16, ptr %xs, ptr %xsum, i64 %N, i64 %K, i64 %n0, i64 %n1"
    lines = [f"define internal void @span({args}, i64 %M) {{", "entry:", "  br label %loop", "loop:"]
    incoming = ", ".join(["[ 0, %entry ]", *(f"[ %m{t}, %do{t} ]" for t in TILES)])
    lines += [f"  %m = phi i64 {incoming}", "  %left = sub i64 %M, %m", f"  br label %check{TILES[0]}"]
    for i, rows in enumerate(TILES):
        below = f"%check{TILES[i + 1]}" if i + 1 < len(TILES) else "%exit"
        lines += [
            f"check{rows}:",
            f"  %fits{rows} = icmp uge i64 %left, {rows}",
            f"  br i1 %fits{rows}, label %do{rows}, label {below}",
            f"do{rows}:",
            f"  call void @tile{rows}({args}, i64 %m)",
            f"  %m{rows} = add i64 %m, {rows}",
            "  br label %loop",
        ]
    return "\n".join([*lines, "exit:", "  ret void", "}"])


def _worker_function() -> str:
    """``worker``: this thread's share of the outputs (a multiple of 8), block by block."""
    fields = ["q", "sc", "off", "out", "x16", "xs", "xsum", "M", "N", "K"]
    lines = ["define internal void @worker(ptr %ctx) {", "entry:"]
    for i, field in enumerate(fields):
        kind = "ptr" if i < 7 else "i64"
        lines += [
            f"  %{field}.p = getelementptr {_CONTEXT}, ptr %ctx, i32 0, i32 {i}",
            f"  %{field} = load {kind}, ptr %{field}.p",
        ]
    args = "ptr %q, ptr %sc, ptr %off, ptr %out, ptr %x16, ptr %xs, ptr %xsum, i64 %N, i64 %K"
    lines += [
        "  %tid32 = call i32 @omp_get_thread_num()",
        "  %nth32 = call i32 @omp_get_num_threads()",
        "  %tid = sext i32 %tid32 to i64",
        "  %nth = sext i32 %nth32 to i64",
        "  %per0 = add i64 %N, %nth",
        "  %per1 = sub i64 %per0, 1",
        "  %per2 = udiv i64 %per1, %nth",
        "  %per3 = add i64 %per2, 7",
        "  %per = and i64 %per3, -8",
        "  %start = mul i64 %tid, %per",
        "  %end0 = add i64 %start, %per",
        "  %over = icmp ugt i64 %end0, %N",
        "  %n1 = select i1 %over, i64 %N, i64 %end0",
        "  %late = icmp ugt i64 %start, %N",
        "  %n0 = select i1 %late, i64 %N, i64 %start",
        "  %any = icmp ult i64 %n0, %n1",
        "  br i1 %any, label %block, label %exit",
        "block:",
        "  %b = phi i64 [ %n0, %entry ], [ %b.end, %block ]",
        f"  %b.next = add i64 %b, {BLOCK}",
        "  %b.over = icmp ugt i64 %b.next, %n1",
        "  %b.end = select i1 %b.over, i64 %n1, i64 %b.next",
        f"  call void @span({args}, i64 %b, i64 %b.end, i64 %M)",
        "  %b.done = icmp eq i64 %b.end, %n1",
        "  br i1 %b.done, label %exit, label %block",
        "exit:",
        "  ret void",
        "}",
    ]
    return "\n".join(lines)


def _entry_function() -> str:
    """``matmul``: quantize the input rows, then every thread of the team takes its share of the outputs."""
    return "\n".join(
        [
            "define void @matmul(ptr %x, i64 %M, i64 %N, i64 %K, ptr %q, ptr %sc, ptr %off, ptr %out,",
            "    ptr %x16, ptr %xs, ptr %xsum, i32 %threads) {",
            "entry:",
            "  call void @quantize(ptr %x, ptr %x16, ptr %xs, ptr %xsum, i64 %M, i64 %K)",
            f"  %ctx = alloca {_CONTEXT}",
            *(
                f"  %f{i} = getelementptr {_CONTEXT}, ptr %ctx, i32 0, i32 {i}\n  store {kind} {value}, ptr %f{i}"
                for i, (kind, value) in enumerate(
                    [
                        ("ptr", "%q"),
                        ("ptr", "%sc"),
                        ("ptr", "%off"),
                        ("ptr", "%out"),
                        ("ptr", "%x16"),
                        ("ptr", "%xs"),
                        ("ptr", "%xsum"),
                        ("i64", "%M"),
                        ("i64", "%N"),
                        ("i64", "%K"),
                    ]
                )
            ),
            "  %parallel = icmp sgt i32 %threads, 1",
            "  br i1 %parallel, label %team, label %alone",
            "team:",
            "  call void @GOMP_parallel(ptr @worker, ptr %ctx, i32 %threads, i32 0)",
            "  ret void",
            "alone:",
            "  call void @worker(ptr %ctx)",
            "  ret void",
            "}",
        ]
    )


def module_ir(group: int, offset: bool, half: bool) -> str:
    """The IR module of the kernel for groups of ``group`` weights, with or without offsets, float16 scales or not."""
    if group not in GROUPS:
        raise ValueError(f"group must be one of {GROUPS}, got {group}")
    declarations = [
        "declare <8 x float> @llvm.fma.v8f32(<8 x float>, <8 x float>, <8 x float>)",
        "declare float @llvm.fma.f32(float, float, float)",
        f"declare <{group} x float> @llvm.fabs.v{group}f32(<{group} x float>)",
        f"declare <{group} x float> @llvm.rint.v{group}f32(<{group} x float>)",
        f"declare float @llvm.vector.reduce.fmax.v{group}f32(<{group} x float>)",
        f"declare i32 @llvm.vector.reduce.add.v{group}i32(<{group} x i32>)",
        "declare void @GOMP_parallel(ptr, ptr, i32, i32)",
        "declare i32 @omp_get_thread_num()",
        "declare i32 @omp_get_num_threads()",
    ]
    parts = [
        "\n".join(declarations),
        _quantize_function(group, offset),
        *(_tile_function(group, offset, rows, half) for rows in TILES),
        _span_function(),
        _worker_function(),
        _entry_function(),
    ]
    return "\n\n".join(parts) + "\n"


class _Scratch(threading.local):
    """Each thread's buffers for the rounded input rows, grown as needed and reused (no allocation per product)."""

    def __init__(self) -> None:
        self.values = torch.empty(0, dtype=torch.int16)
        self.scales = torch.empty(0, dtype=torch.float32)

    def take(self, values: int, scales: int) -> tuple[int, int, int]:
        """Addresses of room for ``values`` int16 values and twice ``scales`` floats (scales, then sums)."""
        if self.values.numel() < values:
            self.values = torch.empty(values, dtype=torch.int16)
        if self.scales.numel() < 2 * scales:
            self.scales = torch.empty(2 * scales, dtype=torch.float32)
        base = self.scales.data_ptr()
        return self.values.data_ptr(), base, base + 4 * scales


_scratch = _Scratch()


@dataclass(frozen=True)
class Kernel:
    """One compiled variant of the product: groups of ``group``, with or without offsets, float16 scales or not."""

    group: int
    offset: bool
    half: bool
    compiled: Compiled
    function: Any  # the entry point ``matmul`` as a ctypes function

    def bind(self, weight: Any) -> Any:
        """The product by one GroupQuantized ``weight``: a function of (rows, out, threads), its addresses bound."""
        function, group = self.function, self.group
        outputs, inputs = weight.q.shape
        parts = (weight.q.data_ptr(), weight.scale.data_ptr(), weight.offset.data_ptr() if self.offset else 0)

        def product(x: torch.Tensor, out: torch.Tensor, threads: int) -> None:
            rows = x.shape[0]
            x16, xs, xsum = _scratch.take(rows * inputs, rows * (inputs // group))
            if threads > 1 and not openmp_usable():
                threads = 1
            function(x.data_ptr(), rows, outputs, inputs, *parts, out.data_ptr(), x16, xs, xsum, threads)

        product.keep = weight  # the addresses stay valid while the product lives  # type: ignore[attr-defined]
        return product


@cache
def kernel(group: int, offset: bool, half: bool = False) -> Kernel:
    """The compiled kernel for this layout, checked on this machine (once per process).

    Raises JitUnavailableError when it cannot be compiled or fails :func:`self_check`.
    """
    compiled = compile_module(module_ir(group, offset, half), needs_openmp=True)
    compiled_kernel = Kernel(group, offset, half, compiled, compiled.function("matmul", None, *_ARGTYPES))
    failure = self_check(compiled_kernel)
    if failure is not None:
        log.warning("the int8 kernel (groups of %d, offsets %s) fails its check here: %s", group, offset, failure)
        raise JitUnavailableError(f"the int8 kernel fails its check on this machine: {failure}")
    return compiled_kernel


def self_check(checked: Kernel, threads: int = 2) -> str | None:
    """What is wrong with ``checked`` on this machine, or None: the promises of the module's docstring, tested.

    On seeded random weights (an odd number of outputs, so that a thread's share and a
    tile have edges) and 1 to 9 rows: every output within :data:`TOLERANCE` of a float64
    product of the same int8 values, and every row's outputs bit for bit the same alone on
    one thread as batched on ``threads``.
    """
    from types import SimpleNamespace

    generator = torch.Generator().manual_seed(0)
    outputs, inputs = 203, checked.group * 12
    dtype = torch.float16 if checked.half else torch.float32
    groups = inputs // checked.group
    weight = SimpleNamespace(
        q=torch.randint(-127, 128, (outputs, inputs), dtype=torch.int8, generator=generator),
        scale=(torch.rand(outputs, groups, generator=generator) * 0.02).to(dtype),
        offset=((torch.rand(outputs, groups, generator=generator) - 0.5) * 0.02).to(dtype) if checked.offset else None,
    )
    values = weight.q.double().reshape(outputs, groups, checked.group) * weight.scale.double()[..., None]
    if weight.offset is not None:
        values = values + weight.offset.double()[..., None]
    product = checked.bind(weight)
    x = torch.randn(9, inputs, generator=generator) * torch.logspace(-2, 2, inputs)  # magnitudes over 4 decades
    batched = torch.empty(9, outputs)
    product(x, batched, threads)
    reference = x.double() @ values.reshape(outputs, inputs).t()
    error = float((batched.double() - reference).abs().max() / reference.abs().max())
    if not error <= TOLERANCE:
        return f"an error of {error:.1e} of the largest output (tolerance {TOLERANCE:.0e})"
    for rows in (1, 2, 3, 4, 5):
        for start in range(0, 9 - rows + 1, rows):
            alone = torch.empty(rows, outputs)
            product(x[start : start + rows].contiguous(), alone, 1)
            if not torch.equal(alone, batched[start : start + rows]):
                return f"rows {start}..{start + rows - 1} computed {rows} at a time differ from the same rows among 9"
    return None


__all__ = ["GROUPS", "TOLERANCE", "JitUnavailableError", "Kernel", "kernel", "module_ir"]

"""Products of float32 rows by group-quantized int8 weights, as LLVM IR compiled for this CPU.

A weight matrix (N outputs x K inputs) is stored as int8 values ``q`` with, for each run of
``group`` inputs of an output (16 or 32), a float32 ``scale`` and optionally an ``offset``:
the weight is ``q * scale + offset``. That holds the GGUF formats the bundled models come in
(Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q6_K) without loss (:mod:`playground.models.gguf_blocks`),
at a byte and a bit per weight instead of float32's four.

The values are stored **interleaved by** :data:`LANES` **outputs** (:func:`interleave`): for
each block of 16 outputs, each pair of inputs holds the 16 outputs' two values side by side,
and each group the 16 outputs' scales. One vector register then holds 16 outputs' weights
for two inputs, and a product computes 16 outputs at once, one per lane, with no sum across
lanes (llama.cpp's repacked CPU layouts do the same).

A product reads the weights once for all its rows:

1. each row of the input is cut into the same groups and each group is rounded to int16
   against its own largest magnitude (a relative error under 2**-15 of that magnitude, far
   finer than bfloat16's 2**-8);
2. for each group, a pair of a row's int16 inputs is broadcast to every lane and multiplied
   with the 16 outputs' int8 weights of that pair, the two products of a lane added in
   32-bit integers (LLVM emits ``vpmaddwd`` on x86, ``smlal`` on ARM): the group's dot
   products are exact integers; each is then scaled in float32 by the weight's and the
   input's scales and added to its output with a fused multiply-add, group after group; an
   offset adds ``offset * sum(inputs)`` per group.

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
LANES = 16  # outputs interleaved together, one per lane of a product
TILES = (8, 4, 1)  # rows computed together, widest first: each pair of weights is loaded and widened once for them
BLOCK = 4  # blocks of LANES outputs whose weights every tile of rows reads in turn, from the cache (64 x 2048: 128 KiB)
TOLERANCE = 2e-4  # largest error of an output, relative to the largest output magnitude, the self-check accepts
_P = ctypes.c_void_p
_I = ctypes.c_int64
_ARGTYPES = (_P, _I, _I, _I, _P, _P, _P, _P, _P, _P, _P, ctypes.c_int32)


def _indices(values: range) -> str:
    return ", ".join(f"i32 {i}" for i in values)


def _padded(values: torch.Tensor, lanes: int) -> torch.Tensor:
    """``values`` with zero rows after its last, up to a multiple of ``lanes`` rows."""
    extra = -values.shape[0] % lanes
    return torch.cat([values, values.new_zeros(extra, values.shape[1])]) if extra else values


def interleave(values: torch.Tensor, run: int = 2) -> torch.Tensor:
    """Rows of outputs (outputs x columns) as the kernel reads them: (blocks, 16 * columns).

    Block ``b`` holds outputs ``16b .. 16b + 15`` (the last block padded with zeros); in
    it, each run of ``run`` columns holds the 16 outputs' values side by side, output
    ``16b + l``'s at ``run * l``. The int8 values go in runs of 2 (a pair of inputs: 32
    bytes), the per-group scales and offsets in runs of 1.
    """
    if values.shape[1] % run:
        raise ValueError(f"{values.shape[1]} columns: the kernel reads them in runs of {run}")
    values = _padded(values, LANES)
    outputs, columns = values.shape
    runs = values.reshape(outputs // LANES, LANES, columns // run, run).transpose(1, 2)
    return runs.reshape(outputs // LANES, LANES * columns).contiguous()


def deinterleave(values: torch.Tensor, outputs: int, run: int = 2) -> torch.Tensor:
    """The inverse of :func:`interleave`: the first ``outputs`` rows of (outputs x columns)."""
    blocks, width = values.shape
    columns = width // LANES
    runs = values.reshape(blocks, columns // run, LANES, run).transpose(1, 2)
    return runs.reshape(blocks * LANES, columns)[:outputs]


def _splat(name: str, scalar: str, kind: str) -> list[str]:
    """IR broadcasting ``scalar`` of type ``kind`` to the 16 lanes of ``%name``."""
    vector = f"<{LANES} x {kind}>"
    return [
        f"  %{name}.0 = insertelement {vector} poison, {kind} {scalar}, i64 0",
        f"  %{name} = shufflevector {vector} %{name}.0, {vector} poison, <{LANES} x i32> zeroinitializer",
    ]


def _pair_products(row: int, pair: int, weights: str) -> list[str]:
    """IR of a row's two inputs ``2 pair``, ``2 pair + 1`` times the 16 outputs' weights, summed per lane in int32."""
    tag = f"{row}.{pair}"
    wide = f"<{2 * LANES} x i32>"
    evens = f"<{LANES} x i32> <{_indices(range(0, 2 * LANES, 2))}>"
    odds = f"<{LANES} x i32> <{_indices(range(1, 2 * LANES, 2))}>"
    previous = "zeroinitializer" if pair == 0 else f"%ia{row}.{pair - 1}"
    both = f"<{2 * LANES} x i32> <{_indices([0, 1] * LANES)}>"  # the pair, repeated in every lane
    return [
        f"  %xi{tag} = add i64 %xk{row}, {2 * pair}",
        f"  %xp{tag} = getelementptr i16, ptr %x16, i64 %xi{tag}",
        f"  %xv{tag} = load <2 x i16>, ptr %xp{tag}, align 2",
        f"  %xb{tag} = shufflevector <2 x i16> %xv{tag}, <2 x i16> poison, {both}",
        f"  %xw{tag} = sext <{2 * LANES} x i16> %xb{tag} to {wide}",
        f"  %pr{tag} = mul nsw {wide} {weights}, %xw{tag}",
        f"  %pe{tag} = shufflevector {wide} %pr{tag}, {wide} poison, {evens}",
        f"  %po{tag} = shufflevector {wide} %pr{tag}, {wide} poison, {odds}",
        f"  %ps{tag} = add nsw <{LANES} x i32> %pe{tag}, %po{tag}",
        f"  %ia{tag} = add nsw <{LANES} x i32> {previous}, %ps{tag}",
    ]


def _tile_function(group: int, offset: bool, rows: int, half: bool) -> str:
    """``tile{rows}``: the output blocks [b0, b1) of input rows [m0, m0 + rows), each row with its own accumulators."""
    pairs, floats = group // 2, f"<{LANES} x float>"
    stored = "half" if half else "float"
    lines = [
        f"define internal void @tile{rows}(ptr noalias %q, ptr noalias %sc, ptr noalias %off, ptr noalias %out,",
        "    ptr noalias %x16, ptr noalias %xs, ptr noalias %xsum, i64 %N, i64 %K, i64 %b0, i64 %b1, i64 %m0) {",
        "entry:",
        f"  %G = udiv i64 %K, {group}",
        "  %any = icmp slt i64 %b0, %b1",
        "  br i1 %any, label %bloop, label %exit",
        "bloop:",
        "  %b = phi i64 [ %b0, %entry ], [ %b.next, %bend ]",
        "  %qb0 = mul i64 %b, %K",
        f"  %qb = mul i64 %qb0, {LANES}",
        "  %sb = mul i64 %b, %G",
        "  br label %gloop",
        "gloop:",
        "  %g = phi i64 [ 0, %bloop ], [ %g.next, %gloop ]",
        *(f"  %acc{t} = phi {floats} [ zeroinitializer, %bloop ], [ %acc{t}.next, %gloop ]" for t in range(rows)),
        f"  %k = mul i64 %g, {group}",
        "  %si0 = add i64 %sb, %g",
        f"  %si = mul i64 %si0, {LANES}",
        f"  %qg0 = mul i64 %g, {group * LANES}",
        "  %qg = add i64 %qb, %qg0",
        *_load_scales("wscale", "%sc", stored),
    ]
    if offset:
        lines += _load_scales("woff", "%off", stored)
    for t in range(rows):
        lines += [
            f"  %row{t} = add i64 %m0, {t}",
            f"  %xrow{t} = mul i64 %row{t}, %K",
            f"  %xk{t} = add i64 %xrow{t}, %k",
        ]
    for pair in range(pairs):
        lines += [
            f"  %qi{pair} = add i64 %qg, {pair * 2 * LANES}",
            f"  %qp{pair} = getelementptr i8, ptr %q, i64 %qi{pair}",
            f"  %qv{pair} = load <{2 * LANES} x i8>, ptr %qp{pair}, align 1",
            f"  %qw{pair} = sext <{2 * LANES} x i8> %qv{pair} to <{2 * LANES} x i32>",
        ]
        for t in range(rows):
            lines += _pair_products(t, pair, f"%qw{pair}")
    for t in range(rows):
        scaled = f"a{t}" if offset else f"acc{t}.next"  # the offset's product is added after the scaled sum
        lines += [
            f"  %f{t} = sitofp <{LANES} x i32> %ia{t}.{pairs - 1} to {floats}",
            f"  %xsrow{t} = mul i64 %row{t}, %G",
            f"  %xsi{t} = add i64 %xsrow{t}, %g",
            f"  %xsp{t} = getelementptr float, ptr %xs, i64 %xsi{t}",
            f"  %xsv{t} = load float, ptr %xsp{t}, align 4",
            *_splat(f"xsb{t}", f"%xsv{t}", "float"),
            f"  %scv{t} = fmul {floats} %wscale, %xsb{t}",
            f"  %{scaled} = call {floats} @llvm.fma.v16f32({floats} %f{t}, {floats} %scv{t}, {floats} %acc{t})",
        ]
        if offset:
            lines += [
                f"  %xsump{t} = getelementptr float, ptr %xsum, i64 %xsi{t}",
                f"  %xsumv{t} = load float, ptr %xsump{t}, align 4",
                *_splat(f"xmb{t}", f"%xsumv{t}", "float"),
                f"  %acc{t}.next = call {floats} @llvm.fma.v16f32({floats} %woff, {floats} %xmb{t}, {floats} %a{t})",
            ]
    lines += [
        "  %g.next = add i64 %g, 1",
        "  %gdone = icmp eq i64 %g.next, %G",
        "  br i1 %gdone, label %bend, label %gloop",
        "bend:",
        f"  %ob = mul i64 %b, {LANES}",
        "  %left = sub i64 %N, %ob",  # the last block may hold fewer than LANES outputs: its other lanes are not stored
        f"  %lim = call i64 @llvm.umin.i64(i64 %left, i64 {LANES})",
        "  %lim32 = trunc i64 %lim to i32",
        *_splat("limv", "%lim32", "i32"),
        f"  %mask = icmp ult <{LANES} x i32> <{_indices(range(LANES))}>, %limv",
    ]
    mask = f"<{LANES} x i1> %mask"
    for t in range(rows):
        lines += [
            f"  %orow{t} = mul i64 %row{t}, %N",
            f"  %oi{t} = add i64 %orow{t}, %ob",
            f"  %outp{t} = getelementptr float, ptr %out, i64 %oi{t}",
            f"  call void @llvm.masked.store.v16f32.p0({floats} %acc{t}.next, ptr %outp{t}, i32 4, {mask})",
        ]
    lines += [
        "  %b.next = add i64 %b, 1",
        "  %bdone = icmp eq i64 %b.next, %b1",
        "  br i1 %bdone, label %exit, label %bloop",
        "exit:",
        "  ret void",
        "}",
    ]
    return "\n".join(lines)


def _load_scales(name: str, base: str, stored: str) -> list[str]:
    """IR loading the 16 outputs' weight scales (or offsets) of group ``%si`` as floats, from half or float storage."""
    loaded = f"%{name}.v" if stored == "half" else f"%{name}"
    lines = [
        f"  %{name}.p = getelementptr {stored}, ptr {base}, i64 %si",
        f"  {loaded} = load <{LANES} x {stored}>, ptr %{name}.p, align 2",
    ]
    if stored == "half":
        lines.append(f"  %{name} = fpext <{LANES} x half> %{name}.v to <{LANES} x float>")
    return lines


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
    """``span``: the output blocks [n0, n1) of every row, in tiles of :data:`TILES` rows, the widest first.

    The worker calls it on :data:`BLOCK` blocks of outputs at a time, so that every tile of
    rows reads their weights from the cache: the weights come from memory once, whatever the rows.
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
    """``worker``: this thread's share of the blocks of :data:`LANES` outputs, :data:`BLOCK` blocks at a time."""
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
        f"  %NB0 = add i64 %N, {LANES - 1}",
        f"  %NB = udiv i64 %NB0, {LANES}",
        "  %per0 = add i64 %NB, %nth",
        "  %per1 = sub i64 %per0, 1",
        "  %per = udiv i64 %per1, %nth",
        "  %start = mul i64 %tid, %per",
        "  %end0 = add i64 %start, %per",
        "  %over = icmp ugt i64 %end0, %NB",
        "  %n1 = select i1 %over, i64 %NB, i64 %end0",
        "  %late = icmp ugt i64 %start, %NB",
        "  %n0 = select i1 %late, i64 %NB, i64 %start",
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
        "declare <16 x float> @llvm.fma.v16f32(<16 x float>, <16 x float>, <16 x float>)",
        "declare void @llvm.masked.store.v16f32.p0(<16 x float>, ptr, i32, <16 x i1>)",
        "declare i64 @llvm.umin.i64(i64, i64)",
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
        outputs, inputs = weight.shape
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

    On seeded random weights (an odd number of blocks of outputs, the last one partly
    filled, so that a thread's share and a tile have edges) and 1 to 9 rows: every output
    within :data:`TOLERANCE` of a float64 product of the same int8 values, and every row's
    outputs bit for bit the same alone on one thread as batched on ``threads``.
    """
    from types import SimpleNamespace

    generator = torch.Generator().manual_seed(0)
    outputs, inputs = 13 * LANES - 5, checked.group * 12  # the last block partly filled
    dtype = torch.float16 if checked.half else torch.float32
    groups = inputs // checked.group
    q = torch.randint(-127, 128, (outputs, inputs), dtype=torch.int8, generator=generator)
    scale = (torch.rand(outputs, groups, generator=generator) * 0.02).to(dtype)
    offset = ((torch.rand(outputs, groups, generator=generator) - 0.5) * 0.02).to(dtype) if checked.offset else None
    weight = SimpleNamespace(
        q=interleave(q),
        scale=interleave(scale, run=1),
        offset=None if offset is None else interleave(offset, run=1),
        shape=(outputs, inputs),
    )
    values = q.double().reshape(outputs, groups, checked.group) * scale.double()[..., None]
    if offset is not None:
        values = values + offset.double()[..., None]
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


__all__ = [
    "GROUPS",
    "LANES",
    "TOLERANCE",
    "JitUnavailableError",
    "Kernel",
    "deinterleave",
    "interleave",
    "kernel",
    "module_ir",
]

"""oneDNN under an instruction-set limit: which limits this CPU can show, and a packing check to run under one.

oneDNN reads ``ONEDNN_MAX_CPU_ISA`` once, when it starts, and never above what the CPU has:
a limit is tried in a process of its own. ``python -m tests.models.onednn_isa DTYPE`` (run with
``ONEDNN_MAX_CPU_ISA`` and ``ONEDNN_VERBOSE=1`` set) packs layers of Gemma 3 270M's shapes
and odd ones in ``DTYPE``, multiplies them by every number of rows a decode step can have and
by prefill lengths checked or not, and prints, as the last line, ``RESULT`` and a JSON
object: whether this torch says it can pack ``DTYPE`` here, the log lines of packing (the
check's verdicts, a refusal), and for each shape the row counts the packed copy serves, the
padding, and every product that is not ``linear``'s (none, if the check keeps its promise).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path

# ONEDNN_MAX_CPU_ISA value -> (the /proc/cpuinfo flags it needs, the name ONEDNN_VERBOSE gives it)
ISA_LIMITS = {
    "DEFAULT": ((), r".+"),  # no limit: the best this CPU has
    "SSE41": (("sse4_1",), r"Intel SSE4\.1"),
    "AVX": (("avx",), r"Intel AVX"),
    "AVX2": (("avx", "avx2", "fma"), r"Intel AVX2"),
    "AVX2_VNNI": (("avx", "avx2", "fma", "avx_vnni"), r"Intel AVX2 with Intel DL Boost"),
    "AVX512_CORE": (("avx512f", "avx512bw", "avx512vl", "avx512dq"), r"Intel AVX-512 with AVX512BW, .*"),
    "AVX512_CORE_VNNI": (
        ("avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni"), r"Intel AVX-512 with Intel DL Boost"
    ),
    "AVX512_CORE_BF16": (
        ("avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16"),
        r"Intel AVX-512 with Intel DL Boost and bfloat16 support.*",
    ),
    "AVX512_CORE_AMX": (
        ("avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile",
         "amx_bf16", "amx_int8"),
        r"Intel (AVX-512|AVX10\.1) .*Intel (AMX|Advanced Matrix Extensions).*",  # AVX10.1: with AVX512-FP16
    ),
}  # fmt: skip
BF16_FLAGS = (("avx512bw", "avx512vl", "avx512dq"), ("avx_ne_convert",))  # oneDNN's bfloat16 products need one of these

SHAPES = [(2048, 640, True), (640, 2048, False), (5000, 64, False), (7, 5, True)]
ROWS = [*range(1, 9), 9, 13, 37, 64, 256]  # decode steps, and prefills checked (13, 64, 256) or not (9, 37)
VERBOSE_ISA = re.compile(r"^onednn_verbose,(?:v\d+,)?info,cpu,isa:(.*)$", re.MULTILINE)


def cpu_flags() -> set[str]:
    """The instruction-set flags of this CPU (Linux's /proc/cpuinfo; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    match = re.search(r"^flags\s*:(.*)$", text, re.MULTILINE)
    return set(match.group(1).split()) if match else set()


def missing_for(isa: str) -> list[str]:
    """The flags this CPU lacks for oneDNN to run at ``isa`` (empty when it can)."""
    flags = cpu_flags()
    return [flag for flag in ISA_LIMITS[isa][0] if flag not in flags]


def bf16_missing() -> str | None:
    """Why oneDNN cannot multiply bfloat16 here (the flags it lacks), or None when it can."""
    flags = cpu_flags()
    if any(all(flag in flags for flag in group) for group in BF16_FLAGS):
        return None
    return "this CPU has neither " + " nor ".join("+".join(group) for group in BF16_FLAGS)


def expected_product(layer, x):
    """``linear``'s products of ``x`` grouped as ``layer`` groups rows: padded to ``min_rows``, or one by one."""
    import torch

    rows = x.numel() // layer.in_features
    flat = x.reshape(rows, layer.in_features)
    if rows > getattr(layer, "decode_rows", 0):  # a prefill, or a layer left unpacked
        groups = [flat]
    elif layer.min_rows == 0:  # a row's result depends on its place: each alone
        groups = [flat[i : i + 1] for i in range(rows)]
    else:
        groups = [torch.cat([flat, flat.new_zeros(max(0, layer.min_rows - rows), layer.in_features)])]
    out = torch.cat([torch.nn.functional.linear(group, layer.weight, layer.bias) for group in groups])
    return out[:rows].reshape(*x.shape[:-1], -1)


def run_check(dtype_name: str) -> dict:
    """Pack :data:`SHAPES` in ``dtype_name`` and compare every product of :data:`ROWS` rows with ``linear``'s."""
    import torch

    from playground.models.packed_linear import pack_linear_layers, packing_supported

    dtype = getattr(torch, dtype_name)
    lines: list[str] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("playground.models")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    shapes = {}
    for out_features, in_features, bias in SHAPES:
        torch.manual_seed(out_features + in_features)
        layer = torch.nn.Linear(in_features, out_features, bias=bias, dtype=dtype)
        packed = pack_linear_layers(layer, dtypes=(dtype,))
        not_linear = []
        with torch.inference_mode():
            for rows in ROWS:
                x = torch.randn(rows, in_features, dtype=dtype)
                expected = expected_product(layer, x)
                if not torch.equal(layer(x), expected):
                    not_linear.append(rows)
                if not torch.equal(layer(x.reshape(1, rows, in_features))[0], expected):
                    not_linear.append(f"1x{rows}")
        shapes[f"{out_features}x{in_features}{'+bias' if bias else ''}"] = {
            "packed": packed,
            "exact_rows": sorted(getattr(layer, "exact_rows", ())),
            "min_rows": getattr(layer, "min_rows", 1),
            "not_linear": not_linear,
        }
    logger.removeHandler(handler)
    return {"supported": packing_supported(dtype), "log": lines, "shapes": shapes}


if __name__ == "__main__":
    result = run_check(sys.argv[1])
    sys.stdout.flush()
    print("RESULT " + json.dumps(result), flush=True)

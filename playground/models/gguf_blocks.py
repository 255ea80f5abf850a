"""GGUF's quantized blocks read as :class:`~playground.models.quantized.GroupQuantized`, without loss.

Each GGUF type below stores, for every run of 16 or 32 weights of a row, small integers
and a float scale (and a minimum, for the ``_1`` and ``_K`` types). Those integers fit in
int8 and the scale (and minimum) in float32, so the weights read here are exactly the
floats that ``gguf``'s own ``dequantize`` gives (``tests/models/test_gguf_blocks.py``
compares them), at a quarter of their bytes:

===========  =============================================  =====  ======
type         weight                                         group  offset
===========  =============================================  =====  ======
Q8_0         d * q,                   q in [-127, 127]      32     no
Q4_0         d * (q - 8),             q in [0, 15]          32     no
Q5_0         d * (q - 16),            q in [0, 31]          32     no
Q4_1         d * q + m                                      32     yes
Q5_1         d * q + m                                      32     yes
Q4_K         (d * sc) * q - dmin * m  per 32 of 256         32     yes
Q5_K         (d * sc) * q - dmin * m  per 32 of 256         32     yes
Q6_K         (d * sc) * (q - 32)      per 16 of 256         16     no
===========  =============================================  =====  ======

The block layouts follow ``gguf/quants.py`` (gguf-py, the reference implementation in
Python of ggml's formats). Other types are not read here (:func:`readable` says which).
"""

from __future__ import annotations

import numpy as np
import torch

from playground.models.quantized import GroupQuantized

QK_K = 256  # weights in a "K" super-block


def _f16(raw: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(raw).view(np.float16).astype(np.float32)


def _nibbles(qs: np.ndarray, blocks: int, width: int) -> np.ndarray:
    """Low nibbles of ``width`` bytes then their high nibbles, per run of ``width`` bytes (uint8)."""
    qs = qs.reshape(blocks, -1, 1, width) >> np.array([0, 4], dtype=np.uint8).reshape(1, 1, 2, 1)
    return (qs & np.uint8(0x0F)).reshape(blocks, -1)


def _high_bits(qh: np.ndarray, blocks: int) -> np.ndarray:
    """The 32 fifth bits of a Q5 block (a little-endian uint32), as uint8 0 or 1."""
    bits = np.ascontiguousarray(qh).view(np.uint32).reshape(blocks, 1) >> np.arange(32, dtype=np.uint32)
    return (bits & np.uint32(1)).astype(np.uint8)


def _q8_0(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    d, q = blocks[:, :2], blocks[:, 2:]
    return np.ascontiguousarray(q).view(np.int8), _f16(d), None


def _q4_0(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    d, qs = blocks[:, :2], blocks[:, 2:]
    q = _nibbles(qs, len(blocks), 16).astype(np.int8) - np.int8(8)
    return q, _f16(d), None


def _q4_1(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    d, m, qs = blocks[:, :2], blocks[:, 2:4], blocks[:, 4:]
    return _nibbles(qs, len(blocks), 16).astype(np.int8), _f16(d), _f16(m)


def _q5_0(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    d, qh, qs = blocks[:, :2], blocks[:, 2:6], blocks[:, 6:]
    q = (_nibbles(qs, len(blocks), 16) | (_high_bits(qh, len(blocks)) << np.uint8(4))).astype(np.int8) - np.int8(16)
    return q, _f16(d), None


def _q5_1(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    d, m, qh, qs = blocks[:, :2], blocks[:, 2:4], blocks[:, 4:8], blocks[:, 8:]
    q = (_nibbles(qs, len(blocks), 16) | (_high_bits(qh, len(blocks)) << np.uint8(4))).astype(np.int8)
    return q, _f16(d), _f16(m)


def _k_scales(scales: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The eight 6-bit scales and minimums of a Q4_K / Q5_K super-block (gguf-py's ``get_scale_min``)."""
    scales = scales.reshape(len(scales), 3, 4)
    d, m, m_d = scales[:, 0:1], scales[:, 1:2], scales[:, 2:3]
    sc = np.concatenate([d & 0x3F, (m_d & 0x0F) | ((d >> 2) & 0x30)], axis=-1).reshape(len(scales), 8)
    mins = np.concatenate([m & 0x3F, (m_d >> 4) | ((m >> 2) & 0x30)], axis=-1).reshape(len(scales), 8)
    return sc, mins


def _k_affine(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d, dmin = _f16(blocks[:, :2]), _f16(blocks[:, 2:4])
    sc, mins = _k_scales(np.ascontiguousarray(blocks[:, 4:16]))
    return d * sc.astype(np.float32), -(dmin * mins.astype(np.float32)), blocks[:, 16:]


def _q4_k(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    scale, offset, qs = _k_affine(blocks)
    return _nibbles(qs, len(blocks), 32).astype(np.int8), scale, offset


def _q5_k(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    scale, offset, rest = _k_affine(blocks)
    qh, qs = rest[:, : QK_K // 8], rest[:, QK_K // 8 :]
    low = _nibbles(qs, len(blocks), 32).reshape(len(blocks), -1, 32)
    high = qh.reshape(len(blocks), -1, 1, 32) >> np.arange(8, dtype=np.uint8).reshape(1, 1, 8, 1)
    high = (high & np.uint8(1)).reshape(len(blocks), -1, 32)
    return (low | (high << np.uint8(4))).reshape(len(blocks), -1).astype(np.int8), scale, offset


def _q6_k(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    n = len(blocks)
    ql, qh = blocks[:, : QK_K // 2], blocks[:, QK_K // 2 : QK_K // 2 + QK_K // 4]
    scales = np.ascontiguousarray(blocks[:, QK_K // 2 + QK_K // 4 : -2]).view(np.int8).astype(np.float32)
    d = _f16(blocks[:, -2:])
    low = (ql.reshape(n, -1, 1, 64) >> np.array([0, 4], dtype=np.uint8).reshape(1, 1, 2, 1)) & np.uint8(0x0F)
    high = (qh.reshape(n, -1, 1, 32) >> np.array([0, 2, 4, 6], dtype=np.uint8).reshape(1, 1, 4, 1)) & np.uint8(3)
    q = (low.reshape(n, -1, 32) | (high.reshape(n, -1, 32) << np.uint8(4))).astype(np.int8) - np.int8(32)
    return q.reshape(n, -1), d * scales, None


# type name: (weights per block, bytes per block, group, reader)
_FORMATS = {
    "Q8_0": (32, 34, 32, _q8_0),
    "Q4_0": (32, 18, 32, _q4_0),
    "Q4_1": (32, 20, 32, _q4_1),
    "Q5_0": (32, 22, 32, _q5_0),
    "Q5_1": (32, 24, 32, _q5_1),
    "Q4_K": (QK_K, 144, 32, _q4_k),
    "Q5_K": (QK_K, 176, 32, _q5_k),
    "Q6_K": (QK_K, 210, 16, _q6_k),
}


def readable(type_name: str) -> bool:
    """Whether a GGUF type is read here without loss."""
    return type_name in _FORMATS


def read_blocks(type_name: str, raw: np.ndarray, outputs: int, inputs: int) -> GroupQuantized:
    """A GGUF tensor's raw bytes (``outputs`` rows of ``inputs`` weights) as :class:`GroupQuantized`.

    ``raw`` is the tensor's data as ``gguf.GGUFReader`` maps it (uint8, one row of blocks
    per output). Raises ValueError for a type :func:`readable` refuses or a size that does
    not match.
    """
    if type_name not in _FORMATS:
        raise ValueError(f"GGUF type {type_name} is not read as int8 groups")
    per_block, block_bytes, group, reader = _FORMATS[type_name]
    if inputs % per_block or raw.size != outputs * (inputs // per_block) * block_bytes:
        raise ValueError(f"{type_name}: {raw.size} bytes do not hold {outputs} x {inputs} weights")
    blocks = np.asarray(raw, dtype=np.uint8).reshape(-1, block_bytes)
    q, scale, offset = reader(blocks)
    groups = inputs // group

    def tensor(array: np.ndarray, dtype: np.dtype, shape: tuple[int, int]) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array.astype(dtype, copy=False)).reshape(shape))

    scale_type = np.float16 if _exact_in_half(scale, offset) else np.float32
    return GroupQuantized.from_rows(
        q=tensor(q, np.int8, (outputs, inputs)),
        scale=tensor(scale, scale_type, (outputs, groups)),
        offset=None if offset is None else tensor(offset, scale_type, (outputs, groups)),
        group=group,
    )


def _exact_in_half(scale: np.ndarray, offset: np.ndarray | None) -> bool:
    """Whether float16 holds these float32 scales (and offsets) exactly: half their bytes, no loss."""
    return all(
        part is None or np.array_equal(part.astype(np.float16).astype(np.float32), part) for part in (scale, offset)
    )

"""GGUF's quantized blocks read as int8 groups: the same floats as gguf-py's own dequantize, bit for bit.

Each type is checked on blocks gguf-py quantizes itself where it can (the ``_0`` and ``_1``
types), on random bytes where it cannot (the ``K`` types: any bytes are a valid block once
their float16 scales are finite), and on the tensors of the bundled SmolLM2 file.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gguf import GGMLQuantizationType
from gguf.quants import dequantize, quantize

from playground.models.gguf_blocks import QK_K, read_blocks, readable
from playground.models.gguf_file import TENSOR_TYPES, GGUFFile

SIMPLE = ["Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"]
K_TYPES = {"Q4_K": (144, [(0, 2), (2, 4)]), "Q5_K": (176, [(0, 2), (2, 4)]), "Q6_K": (210, [(208, 210)])}


def _check(type_name: str, raw: np.ndarray, outputs: int, inputs: int) -> None:
    weight = read_blocks(type_name, raw, outputs, inputs)
    expected = dequantize(raw, GGMLQuantizationType[type_name]).reshape(outputs, inputs)
    assert np.array_equal(weight.dequantize().numpy(), expected), type_name
    assert weight.q.dtype == torch.int8 and weight.shape == (outputs, inputs)


@pytest.mark.parametrize("type_name", SIMPLE)
def test_blocks_gguf_quantized_read_back_as_gguf_reads_them(type_name):
    rng = np.random.default_rng(0)
    floats = (rng.standard_normal((24, 128)) * rng.uniform(0.01, 3, (24, 1))).astype(np.float32)
    raw = quantize(floats, GGMLQuantizationType[type_name])
    _check(type_name, raw, 24, 128)


@pytest.mark.parametrize("type_name", sorted(K_TYPES))
def test_random_k_blocks_read_back_as_gguf_reads_them(type_name):
    block_bytes, halves = K_TYPES[type_name]
    rng = np.random.default_rng(1)
    raw = rng.integers(0, 256, (6 * 2, block_bytes), dtype=np.uint8)
    for start, end in halves:  # finite float16 scales (random bytes could be NaN)
        raw[:, start:end] = np.frombuffer(
            rng.uniform(-0.05, 0.05, len(raw)).astype(np.float16).tobytes(), dtype=np.uint8
        ).reshape(len(raw), 2)
    _check(type_name, raw.reshape(6, -1), 6, 2 * QK_K)


def test_scales_are_kept_in_float16_only_when_that_loses_nothing():
    rng = np.random.default_rng(2)
    raw = quantize(rng.standard_normal((4, 64)).astype(np.float32), GGMLQuantizationType.Q8_0)
    q8 = read_blocks("Q8_0", raw, 4, 64)
    assert q8.scale.dtype == torch.float16  # Q8_0's scale is a float16 in the file
    raw = rng.integers(0, 256, (4, 144), dtype=np.uint8)
    raw[:, 0:4] = np.frombuffer(np.array([0.0123, 0.00071] * 4, dtype=np.float16).tobytes(), np.uint8).reshape(4, 4)
    q4k = read_blocks("Q4_K", raw.reshape(4, -1), 4, QK_K)
    assert q4k.scale.dtype == torch.float32  # d * a 6-bit scale needs more than float16's bits


def test_a_size_that_does_not_match_the_shape_is_refused():
    raw = quantize(np.ones((2, 64), dtype=np.float32), GGMLQuantizationType.Q8_0)
    with pytest.raises(ValueError, match="do not hold 3 x 64 weights"):
        read_blocks("Q8_0", raw, 3, 64)
    with pytest.raises(ValueError, match="not read as int8 groups"):
        read_blocks("IQ2_XXS", raw, 2, 64)
    assert not readable("Q2_K") and all(readable(t) for t in SIMPLE + sorted(K_TYPES))


def test_every_quantized_tensor_of_the_bundled_smollm2_file(smollm2_gguf):
    gguf = GGUFFile(smollm2_gguf)
    seen = set()
    for info in gguf.tensors.values():
        if info.type_name in ("F32", "F16") or info.type_name in seen:
            continue
        seen.add(info.type_name)
        outputs, inputs = info.shape
        _check(info.type_name, np.asarray(info.data), outputs, inputs)
    assert seen and seen <= {t for t, *_ in TENSOR_TYPES.values()}

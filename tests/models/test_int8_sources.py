"""Where int8 weights come from, and what serves when they cannot: float32 products of the same values."""

from __future__ import annotations

import copy

import torch

from playground.models.int8_sources import _dequantized, _layouts_unavailable, int8_unavailable
from playground.models.quantize_model import quantize_model
from playground.models.quantized import QuantizedLinear
from playground.models.sources import LoadedWeights
from tests.tiny_models import tiny_gemma3


def test_int8_weights_are_for_a_cpu_whose_kernels_pass_their_check():
    assert int8_unavailable("cpu") is None
    assert "not cuda" in int8_unavailable("cuda")


def test_every_layout_of_a_model_is_compiled_and_checked_when_it_loads():
    model = tiny_gemma3(seed=3)
    quantize_model(model)
    assert _layouts_unavailable(model) is None


def test_the_fallback_serves_the_same_values_in_float32():
    int8 = tiny_gemma3(seed=4)
    quantize_model(int8)
    ids = torch.randint(0, 500, (1, 12), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        expected = int8(ids).logits
    weights = _dequantized(LoadedWeights(copy.deepcopy(int8), None, "test", int8=True))
    assert not weights.int8
    assert not any(isinstance(m, QuantizedLinear) for m in weights.model.modules())
    with torch.inference_mode():
        got = weights.model(ids).logits
    assert torch.allclose(got, expected, rtol=1e-3, atol=1e-3 * float(expected.abs().max()))
    assert torch.equal(got.argmax(-1), expected.argmax(-1))

"""Where int8 weights come from, and what serves when they cannot: float32 products of the same values."""

from __future__ import annotations

import copy
import logging

import pytest
import torch

from playground.models import int8_matmul
from playground.models.int8_sources import _dequantized, _layouts_unavailable, int8_unavailable, load_model
from playground.models.quantize_model import quantize_model
from playground.models.quantized import QuantizedLinear
from playground.models.sources import LoadedWeights
from tests.tiny_models import tiny_gemma3, tiny_gemma_entries


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


@pytest.fixture
def strict_tolerance(monkeypatch):
    """The real kernels, checked against a tolerance no product of rounded inputs meets: their check fails here."""
    monkeypatch.setattr(int8_matmul, "TOLERANCE", 0.0)
    int8_matmul.kernel.cache_clear()
    yield
    int8_matmul.kernel.cache_clear()  # the next test compiles and checks them under the module's own tolerance


def test_a_kernel_that_fails_its_check_is_refused_with_a_log_line_and_float_weights_serve(
    strict_tolerance, tiny_hub, tmp_path, caplog
):
    entry, _ = tiny_gemma_entries(tiny_hub, tmp_path, seed=5)
    entry["dtype"] = "int8"
    registry = tiny_hub.registry(default_model="tiny-gemma", models=[entry], adapters=[])
    with caplog.at_level(logging.INFO, logger="playground.models"):
        weights = load_model(registry.model("tiny-gemma"), registry, device="cpu")
    assert not weights.int8
    assert not any(hasattr(module, "quantized") for module in weights.model.modules())
    messages = [record.getMessage() for record in caplog.records]
    failed = "the int8 kernel (groups of 32, offsets False) fails its check here"
    refused = [m for m in messages if m.startswith(failed)]
    assert len(refused) == 1 and refused[0].endswith("of the largest output (tolerance 0e+00)"), messages
    served = [m for m in messages if m.startswith("tiny-gemma is served without int8 weights: the int8 kernel fails")]
    assert len(served) == 1, messages

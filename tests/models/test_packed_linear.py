"""Linear layers multiplying by a oneDNN-reordered copy of their bfloat16 weight.

The products must be bit for bit ``torch.nn.functional.linear``'s, for every number of rows
a batch or a prefill gives, so that packing changes the speed of an answer and never its
tokens. The copy must follow the weight when it changes, and gradients must still flow.
Then through the loader: a bfloat16 model is packed, a float32 one is not, and the registry
can turn it off.
"""

from __future__ import annotations

import pytest
import torch

from playground.errors import ConfigError
from playground.models.packed_linear import PackedLinear, pack_linear_layers, packing_supported
from playground.models.registry import Registry

pytestmark = pytest.mark.skipif(not packing_supported(), reason="this torch has no oneDNN bfloat16 products")

SHAPES = [(2048, 640), (640, 2048), (1024, 640), (256, 640), (5000, 64), (7, 5)]  # Gemma 3 270M's, and odd ones


def _packed(out_features: int, in_features: int, bias: bool = False, seed: int = 0) -> torch.nn.Linear:
    torch.manual_seed(seed)
    layer = torch.nn.Linear(in_features, out_features, bias=bias, dtype=torch.bfloat16)
    assert pack_linear_layers(layer) == 1
    assert type(layer) is PackedLinear
    return layer


@pytest.mark.parametrize("out_features, in_features", SHAPES)
@pytest.mark.parametrize("bias", [False, True])
def test_products_are_bit_for_bit_those_of_linear_for_any_number_of_rows(out_features, in_features, bias):
    layer = _packed(out_features, in_features, bias)
    torch.manual_seed(1)
    with torch.inference_mode():
        for rows in (1, 2, 3, 8, 13, 64, 256):
            x = torch.randn(rows, in_features, dtype=torch.bfloat16)
            padded = torch.cat([x, x.new_zeros(max(0, layer.min_rows - rows), in_features)])
            expected = torch.nn.functional.linear(padded, layer.weight, layer.bias)[:rows]
            assert torch.equal(layer(x), expected), f"{rows} rows"
        batch = torch.randn(3, 20, in_features, dtype=torch.bfloat16)  # (rows, positions, features)
        assert torch.equal(layer(batch), torch.nn.functional.linear(batch, layer.weight, layer.bias))
        last = batch[:, -1:, :]  # a strided slice, as logits_to_keep hands the output layer
        assert torch.equal(layer(last), torch.nn.functional.linear(last, layer.weight, layer.bias))


@pytest.mark.parametrize("out_features, in_features", SHAPES)
def test_a_rows_result_does_not_depend_on_the_rows_beside_it(out_features, in_features):
    """A decode row batched with 1 to 63 others is computed as the same row alone (``linear``: not at 2048 inputs)."""
    layer = _packed(out_features, in_features)
    torch.manual_seed(2)
    x = torch.randn(64, in_features, dtype=torch.bfloat16)
    with torch.inference_mode():
        alone = torch.cat([layer(x[i : i + 1]) for i in range(8)])
        for rows in range(1, 65):
            assert torch.equal(layer(x[:rows])[:8], alone[: min(rows, 8)]), f"{rows} rows"
        assert torch.equal(layer(x[:3].reshape(1, 3, in_features))[0], alone[:3])  # (rows, positions, features)


def test_the_copy_follows_the_weight_changed_in_place_or_replaced():
    layer = _packed(64, 32)
    x = torch.randn(2, 32, dtype=torch.bfloat16)
    with torch.no_grad():
        before = layer(x)
        layer.weight.mul_(2)  # in place (as loading an adapter or merging one does)
        assert torch.equal(layer(x), torch.nn.functional.linear(x, layer.weight))
        assert not torch.equal(layer(x), before)
        layer.weight = torch.nn.Parameter(torch.randn(64, 32, dtype=torch.bfloat16))  # replaced
        assert torch.equal(layer(x), torch.nn.functional.linear(x, layer.weight))


def test_gradients_flow_and_another_dtype_computes_as_linear_does():
    layer = _packed(16, 8)
    x = torch.randn(4, 8, dtype=torch.bfloat16, requires_grad=True)
    layer(x).float().sum().backward()  # grad enabled: nn.Linear's own path
    assert layer.weight.grad is not None and x.grad is not None
    layer.float()
    x32 = torch.randn(4, 8)
    with torch.no_grad():
        assert torch.equal(layer(x32), torch.nn.functional.linear(x32, layer.weight))


def test_float32_layers_and_lora_matrices_are_left_alone():
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Linear(8, 8, dtype=torch.bfloat16))
    assert pack_linear_layers(model) == 1
    assert type(model[0]) is torch.nn.Linear and type(model[1]) is PackedLinear
    assert set(model.state_dict()) == {"0.weight", "0.bias", "1.weight", "1.bias"}  # no extra entries


def _bf16_registry(tiny_hub, **limits):
    data = tiny_hub.registry_dict()
    for model in data["models"]:
        model["dtype"] = "bfloat16"
    data["limits"] = {**data.get("limits", {}), **limits}
    return Registry.from_dict(data, root=tiny_hub.root)


def _packed_layers(loaded) -> int:
    return sum(type(m) is PackedLinear for m in loaded.model.modules())


def test_the_loader_packs_a_bfloat16_model_unless_the_registry_says_not(tiny_hub):
    from playground.models.loader import ModelCache

    packed = ModelCache(_bf16_registry(tiny_hub)).get("tiny")
    plain = ModelCache(_bf16_registry(tiny_hub, prepacked_weights=False)).get("tiny")
    float32 = ModelCache(tiny_hub.registry()).get("tiny")
    assert _packed_layers(packed) > 0
    assert _packed_layers(plain) == 0 and _packed_layers(float32) == 0
    ids = packed.tokenizer("Once upon a time", return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        a = packed.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=8, do_sample=False)
        b = plain.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=8, do_sample=False)
    assert torch.equal(a, b)


def test_the_switch_must_be_true_or_false(tiny_hub):
    with pytest.raises(ConfigError, match=r"limits\.prepacked_weights: must be true or false, got 'yes'"):
        _bf16_registry(tiny_hub, prepacked_weights="yes")

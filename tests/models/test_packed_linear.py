"""Linear layers multiplying by a oneDNN-reordered copy of their weight.

The products must be bit for bit ``torch.nn.functional.linear``'s, for every number of rows
a batch or a prefill gives, so that packing changes the speed of an answer and never its
tokens. oneDNN's kernels depend on the CPU's instruction set, so that promise is checked
when a shape is packed (``playground/models/self_check.py``): these tests check the check. The
check keeps exactly the row counts whose products were equal (fed a real product that
rounds differently at chosen row counts), a layer serves the others through ``linear``,
and the promise holds under each ``ONEDNN_MAX_CPU_ISA`` limit the CPU running the tests can
reach (each in a process of its own: oneDNN reads it once). The copy must follow the
weight when it changes, and gradients must still flow. Then through the loader: a bfloat16
model is packed, a float32 one is not, and the registry can turn it off.

oneDNN multiplies bfloat16 only with AVX-512 (BW, VL, DQ) or AVX-NE-CONVERT; a CPU without
them skips the bfloat16 cases, naming the flags it lacks, and so does an AVX-512 limit on a
CPU without AVX-512: such a CPU cannot show AMX's bfloat16 kernels, which round differently
from ``linear`` at 64 rows. The same tests run on float32 layers everywhere: oneDNN's packed
float32 product rounds differently from MKL's at most row counts, differently under each
limit, so the narrowing itself is exercised on any CPU.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

from playground.errors import ConfigError
from playground.models.packed_linear import (
    DECODE_ROWS,
    PackedLinear,
    pack_linear_layers,
    packing_supported,
    unsupported_reason,
)
from playground.models.registry import Registry
from tests.models import onednn_isa
from tests.models.onednn_isa import expected_product
from tests.paths import ROOT

SHAPES = [(2048, 640), (640, 2048), (1024, 640), (256, 640), (5000, 64), (7, 5)]  # Gemma 3 270M's, and odd ones
FLOAT32_SHAPES = [(2048, 640), (5000, 64), (7, 5)]  # one of Gemma's, one whose packed products vary by ISA, 5 inputs
ROWS = [*range(1, 9), 9, 13, 37, 64, 256]  # decode steps, and prefills the check probes (13, 64, 256) or not


def _dtype_param(dtype: torch.dtype) -> pytest.param:
    missing = onednn_isa.bf16_missing() if dtype == torch.bfloat16 else None
    reason = f"oneDNN's {dtype} products are unavailable" + (f": {missing}" if missing else "")
    return pytest.param(dtype, id=str(dtype).removeprefix("torch."), marks=pytest.mark.skipif(
        not packing_supported(dtype), reason=reason))  # fmt: skip


DTYPES = [_dtype_param(torch.bfloat16), _dtype_param(torch.float32)]
LAYERS = [  # (dtype, out_features, in_features): bfloat16 at every shape, float32 at a few
    pytest.param(dtype.values[0], *shape, marks=dtype.marks, id=f"{dtype.id}-{shape[0]}x{shape[1]}")
    for dtype in DTYPES
    for shape in (SHAPES if dtype.values[0] == torch.bfloat16 else FLOAT32_SHAPES)
]


def _packed(out_features: int, in_features: int, bias: bool = False, dtype=torch.bfloat16, seed: int = 0):
    torch.manual_seed(seed)
    layer = torch.nn.Linear(in_features, out_features, bias=bias, dtype=dtype)
    assert pack_linear_layers(layer, dtypes=(dtype,)) == 1
    assert type(layer) is PackedLinear
    return layer


@pytest.mark.parametrize("dtype, out_features, in_features", LAYERS)
@pytest.mark.parametrize("bias", [False, True])
def test_products_are_bit_for_bit_those_of_linear_for_any_number_of_rows(out_features, in_features, bias, dtype):
    layer = _packed(out_features, in_features, bias, dtype)
    torch.manual_seed(1)
    with torch.inference_mode():
        for rows in ROWS:
            x = torch.randn(rows, in_features, dtype=dtype)
            assert torch.equal(layer(x), expected_product(layer, x)), f"{rows} rows"
            assert torch.equal(layer(x.reshape(1, rows, in_features)), expected_product(layer, x)[None]), f"1x{rows}"
        batch = torch.randn(3, 20, in_features, dtype=dtype)  # (rows, positions, features)
        assert torch.equal(layer(batch), torch.nn.functional.linear(batch, layer.weight, layer.bias))
        last = batch[:, -1:, :]  # a strided slice, as logits_to_keep hands the output layer
        assert torch.equal(layer(last), torch.nn.functional.linear(last, layer.weight, layer.bias))


@pytest.mark.parametrize("dtype, out_features, in_features", LAYERS)
def test_a_rows_result_does_not_depend_on_the_rows_beside_it(out_features, in_features, dtype):
    """A decode row batched with the others of a step is computed as the same row alone (``linear``: not always)."""
    layer = _packed(out_features, in_features, dtype=dtype)
    torch.manual_seed(2)
    x = torch.randn(layer.decode_rows, in_features, dtype=dtype)
    with torch.inference_mode():
        alone = torch.cat([layer(x[i : i + 1]) for i in range(layer.decode_rows)])
        for rows in range(1, layer.decode_rows + 1):
            assert torch.equal(layer(x[:rows]), alone[:rows]), f"{rows} rows"
        assert torch.equal(layer(x[:3].reshape(3, 1, in_features))[:, 0], alone[:3])  # (rows, positions, features)


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_layer_serves_through_its_copy_only_the_row_counts_the_check_kept(dtype, caplog):
    """Where the check kept a count the product is the packed one; elsewhere ``linear``'s; one log line says which."""
    with caplog.at_level(logging.INFO, logger="playground.models.self_check"):
        layer = _packed(4999, 64, bias=True, dtype=dtype)  # a shape of its own: checked here, not reused
    probed = {*range(1, layer.decode_rows + 1)}
    narrowed = [record.getMessage() for record in caplog.records]
    if layer.exact_rows == probed:
        assert narrowed == []
    else:
        (line,) = narrowed
        assert line.startswith(f"packed {dtype} products of 64 inputs and 4999 outputs with a bias: ")
        for rows in sorted(probed - layer.exact_rows):
            assert f"{rows} row" in line
    torch.manual_seed(4)
    with torch.inference_mode():
        for rows in ROWS:
            x = torch.randn(rows, 64, dtype=dtype)
            served = max(rows, layer.min_rows)  # the rows of the product, padding included
            if served in layer.exact_rows and (layer.min_rows or rows > layer.decode_rows):
                padded = torch.cat([x, x.new_zeros(served - rows, 64)])
                assert torch.equal(layer(x), layer.packed_product(padded)[:rows]), f"{rows} rows"
            assert torch.equal(layer(x), expected_product(layer, x)), f"{rows} rows"


def _check_under(isa: str, dtype: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": isa, "ONEDNN_VERBOSE": "1", "OMP_NUM_THREADS": "1"}  # two run at once
    command = [sys.executable, "-m", "tests.models.onednn_isa", dtype]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def isa_runs() -> dict[tuple[str, str], subprocess.CompletedProcess]:
    """``python -m tests.models.onednn_isa`` under each limit this CPU has, per dtype, two at once, by (isa, dtype)."""
    keys = [(isa, dtype) for isa in onednn_isa.ISA_LIMITS for dtype in ISA_DTYPES if not onednn_isa.missing_for(isa)]
    with ThreadPoolExecutor(2) as pool:
        return dict(zip(keys, pool.map(lambda key: _check_under(*key), keys), strict=True))


ISA_DTYPES = ("float32", "bfloat16")
LINEAR = "torch.nn.functional.linear"


@pytest.mark.parametrize("dtype", ISA_DTYPES)
@pytest.mark.parametrize("isa", list(onednn_isa.ISA_LIMITS))
def test_the_promise_holds_under_each_instruction_set_limit(isa, dtype, isa_runs):
    """Under ``ONEDNN_MAX_CPU_ISA``, every product is ``linear``'s, and each fallback says so in the log.

    Where oneDNN can multiply ``dtype`` here, it runs at that instruction set, and a shape
    whose check refused some numbers of rows has a log line naming them; where it cannot
    (bfloat16 on a CPU without AVX-512 BW/VL/DQ or AVX-NE-CONVERT), no layer is packed and
    one log line per shape says why.
    """
    missing = onednn_isa.missing_for(isa)
    if missing:
        pytest.skip(f"this CPU lacks {', '.join(missing)}: oneDNN cannot run at {isa} here")
    run = isa_runs[isa, dtype]
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.rsplit("RESULT ", 1)[1])
    for shape, verdict in result["shapes"].items():
        assert verdict["packed"] == int(result["supported"]) and verdict["not_linear"] == [], (shape, verdict)
    if not result["supported"]:
        why = unsupported_reason(getattr(torch, dtype))
        refusal = f"1 torch.{dtype} linear layers are not packed: {why}; they compute through {LINEAR}"
        assert result["log"] == [refusal] * len(result["shapes"]), result["log"]
        return
    used = onednn_isa.VERBOSE_ISA.search(run.stdout)
    assert used, run.stdout[:2000]
    assert re.fullmatch(onednn_isa.ISA_LIMITS[isa][1], used[1]), used[1]
    probed = {*range(1, DECODE_ROWS + 1)}
    for (out_features, in_features, bias), verdict in zip(onednn_isa.SHAPES, result["shapes"].values(), strict=True):
        if not probed <= set(verdict["exact_rows"]):
            name = f"packed torch.{dtype} products of {in_features} inputs and {out_features} outputs"
            (line,) = [line for line in result["log"] if line.startswith(name + (" with a bias:" if bias else ":"))]
            assert all(f"{rows} row" in line for rows in sorted(probed - set(verdict["exact_rows"]))), line


def test_the_copy_follows_the_weight_changed_in_place_or_replaced():
    layer = _packed(64, 32, dtype=torch.float32)
    x = torch.randn(2, 32)
    with torch.no_grad():
        before = layer(x)
        layer.weight.mul_(2)  # in place (as loading an adapter or merging one does)
        assert torch.equal(layer(x), expected_product(layer, x))
        assert not torch.equal(layer(x), before)
        layer.weight = torch.nn.Parameter(torch.randn(64, 32))  # replaced
        assert torch.equal(layer(x), expected_product(layer, x))


@pytest.mark.parametrize("dtype", DTYPES)
def test_gradients_flow_and_another_dtype_computes_as_linear_does(dtype):
    layer = _packed(16, 8, dtype=dtype)
    x = torch.randn(4, 8, dtype=dtype, requires_grad=True)
    layer(x).float().sum().backward()  # grad enabled: nn.Linear's own path
    assert layer.weight.grad is not None and x.grad is not None
    layer.double()
    x64 = torch.randn(1, 8, dtype=torch.float64)
    with torch.no_grad():
        assert torch.equal(layer(x64), torch.nn.functional.linear(x64, layer.weight))  # no padding either


def test_float32_layers_and_lora_matrices_are_left_alone_by_default():
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Linear(8, 8, dtype=torch.bfloat16))
    assert pack_linear_layers(model) == (1 if packing_supported() else 0)
    assert type(model[0]) is torch.nn.Linear
    assert type(model[1]) is (PackedLinear if packing_supported() else torch.nn.Linear)
    assert set(model.state_dict()) == {"0.weight", "0.bias", "1.weight", "1.bias"}  # no extra entries


def _bf16_registry(tiny_hub, **limits):
    data = tiny_hub.registry_dict()
    for model in data["models"]:
        model["dtype"] = "bfloat16"
    data["limits"] = {**data.get("limits", {}), **limits}
    return Registry.from_dict(data, root=tiny_hub.root)


def _packed_layers(loaded) -> int:
    return sum(type(m) is PackedLinear for m in loaded.model.modules())


@pytest.mark.skipif(not packing_supported(), reason=f"no oneDNN bfloat16 products: {onednn_isa.bf16_missing()}")
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


@pytest.mark.skipif(packing_supported(), reason="this CPU has oneDNN bfloat16 products: the loader packs them")
def test_where_bfloat16_products_are_missing_the_loader_packs_nothing_and_says_so(tiny_hub, caplog):
    from playground.models.loader import ModelCache

    with caplog.at_level(logging.INFO, logger="playground.models.packed_linear"):
        loaded = ModelCache(_bf16_registry(tiny_hub)).get("tiny")
    linear = sum(type(m) is torch.nn.Linear and m.weight.dtype == torch.bfloat16 for m in loaded.model.modules())
    assert linear > 0 and _packed_layers(loaded) == 0
    why = unsupported_reason(torch.bfloat16)
    expected = f"{linear} torch.bfloat16 linear layers are not packed: {why}; they compute through {LINEAR}"
    assert [record.getMessage() for record in caplog.records] == [expected]


def test_the_switch_must_be_true_or_false(tiny_hub):
    with pytest.raises(ConfigError, match=r"limits\.prepacked_weights: must be true or false, got 'yes'"):
        _bf16_registry(tiny_hub, prepacked_weights="yes")

"""The dtype a model is served in: the registry's ``dtype`` (``auto``, ``float32``, ``bfloat16``).

``auto`` is bfloat16 where the device computes it natively, float32 elsewhere; the weights
are loaded in that dtype from every source (a bundled model's cached copy is written in it:
``tests/models/test_gemma.py``), and training always loads float32. Greedy equality with
``model.generate`` in the dtype served is checked on the real lesson model
(``tests/models/test_gemma.py``): the tiny random models' near-tied logits flip under bfloat16's
rounding, so their token-for-token tests run in float32 (``tiny_models.FLOAT32``).
"""

from __future__ import annotations

import pytest
import torch

from playground.engine import Engine
from playground.errors import ConfigError
from playground.models.registry import Registry
from playground.models.sources import cpu_computes_bf16, serving_dtype


@pytest.mark.parametrize(
    "flags, expected",
    [("fpu avx2 avx512f avx512_bf16", True), ("fpu avx2 amx_tile amx_bf16", True), ("fpu avx2 avx512f", False)],
)
def test_the_cpu_flags_say_whether_bf16_is_native(tmp_path, flags, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n", encoding="utf-8")
    assert cpu_computes_bf16(cpuinfo) is expected
    assert cpu_computes_bf16(tmp_path / "missing") is False  # not Linux: float32


def test_auto_follows_the_device_and_an_explicit_dtype_wins():
    assert serving_dtype("float32", "cpu") is torch.float32
    assert serving_dtype("bfloat16", "cpu") is torch.bfloat16
    assert serving_dtype("auto", "cpu") is (torch.bfloat16 if cpu_computes_bf16() else torch.float32)


def test_an_unknown_dtype_is_refused_naming_the_key(tiny_hub):
    data = tiny_hub.registry_dict()
    data["models"][1]["dtype"] = "float16"
    with pytest.raises(ConfigError, match=r"models\[1\]\.dtype: 'float16' is not one of auto, float32, bfloat16"):
        Registry.from_dict(data, root=tiny_hub.root)


@pytest.mark.parametrize("name", ["tiny", "tiny-local"])  # the Hub cache and a local folder
def test_the_weights_are_loaded_in_the_dtype_asked_and_answer(tiny_hub, name):
    data = tiny_hub.registry_dict()
    for model in data["models"]:
        model["dtype"] = "bfloat16"
    engine = Engine(Registry.from_dict(data, root=tiny_hub.root))
    try:
        loaded = engine.cache.get(name)
        base = loaded.model.get_base_model() if hasattr(loaded.model, "get_base_model") else loaded.model
        weights = {p.dtype for n, p in base.named_parameters() if "lora_" not in n}
        assert weights == {torch.bfloat16}  # (peft keeps the small LoRA matrices in float32)
        settings = {"temperature": 0, "max_new_tokens": 6}
        streams = [engine.stream(name, p, settings, record_tokens=True) for p in ("Hello", "The sea")]
        for stream in streams:  # two rows of one batch, in bfloat16
            stream.text()
            assert stream.result.finish_reason == "length" and stream.result.completion_tokens == 6
            assert len(stream.result.tokens) == 6
    finally:
        engine.close(wait_s=60)

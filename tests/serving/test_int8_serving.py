"""A model served from int8 weights through the lean forward: everything the playground does still works.

A tiny Gemma 3 (sliding-window and global layers) with two LoRA adapters, its registry entry
asking for ``dtype: int8``: the engine serves it through the lean runner (a cache per row).
The lab's distribution is a distribution and agrees with a generation's first token, a long
prompt prefilled in chunks continues as in one pass, Compare's scores are transformers' on
the same int8 weights, a cancelled row leaves while the others go on, and recorded tokens
and branches work as on float weights.
"""

from __future__ import annotations

import math
import threading

import pytest
import torch

from playground.engine import Engine
from playground.serving.inspection import last_logits
from playground.serving.runners import LeanRunner
from tests.serving.test_batching import StepGate
from tests.tiny_models import tiny_gemma_entries
from tests.waiting import wait_until

PROMPT = "Once upon a time, in a small village by the sea, there lived an old fisherman who"
LONG_PROMPT = " ".join(["The tide came in and the tide went out again, as it always had."] * 12)


@pytest.fixture(scope="module")
def int8_engine(tiny_hub, tmp_path_factory):
    model, adapters = tiny_gemma_entries(tiny_hub, tmp_path_factory.mktemp("int8-gemma"), seed=31)
    model["dtype"] = "int8"
    registry = tiny_hub.registry(default_model="tiny-gemma", models=[model], adapters=adapters)
    engine = Engine(registry)
    yield engine
    engine.close(wait_s=60)


def test_the_model_is_served_by_the_lean_runner_on_int8_weights(int8_engine):
    loaded = int8_engine.cache.get("tiny-gemma")
    assert loaded.int8 and loaded.lean is not None and loaded.source.endswith("rounded to int8")
    assert set(loaded.adapters) == {"gemma-a", "gemma-b"}
    assert isinstance(int8_engine.local.batcher("tiny-gemma").runner, LeanRunner)


def test_the_labs_distribution_is_one_and_agrees_with_the_first_token(int8_engine):
    loaded = int8_engine.cache.get("tiny-gemma")
    ids = int8_engine.encode("tiny-gemma", PROMPT, use_prompt_style=False)
    batcher = int8_engine.local.batcher("tiny-gemma")
    logits = last_logits(loaded, ids, None, batcher=batcher)  # the explorer's job, through the lean runner
    assert logits.shape == (1, loaded.vocab_size) and bool(torch.isfinite(logits).all())
    assert math.isclose(float(torch.softmax(logits.double(), -1).sum()), 1.0, rel_tol=1e-9)
    inspection = int8_engine.inspect("tiny-gemma", PROMPT, {"temperature": 0.0}, top=100)
    assert sum(t.probability for t in inspection.distribution) <= 1.0 + 1e-6
    assert inspection.distribution == sorted(inspection.distribution, key=lambda t: -t.probability)
    assert inspection.distribution[0].id == int(logits.argmax())
    first = int8_engine.generate("tiny-gemma", PROMPT, {"max_new_tokens": 1}, record_tokens=True)
    assert first.token_ids[0] == inspection.distribution[0].id
    assert first.tokens[0].token.probability == pytest.approx(inspection.distribution[0].probability, rel=1e-6)


def test_a_long_prompt_in_chunks_continues_as_in_one_pass(int8_engine, tiny_hub, tmp_path_factory):
    ids = int8_engine.encode("tiny-gemma", LONG_PROMPT, use_prompt_style=False)
    assert len(ids) > int8_engine.registry.limits.step_tokens  # prefilled in several chunks
    batcher = int8_engine.local.batcher("tiny-gemma")
    before = batcher.steps
    chunked = int8_engine.generate("tiny-gemma", LONG_PROMPT, {"max_new_tokens": 12})
    assert sum(1 for s in batcher.latest_steps(200) if s.number > before and s.kind == "chunk") > 1
    model, adapters = tiny_gemma_entries(tiny_hub, tmp_path_factory.mktemp("int8-gemma-wide"), seed=31)
    model["dtype"] = "int8"
    wide = Engine(
        tiny_hub.registry(
            default_model="tiny-gemma",
            models=[model],
            adapters=adapters,
            limits={**tiny_hub.registry_dict()["limits"], "step_tokens": 1024, "prefill_tokens": 1024},
        )
    )
    try:
        whole = wide.generate("tiny-gemma", LONG_PROMPT, {"max_new_tokens": 12})
    finally:
        wide.close(wait_s=60)
    assert chunked.token_ids == whole.token_ids


def test_compares_scores_are_transformers_on_the_same_int8_weights(int8_engine):
    loaded = int8_engine.cache.get("tiny-gemma")
    ids = loaded.tokenizer(PROMPT).input_ids
    scores = int8_engine.score("tiny-gemma", "gemma-a", [(ids, ids)])
    with torch.inference_mode():
        logits = loaded.model(torch.tensor([ids]), adapter_names=["gemma-a"]).logits[0, :-1].float()
    expected = -torch.log_softmax(logits, -1).gather(-1, torch.tensor(ids[1:]).unsqueeze(-1)).squeeze(-1)
    assert len(scores.nll) == len(ids) - 1
    assert torch.allclose(torch.tensor(scores.nll), expected, rtol=1e-3, atol=1e-3)


def test_a_cancelled_row_leaves_and_the_others_go_on(int8_engine):
    loaded = int8_engine.cache.get("tiny-gemma")
    alone = int8_engine.generate("tiny-gemma", PROMPT, {"max_new_tokens": 20}, adapter="gemma-b")
    gate = StepGate(loaded.lean)
    cancel = threading.Event()
    stopped = int8_engine.stream("tiny-gemma", LONG_PROMPT[:200], {"max_new_tokens": 40}, cancel=cancel)
    going = int8_engine.stream("tiny-gemma", PROMPT, {"max_new_tokens": 20}, adapter="gemma-b")
    gate.wait_entered(1)
    gate.release(4)
    gate.wait_entered(5)
    cancel.set()
    gate.open()
    assert "".join(going) == alone.text and going.result.token_ids == alone.token_ids
    stopped.text()
    assert stopped.result.finish_reason == "cancelled" and len(stopped.result.token_ids) < 40
    batcher = int8_engine.local.batcher("tiny-gemma")
    wait_until(lambda: batcher.wait_idle(0.1), "the batcher to be idle")


def test_recorded_tokens_and_a_branch_work_on_int8_weights(int8_engine):
    from playground.engine.branching import Branch

    original = int8_engine.generate("tiny-gemma", PROMPT, {"max_new_tokens": 10}, record_tokens=True)
    assert len(original.tokens) == 10 and all(0.0 < t.token.probability <= 1.0 for t in original.tokens)
    choice = original.tokens[3].alternatives[1].id
    branched = int8_engine.generate(
        "tiny-gemma",
        PROMPT,
        {"max_new_tokens": 10},
        branch=Branch(answer_ids=tuple(original.token_ids), position=3, token=choice),
    )
    assert branched.token_ids[:3] == original.token_ids[:3] and branched.token_ids[3] == choice

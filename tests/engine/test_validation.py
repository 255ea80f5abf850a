"""The door: a generation checked once, in order, into the frozen request the backends run.

On the tiny GPT-2 (real tokenizer) of ``tests/tiny_models.py``.
"""

from __future__ import annotations

import dataclasses

import pytest

from playground.engine.branching import Branch
from playground.engine.validation import GenerationAsk
from playground.errors import BusyError, SettingsError, UnknownModelError
from playground.settings import GenerationSettings

PROMPT = "The sea otter is"


def checked(engine, **kwargs):
    ask = GenerationAsk(**{"model": "tiny", "prompt": PROMPT, **kwargs})
    return engine.validation.generation(ask, engine.backend(ask.model))


def test_the_request_leaves_the_door_frozen_with_its_tokens_and_settings(engine):
    door = checked(engine, settings={"max_new_tokens": 5})
    request = door.request
    tokenizer = engine.cache.get("tiny").tokenizer
    assert request.prompt_ids == tuple(tokenizer(PROMPT)["input_ids"])
    assert request.settings.max_new_tokens == 5 and request.settings.greedy
    assert request.time_limit_s == engine.registry.limits.time_limit_s
    assert (request.record, request.forced, request.truncated_tokens, request.warnings) == (False, (), 0, ())
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.prompt_ids = ()  # type: ignore[misc]


def test_the_seed_rule_none_when_greedy_the_given_one_else_a_fresh_one(engine):
    assert checked(engine, settings={"temperature": 0.0, "seed": 7}).request.seed is None
    assert checked(engine, settings={"temperature": 0.8, "seed": 7}).request.seed == 7
    fresh = {checked(engine, settings={"temperature": 0.8}).request.seed for _ in range(4)}
    assert None not in fresh and len(fresh) > 1
    assert GenerationSettings(temperature=0.8).seeded().seed is not None
    assert GenerationSettings(temperature=0.0, seed=3).seeded().seed is None


def test_the_seed_the_door_fixed_is_the_one_reported_and_it_replays_the_answer(engine):
    settings = {"temperature": 1.0, "max_new_tokens": 8}
    first = engine.generate("tiny", PROMPT, settings)
    again = engine.generate("tiny", PROMPT, {**settings, "seed": first.seed})
    assert first.seed is not None and again.token_ids == first.token_ids


def test_a_long_prompt_keeps_its_end_and_the_request_says_how_many_tokens_were_dropped(engine):
    prompt = " ".join(f"word{i}" for i in range(200))
    request = checked(engine, prompt=prompt, settings={"max_new_tokens": 10}).request
    context = engine.registry.model("tiny").context_length
    assert len(request.prompt_ids) == context - 10
    assert request.truncated_tokens > 0 and "dropped" in request.warnings[0]


def test_a_branch_is_checked_against_the_vocabulary_and_its_tokens_are_forced(engine):
    door = checked(engine, branch=Branch((5, 6, 7), 1, 9), settings={"max_new_tokens": 5})
    assert door.branch == Branch((5, 6, 7), 1, 9)
    assert door.request.forced == (5, 9) and door.request.record
    with pytest.raises(SettingsError, match="token"):
        checked(engine, branch=Branch((5,), 0, 10**9), settings={"max_new_tokens": 5})


def test_names_and_settings_are_checked_before_the_model_loads_and_the_queue_after(engine):
    with pytest.raises(UnknownModelError, match="adapter"):
        checked(engine, adapter="nope")
    with pytest.raises(SettingsError, match="use_prompt_style"):
        checked(engine, use_prompt_style="yes")
    assert engine.cache.loaded_names() == []  # nothing loaded for a bad request
    batcher = engine.local.batcher("tiny")
    batcher.admission.max_waiting = 0  # a full queue: the door says busy, after the model is ready
    with pytest.raises(BusyError):
        checked(engine)
    with pytest.raises(SettingsError, match="prompt"):  # a bad field is still named first
        checked(engine, prompt="")

"""Prompt tokens and next-token distributions on the tiny model with GPT-2's real tokenizer."""

from __future__ import annotations

import pytest
import torch

from playground.serving.inspection import next_token_distribution, prompt_tokens
from playground.serving.requests import NextTokensRequest
from playground.settings import GenerationSettings


def test_prompt_tokens_show_the_tokenizer_splits(tiny_hub):
    tok = tiny_hub.tokenizer
    ids = tok(" Cette femme était assise<|endoftext|>")["input_ids"]
    pieces = prompt_tokens(tok, ids)
    assert [p.id for p in pieces] == ids
    assert [p.piece for p in pieces][:4] == [" C", "ette", " fem", "me"]
    assert pieces[-1].piece == "<|endoftext|>" and pieces[-1].special
    assert not any(p.special for p in pieces[:-1])
    assert "".join(p.piece for p in pieces if "\ufffd" not in p.piece).startswith(" Cette femme")


def _dist(engine, settings, adapter=None, top=10):
    loaded = engine.cache.get("tiny")
    ids = loaded.tokenizer("The sea otter is")["input_ids"]
    return loaded, ids, next_token_distribution(loaded, NextTokensRequest("tiny", adapter, tuple(ids), settings, top))


def test_raw_distribution_matches_the_model(engine):
    loaded, ids, dist = _dist(engine, GenerationSettings(temperature=1.0))
    with torch.inference_mode():
        probs = torch.softmax(
            loaded.model(input_ids=torch.tensor([ids]), **loaded.forward_kwargs(None)).logits[0, -1], -1
        )
    top = torch.topk(probs, 10)
    assert [t.id for t in dist] == top.indices.tolist()
    assert [t.probability for t in dist] == pytest.approx(top.values.tolist(), rel=1e-5)  # last position only
    assert [t.adjusted for t in dist] == pytest.approx([t.probability for t in dist], rel=1e-5)  # T=1: unchanged


def test_greedy_puts_all_mass_on_the_engines_next_token(engine):
    _, _, dist = _dist(engine, GenerationSettings(temperature=0.0))
    assert dist[0].adjusted == 1.0 and all(t.adjusted == 0.0 for t in dist[1:])
    first = engine.generate("tiny", "The sea otter is", {"max_new_tokens": 1}).token_ids[0]
    assert dist[0].id == first


def test_top_k_and_temperature_reshape_the_distribution(engine):
    _, _, flat = _dist(engine, GenerationSettings(temperature=2.0))
    _, _, sharp = _dist(engine, GenerationSettings(temperature=0.5))
    assert sharp[0].adjusted > flat[0].adjusted
    _, _, k3 = _dist(engine, GenerationSettings(temperature=1.0, top_k=3))
    assert sum(t.adjusted > 0 for t in k3) == 3
    assert sum(t.adjusted for t in k3[:3]) == pytest.approx(1.0)
    _, _, nucleus = _dist(engine, GenerationSettings(temperature=1.0, top_p=0.3))
    kept = [t for t in nucleus if t.adjusted > 0]
    assert kept == nucleus[: len(kept)] and len(kept) < len(nucleus)  # a prefix of the ranking
    assert sum(t.adjusted for t in kept) == pytest.approx(1.0)
    raw = [t.probability for t in kept]
    assert sum(raw) >= 0.3 > sum(raw[:-1])  # the smallest set holding 30% of the mass


def test_adapter_changes_the_distribution(engine):
    _, _, base = _dist(engine, GenerationSettings(temperature=1.0))
    _, _, styled = _dist(engine, GenerationSettings(temperature=1.0), adapter="style-a")
    assert [t.id for t in base] != [t.id for t in styled]


def test_bad_top_is_refused(engine):
    with pytest.raises(ValueError, match="top: 0 must be an integer"):
        _dist(engine, GenerationSettings(), top=0)

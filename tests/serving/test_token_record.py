"""The per-token record and branching, on the tiny GPT-2 (real tokenizer), checked against the bare model.

The reference is one forward pass of the model loaded on its own over the prompt and the
whole answer (teacher forcing): its softmax at each position is what the record must say
the model's distribution was when the batcher chose that token.
"""

from __future__ import annotations

import math

import pytest
import torch

from playground.engine.branching import Branch
from playground.errors import SettingsError
from playground.messages import localize
from playground.serving.sampling import build_processors
from tests.serving.test_batching import StepGate

PROMPT = "The sea otter is"


def _reference(plain_base, tokenizer, answer: list[int]) -> torch.Tensor:
    """Raw log-probabilities (len(answer), vocab) of the bare model at each generated position."""
    prompt = tokenizer(PROMPT)["input_ids"]
    with torch.inference_mode():
        logits = plain_base(input_ids=torch.tensor([prompt + answer])).logits[0].float()
    return torch.log_softmax(logits[len(prompt) - 1 : len(prompt) - 1 + len(answer)], dim=-1)


def _run(engine, settings: dict, **kwargs):
    stream = engine.stream("tiny", PROMPT, settings, **kwargs)
    stream.text()
    return stream.result


def test_record_matches_a_direct_forward_pass_of_the_model(engine, plain_base):
    result = _run(engine, {"max_new_tokens": 12, "temperature": 0.8, "seed": 7}, record_tokens=True)
    assert [r.token.id for r in result.tokens] == result.token_ids and len(result.tokens) == 12
    reference = _reference(plain_base, engine.cache.get("tiny").tokenizer, result.token_ids)
    for record, logprobs in zip(result.tokens, reference, strict=True):
        assert record.logprob == pytest.approx(float(logprobs[record.token.id]), abs=1e-4)
        assert record.token.probability == pytest.approx(math.exp(float(logprobs[record.token.id])), abs=1e-5)
        top = torch.topk(logprobs.exp(), 10)
        raw = {a.id: a.probability for a in record.alternatives}
        assert set(top.indices.tolist()) <= set(raw)  # the model's top 10 are all offered
        assert [raw[i] for i in top.indices.tolist()] == pytest.approx(top.values.tolist(), abs=1e-5)
        assert not record.forced
    score = result.score
    expected = sum(float(lp[t]) for lp, t in zip(reference, result.token_ids, strict=True))
    assert score.tokens == 12 and score.logprob == pytest.approx(expected, abs=1e-3)
    assert score.perplexity == pytest.approx(math.exp(-expected / 12), rel=1e-4)


def test_sampled_distribution_is_the_settings_one(engine, plain_base):
    """At temperature 0.7 with top-k 5: each record's adjusted probabilities are the processors' softmax, 5 kept."""
    settings = {"max_new_tokens": 10, "temperature": 0.7, "top_k": 5, "seed": 11, "repetition_penalty": 1.3}
    result = _run(engine, settings, record_tokens=True)
    tokenizer = engine.cache.get("tiny").tokenizer
    prompt = tokenizer(PROMPT)["input_ids"]
    processors = build_processors(engine.settings_for("tiny", settings))
    reference = _reference(plain_base, tokenizer, result.token_ids)
    for j, (record, logprobs) in enumerate(zip(result.tokens, reference, strict=True)):
        scores = processors(torch.tensor([prompt + result.token_ids[:j]]), logprobs[None].clone())
        expected = torch.softmax(scores, dim=-1)[0]
        kept = [a for a in record.alternatives if a.adjusted > 0]
        assert len(kept) == 5 and sum(a.adjusted for a in kept) == pytest.approx(1.0, abs=1e-5)
        assert [a.adjusted for a in kept] == pytest.approx([float(expected[a.id]) for a in kept], abs=1e-4)
        assert record.token.adjusted > 0  # the sampled token was in the kept set


def test_top_p_keeps_the_smallest_set_holding_p(engine):
    """The tiny model is unsure (its top token has about 8%), so top-p 0.1 keeps a few tokens."""
    result = _run(engine, {"max_new_tokens": 8, "temperature": 1.0, "top_p": 0.1, "seed": 2}, record_tokens=True)
    for record in result.tokens:
        kept = [a for a in record.alternatives if a.adjusted > 0]
        assert kept == list(record.alternatives[: len(kept)])  # a prefix of the ranking
        assert sum(a.adjusted for a in kept) == pytest.approx(1.0, abs=1e-5)  # all of the kept set is shown
        raw = [a.probability for a in kept]
        assert sum(raw) >= 0.1 - 1e-6 and sum(raw[:-1]) < 0.1
        assert [a.adjusted for a in kept] == pytest.approx([p / sum(raw) for p in raw], abs=1e-4)


def test_greedy_record_puts_all_sampled_mass_on_the_argmax(engine):
    result = _run(engine, {"max_new_tokens": 6}, record_tokens=True)
    for record in result.tokens:
        assert record.token.adjusted == 1.0
        assert record.token.probability == max(a.probability for a in record.alternatives)


@pytest.mark.parametrize("settings", [{"max_new_tokens": 20}, {"max_new_tokens": 20, "temperature": 1.1, "seed": 5}])
def test_streams_are_token_identical_with_and_without_the_record(engine, settings):
    pieces_off = list(stream_off := engine.stream("tiny", PROMPT, settings))
    pieces_on = list(stream_on := engine.stream("tiny", PROMPT, settings, record_tokens=True))
    assert pieces_on == pieces_off
    assert stream_on.result.token_ids == stream_off.result.token_ids
    assert stream_off.result.tokens == [] and stream_off.result.score is None
    assert len(stream_on.result.tokens) == 20


def test_record_flag_is_checked(engine):
    with pytest.raises(SettingsError, match="record_tokens: must be true or false"):
        engine.stream("tiny", PROMPT, record_tokens="yes")


# ---- branching --------------------------------------------------------------------------


def test_greedy_branch_is_the_greedy_continuation_of_the_new_prefix(engine, plain_base):
    original = _run(engine, {"max_new_tokens": 10}, record_tokens=True)
    second = original.tokens[4].alternatives[1]  # the model's second choice at token 4
    branch = Branch(tuple(original.token_ids), 4, second.id)
    result = _run(engine, {"max_new_tokens": 10}, branch=branch)
    assert result.token_ids[:5] == [*original.token_ids[:4], second.id]
    assert [r.forced for r in result.tokens] == [True] * 5 + [False] * 5
    assert result.tokens[4].token.probability == pytest.approx(second.probability, abs=1e-6)
    assert result.branch == branch
    tokenizer = engine.cache.get("tiny").tokenizer
    prefix = tokenizer(PROMPT)["input_ids"] + result.token_ids[:5]
    with torch.inference_mode():
        expected = plain_base.generate(
            torch.tensor([prefix]), max_new_tokens=5, do_sample=False, pad_token_id=tokenizer.eos_token_id
        )[0, len(prefix) :].tolist()
    assert result.token_ids[5:] == expected


def test_sampled_branch_uses_the_originals_random_stream(engine):
    """Branching with the token the original wrote gives back the original: the seeded draws stay in step."""
    settings = {"max_new_tokens": 14, "temperature": 1.2, "top_k": 30, "seed": 99}
    original = _run(engine, settings, record_tokens=True)
    same = _run(engine, settings, branch=Branch(tuple(original.token_ids), 6, original.token_ids[6]))
    assert same.token_ids == original.token_ids and same.text == original.text
    other = next(a.id for a in original.tokens[6].alternatives if a.id != original.token_ids[6])
    branched = _run(engine, settings, branch=Branch(tuple(original.token_ids), 6, other))
    assert branched.token_ids[:7] == [*original.token_ids[:6], other] and branched.seed == original.seed


def test_branch_at_the_first_token_and_after_the_last(engine):
    original = _run(engine, {"max_new_tokens": 5})
    first = _run(engine, {"max_new_tokens": 5}, branch=Branch(tuple(original.token_ids), 0, 13))
    assert first.token_ids[0] == 13 and len(first.token_ids) == 5
    last = _run(engine, {"max_new_tokens": 5}, branch=Branch(tuple(original.token_ids), 4, 13))
    assert last.token_ids == [*original.token_ids[:4], 13] and last.finish_reason == "length"


@pytest.mark.parametrize(
    ("answer", "position", "token", "english", "french"),
    [
        ([1, 2, 3], 4, 5, "position: 4 is out of range [0, 3]", "position : 4 est hors de l'intervalle [0, 3]"),
        ([1, 2, 3], -1, 5, "position: -1 is out of range", "position : -1 est hors de l'intervalle"),
        ([1, 2, 3], 1, 50257, "token: 50257 is not a token id of tiny (0 to 50256)", "token : 50257 n'est pas"),
        ([1, 2, 3], 1, -3, "token: -3 is not a token id of tiny", "token : -3 n'est pas un identifiant de token"),
        ([1, 2, 3], 1, "a", "token: must be an integer, got str 'a'", "token : doit être un entier"),
        ([1, 2, 3], 1.5, 5, "position: must be an integer, got float 1.5", "position : doit être un entier"),
        ([1, "x"], 0, 5, "answer_ids[1]: must be an integer", "answer_ids[1] : doit être un entier"),
        ([1, 99999], 0, 5, "answer_ids[1]: 99999 is not a token id of tiny", "answer_ids[1] : 99999 n'est pas"),
        ("1 2 3", 0, 5, "answer_ids: must be a list of token ids, got str", "answer_ids : doit être une liste"),
        (list(range(9)), 0, 5, "answer_ids: at most 8 token ids (max_new_tokens), got 9", "answer_ids : au plus 8"),
    ],
)
def test_bad_branches_are_refused_naming_the_field(engine, answer, position, token, english, french):
    engine.cache.get("tiny")
    batcher = engine.local.batcher("tiny")
    steps = batcher.steps
    with pytest.raises(SettingsError) as caught:
        engine.stream("tiny", PROMPT, {"max_new_tokens": 8}, branch=Branch(answer, position, token))
    assert str(caught.value).startswith(english)
    assert localize(caught.value, "fr").startswith(french)
    assert batcher.steps == steps and batcher.waiting == 0  # nothing was queued


def test_a_branch_and_its_batch_neighbours_do_not_change_each_other(engine):
    """A branch and an ordinary request decoded in the same batch: each is what it is alone."""
    alone = _run(engine, {"max_new_tokens": 12})
    branch = Branch(tuple(alone.token_ids), 2, 13)
    branch_alone = _run(engine, {"max_new_tokens": 12}, branch=branch)
    loaded = engine.cache.get("tiny")
    gate = StepGate(loaded.model)
    first = engine.stream("tiny", "Hello", {"max_new_tokens": 12})  # its prefill holds the worker at the gate
    gate.wait_entered(1)
    together = [
        engine.stream("tiny", PROMPT, {"max_new_tokens": 12}, branch=branch),
        engine.stream("tiny", PROMPT, {"max_new_tokens": 12}),
    ]
    gate.open()
    first.text()
    assert [s.text() for s in together] == [branch_alone.text, alone.text]
    assert together[0].result.token_ids == branch_alone.token_ids
    shared = [s for s in engine.local.batcher("tiny").history if {t.request.id for t in together} <= set(s.request_ids)]
    assert shared  # they shared decode steps

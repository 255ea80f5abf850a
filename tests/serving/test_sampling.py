"""Choosing the next token: each sampling control on real tensors, against expectations computed here.

Every expectation is worked out in the test from the logits (softmax, sorting, division),
not read back from transformers' processors, which :mod:`playground.serving.sampling` uses.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch

from playground.serving.sampling import TokenChooser, build_processors
from playground.settings import GenerationSettings

VOCAB = 8


def settings(**kwargs) -> GenerationSettings:
    """Validated settings: everything off (greedy) unless given."""
    return GenerationSettings(**kwargs).validated()


def row(*values: float) -> torch.Tensor:
    """One sequence's logits, (1, vocab)."""
    return torch.tensor([values], dtype=torch.float32)


def ids(*tokens: int) -> torch.Tensor:
    """One sequence's token ids so far, (1, length)."""
    return torch.tensor([tokens], dtype=torch.long)


def kept(scores: torch.Tensor) -> set[int]:
    """The token ids a warper left drawable (finite score)."""
    return set(torch.nonzero(torch.isfinite(scores[0])).flatten().tolist())


LOGITS = row(1.0, 3.0, -0.5, 2.0, 0.0, 2.5, -2.0, 0.5)  # order by value: 1, 5, 3, 0, 7, 4, 2, 6


def test_greedy_picks_the_argmax_with_no_warper_and_no_random_state():
    chooser = TokenChooser(settings(temperature=0.0, top_k=2, top_p=0.5), "cpu")
    assert len(chooser.processors) == 0  # top_k and top_p only shape a draw; greedy draws nothing
    assert chooser.seed is None and chooser.generator is None
    token, scores = chooser.choose(ids(4), LOGITS)
    assert token == 1 and torch.equal(scores, LOGITS)


def test_nothing_to_do_when_every_control_is_neutral():
    assert len(build_processors(settings(temperature=1.0, top_k=0, top_p=1.0, repetition_penalty=1.0))) == 0


@pytest.mark.parametrize("temperature", [0.25, 0.7, 1.5, 2.0])
def test_temperature_divides_the_logits(temperature):
    scores = TokenChooser(settings(temperature=temperature, seed=0), "cpu").scores(ids(0), LOGITS)
    assert torch.allclose(scores, LOGITS / temperature)
    # a lower temperature sharpens the distribution: the most likely token gains mass
    p_top = torch.softmax(scores, -1)[0, 1].item()
    p_plain = math.exp(3.0) / sum(math.exp(x) for x in LOGITS[0].tolist())
    assert (p_top > p_plain) == (temperature < 1.0)


@pytest.mark.parametrize("k", [1, 2, 3, 7])
def test_top_k_keeps_the_k_most_likely_tokens_unchanged(k):
    scores = TokenChooser(settings(temperature=1.0, top_k=k, seed=0), "cpu").scores(ids(0), LOGITS)
    by_value = sorted(range(VOCAB), key=lambda t: -LOGITS[0, t].item())
    assert kept(scores) == set(by_value[:k])
    for t in by_value[:k]:
        assert scores[0, t] == LOGITS[0, t]


def test_top_k_larger_than_the_vocabulary_keeps_everything():
    scores = TokenChooser(settings(temperature=1.0, top_k=100, seed=0), "cpu").scores(ids(0), LOGITS)
    assert torch.equal(scores, LOGITS)


def _nucleus(probs: list[float], top_p: float) -> set[int]:
    """The smallest set of most likely tokens whose mass reaches ``top_p`` (computed by hand)."""
    order = sorted(range(len(probs)), key=lambda t: -probs[t])
    chosen, mass = set(), 0.0
    for t in order:
        chosen.add(t)
        mass += probs[t]
        if mass >= top_p:
            break
    return chosen


@pytest.mark.parametrize("top_p", [0.05, 0.3, 0.6, 0.75, 0.9, 0.99])
def test_top_p_keeps_the_smallest_set_reaching_the_mass(top_p):
    probs = [0.4, 0.25, 0.15, 0.1, 0.05, 0.03, 0.015, 0.005]
    logits = row(*(math.log(p) for p in probs))
    scores = TokenChooser(settings(temperature=1.0, top_p=top_p, seed=0), "cpu").scores(ids(0), logits)
    assert kept(scores) == _nucleus(probs, top_p)


def test_top_k_then_top_p_then_the_draw_sees_only_what_both_keep():
    probs = [0.4, 0.25, 0.15, 0.1, 0.05, 0.03, 0.015, 0.005]
    logits = row(*(math.log(p) for p in probs))
    chooser = TokenChooser(settings(temperature=1.0, top_k=3, top_p=0.7, seed=5), "cpu")
    # top-k keeps 0.4, 0.25, 0.15 (renormalised: 0.5, 0.3125, 0.1875); top-p 0.7 of those: the first two
    assert kept(chooser.scores(ids(0), logits)) == {0, 1}
    assert {chooser(ids(0), logits) for _ in range(200)} == {0, 1}


def test_repetition_penalty_divides_positive_and_multiplies_negative_logits_of_seen_tokens():
    logits = row(1.0, 3.0, -1.0, 2.0, 0.0, 0.5, -2.0, 0.25)
    seen = ids(1, 2, 2, 4)  # a token seen twice is penalised once
    scores = TokenChooser(settings(repetition_penalty=2.0), "cpu").scores(seen, logits)
    expected = logits.clone()
    expected[0, 1] = 3.0 / 2.0
    expected[0, 2] = -1.0 * 2.0
    expected[0, 4] = 0.0  # zero stays zero either way
    assert torch.allclose(scores, expected)


def test_repetition_penalty_changes_the_greedy_choice():
    logits = row(0.0, 3.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0)
    assert TokenChooser(settings(), "cpu")(ids(1), logits) == 1
    assert TokenChooser(settings(repetition_penalty=2.0), "cpu")(ids(1), logits) == 3  # 3 / 2 < 2


def test_a_penalty_below_one_encourages_seen_tokens():
    logits = row(0.0, 2.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.0)
    assert TokenChooser(settings(repetition_penalty=0.5), "cpu")(ids(1), logits) == 1  # 2 / 0.5 > 3


def test_the_penalty_comes_before_top_k_as_in_generate():
    logits = row(3.0, 2.5, 2.0, 0.0, -1.0, -1.0, -1.0, -1.0)
    chooser = TokenChooser(settings(temperature=1.0, top_k=2, repetition_penalty=2.0, seed=0), "cpu")
    # penalised first, token 0 falls to 1.5, below token 2's 2.0: the two kept are 1 and 2
    assert kept(chooser.scores(ids(0), logits)) == {1, 2}


def test_penalty_and_temperature_compose():
    logits = row(1.0, 3.0, -1.0, 2.0, 0.0, 0.5, -2.0, 0.25)
    scores = TokenChooser(settings(temperature=0.5, repetition_penalty=1.5, seed=0), "cpu").scores(ids(1, 2), logits)
    expected = logits.clone()
    expected[0, 1] /= 1.5
    expected[0, 2] *= 1.5
    assert torch.allclose(scores, expected / 0.5)


@pytest.mark.parametrize(
    ("size", "history", "banned"),
    [
        (2, (5, 7, 3, 5), {7}),  # "5 7" was written: after 5, never 7 again
        (2, (5, 7, 5, 2, 5), {7, 2}),
        (3, (1, 2, 3, 1, 2), {3}),
        (3, (1, 2, 3, 2, 1), set()),  # "2 1" never started a trigram
        (4, (1, 2, 3), set()),  # shorter than the n-gram
    ],
)
def test_no_repeat_ngram_bans_the_tokens_that_would_repeat_an_ngram(size, history, banned):
    logits = torch.zeros(1, VOCAB)
    scores = TokenChooser(settings(no_repeat_ngram_size=size), "cpu").scores(ids(*history), logits)
    assert set(range(VOCAB)) - kept(scores) == banned
    assert all(scores[0, t] == 0 for t in kept(scores))


def test_no_repeat_ngram_moves_the_greedy_choice_to_the_next_best():
    logits = row(0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 5.0)
    assert TokenChooser(settings(no_repeat_ngram_size=2), "cpu")(ids(5, 7, 3, 5), logits) == 2


def test_the_same_seed_draws_the_same_tokens():
    logits = row(*[0.0] * VOCAB)  # uniform: every draw is up to the generator
    first = TokenChooser(settings(temperature=1.0, seed=1234), "cpu")
    second = TokenChooser(settings(temperature=1.0, seed=1234), "cpu")
    other = TokenChooser(settings(temperature=1.0, seed=4321), "cpu")
    a = [first(ids(0), logits) for _ in range(64)]
    assert a == [second(ids(0), logits) for _ in range(64)]
    assert a != [other(ids(0), logits) for _ in range(64)]
    assert first.seed == 1234


def test_each_request_owns_its_random_state():
    logits = row(*[0.0] * VOCAB)
    alone = TokenChooser(settings(temperature=1.0, seed=7), "cpu")
    expected = [alone(ids(0), logits) for _ in range(32)]
    mine = TokenChooser(settings(temperature=1.0, seed=7), "cpu")
    neighbour = TokenChooser(settings(temperature=1.0, seed=7), "cpu")
    got = []
    for _ in range(32):  # interleaved with a neighbour drawing from the same seed, and the global generator
        neighbour(ids(0), logits)
        torch.rand(3)
        got.append(mine(ids(0), logits))
    assert got == expected


def test_without_a_seed_a_fresh_one_is_chosen_and_reported():
    seeds = {TokenChooser(settings(temperature=1.0), "cpu").seed for _ in range(8)}
    assert all(isinstance(s, int) and 0 <= s < 2**31 for s in seeds)
    assert len(seeds) > 1
    reported = TokenChooser(settings(temperature=1.0), "cpu")
    logits = row(*[0.0] * VOCAB)
    replay = TokenChooser(settings(temperature=1.0, seed=reported.seed), "cpu")
    assert [reported(ids(0), logits) for _ in range(16)] == [replay(ids(0), logits) for _ in range(16)]


def test_draws_follow_the_softmax_of_the_processed_scores():
    logits = row(1.0, 3.0, -0.5, 2.0, 0.0, 2.5, -2.0, 0.5)
    chooser = TokenChooser(settings(temperature=0.8, seed=99), "cpu")
    n = 6000
    counts = Counter(chooser(ids(0), logits) for _ in range(n))
    weights = [math.exp(x / 0.8) for x in logits[0].tolist()]
    for t in range(VOCAB):
        p = weights[t] / sum(weights)
        sd = math.sqrt(p * (1 - p) / n)
        assert abs(counts[t] / n - p) < 5 * sd + 1e-3, (t, counts[t] / n, p)


def test_scores_are_float32_whatever_the_model_computes_in():
    chooser = TokenChooser(settings(), "cpu")
    token, scores = chooser.choose(ids(0), LOGITS.to(torch.bfloat16))
    assert scores.dtype == torch.float32 and token == 1

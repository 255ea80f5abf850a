"""Scoring texts: per-token NLL, argmax and perplexity, against a cross-entropy computed here.

The models are the tiny GPT-2s of :mod:`tests.tiny_models` (GPT-2's real tokenizer, random
layers); the reference runs the model once per example, with no padding, and takes
``torch.nn.functional.cross_entropy`` of its shifted logits.
"""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch.nn.functional import cross_entropy

from playground.data.examples import IGNORE, Example
from playground.evaluation.scoring import check_size, score_examples, score_text, summarise, text_examples
from tests import tiny_models

TEXT = (
    "The playground shows how a language model writes, one token at a time. Each token is chosen "
    "from a distribution over the vocabulary; the perplexity of a text says how surprised the model "
    "is by it, on average, token after token."
)


@pytest.fixture(scope="module")
def tokenizer():
    return tiny_models.gpt2_tokenizer()


@pytest.fixture(scope="module")
def model():
    return tiny_models.tiny_gpt2(seed=21)


def reference(model, examples: list[Example]) -> tuple[list[float], list[int], list[int]]:
    """NLL, argmax and true token of every labelled position: one unpadded forward per example."""
    nll, predictions, references = [], [], []
    with torch.no_grad():
        for e in examples:
            logits = model(input_ids=torch.tensor([e.input_ids])).logits[0, :-1].float()
            targets = torch.tensor(e.labels[1:])
            keep = targets != IGNORE
            nll += cross_entropy(logits[keep], targets[keep], reduction="none").tolist()
            predictions += logits[keep].argmax(-1).tolist()
            references += targets[keep].tolist()
    return nll, predictions, references


def accuracy(predictions: list[int], references: list[int]) -> float:
    """Share of the positions whose argmax is the true token."""
    return sum(p == r for p, r in zip(predictions, references, strict=True)) / len(references)


def test_scores_equal_a_manual_cross_entropy_across_padded_batches(model, tokenizer):
    ids = tokenizer(TEXT + " " + TEXT)["input_ids"]
    assert len(ids) >= 60
    examples = [
        Example(ids[:20], ids[:20]),
        Example(ids[20:27], [IGNORE] * 3 + ids[23:27]),  # a prompt with no loss, then 4 labelled tokens
        Example(ids[27:60], ids[27:60]),
        Example(ids[5:9], ids[5:9]),
    ]
    nll, predictions, references = reference(model, examples)
    for batch_size in (1, 3, 8):  # right padding and the batch it lands in change nothing
        scores = score_examples(model, examples, tokenizer.eos_token_id, batch_size=batch_size)
        assert scores.nll == pytest.approx(nll, abs=1e-4)
        assert scores.predictions == predictions and scores.references == references
    assert len(references) == 19 + 4 + 32 + 3


def test_summary_is_the_exponential_of_the_mean_nll(model, tokenizer):
    ids = tokenizer(TEXT)["input_ids"]
    examples = [Example(ids[i : i + 16], ids[i : i + 16]) for i in range(0, len(ids) - 16, 16)]
    nll, predictions, references = reference(model, examples)
    summary = summarise(score_examples(model, examples, tokenizer.eos_token_id, batch_size=4))
    assert summary["tokens"] == len(nll)
    assert summary["mean_nll"] == pytest.approx(sum(nll) / len(nll), rel=1e-5)
    assert summary["perplexity"] == pytest.approx(math.exp(sum(nll) / len(nll)), rel=1e-5)
    assert summary["accuracy"] == pytest.approx(accuracy(predictions, references))
    assert summary["seconds"] > 0


def test_a_model_that_knows_the_text_has_low_perplexity(tokenizer):
    """The scripted GPT-2 predicts ``cycle[p % len(cycle)]`` after position ``p``: on that text it is certain."""
    cycle = tokenizer.encode(" one two three four five six")
    scripted = tiny_models.scripted_gpt2(cycle)
    text_ids = [cycle[-1]] + cycle * 3  # the token after position p is cycle[p % len(cycle)]
    known = summarise(score_examples(scripted, [Example(text_ids, text_ids)], tokenizer.eos_token_id))
    shuffled = text_ids[::-1]
    unknown = summarise(score_examples(scripted, [Example(shuffled, shuffled)], tokenizer.eos_token_id))
    assert known["accuracy"] == 1.0 and known["perplexity"] == pytest.approx(1.0, abs=1e-6)
    assert unknown["perplexity"] > 10 * known["perplexity"]


def test_scoring_leaves_the_model_in_the_mode_it_found(model, tokenizer):
    ids = tokenizer(TEXT)["input_ids"][:12]
    model.train()
    try:
        scores = score_examples(model, [Example(ids, ids)], tokenizer.eos_token_id)
        assert model.training
    finally:
        model.eval()
    assert scores.nll == pytest.approx(reference(model, [Example(ids, ids)])[0], abs=1e-4)  # no dropout used


def test_text_examples_cut_consecutive_windows(tokenizer):
    ids = tokenizer(TEXT)["input_ids"]
    examples = text_examples(tokenizer, TEXT, window=10, max_windows=100)
    assert [e.input_ids for e in examples] == [ids[i : i + 10] for i in range(0, len(ids), 10) if len(ids[i:]) >= 2]
    assert all(e.labels == e.input_ids for e in examples)
    capped = text_examples(tokenizer, TEXT, window=10, max_windows=3)
    assert [e.input_ids for e in capped] == [ids[:10], ids[10:20], ids[20:30]]


def test_a_last_window_of_one_token_is_dropped(tokenizer):
    ids = tokenizer(TEXT)["input_ids"]
    text = tokenizer.decode(ids[:21])
    assert tokenizer(text)["input_ids"] == ids[:21]
    assert [len(e.input_ids) for e in text_examples(tokenizer, text, window=10)] == [
        10,
        10,
    ]  # the 21st predicts nothing


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "text: must not be empty"),
        ("   \n", "text: must not be empty"),
        ("Hello", "text: needs at least two tokens"),
        (42, "text: must be a string, got int"),
        ("ab\ud800cd", r"text: invalid Unicode \(a lone surrogate\) at character 2"),
    ],
)
def test_texts_that_cannot_be_scored_are_refused_naming_the_field(tokenizer, text, message):
    with pytest.raises(ValueError, match=message):
        text_examples(tokenizer, text)


def test_the_size_limit_is_checked_before_tokenizing():
    check_size("x" * 10, 10)
    with pytest.raises(ValueError, match="text: at most 10 characters, got 11"):
        check_size("x" * 11, 10)
    with pytest.raises(ValueError, match="text: at most 10 characters, got 11"):
        text_examples(None, "x" * 11, max_chars=10)  # no tokenizer needed to refuse it


@pytest.mark.parametrize("adapter", [None, "style-a", "noop"])
def test_score_text_through_the_engine_equals_the_reference(engine, tiny_hub, plain_base, tokenizer, adapter):
    """The engine loads the pinned model (and adapter), scores in its batcher's steps; the result is the reference's."""
    from peft import PeftModel

    reference_model = plain_base
    if adapter is not None:
        reference_model = PeftModel.from_pretrained(copy.deepcopy(plain_base), tiny_hub.adapters[adapter]).eval()
    ids = tokenizer(TEXT)["input_ids"]
    windows = [ids[i : i + 16] for i in range(0, min(len(ids), 16 * 3), 16)]
    nll, predictions, references = reference(reference_model, [Example(w, w) for w in windows])
    got = score_text(engine, "tiny", TEXT, adapter=adapter, window=16, max_windows=3)
    assert got["tokens"] == len(nll) == 3 * 15
    assert got["perplexity"] == pytest.approx(math.exp(sum(nll) / len(nll)), rel=1e-4)
    assert got["accuracy"] == pytest.approx(accuracy(predictions, references))
    assert got["source"]


def test_an_adapter_that_changes_the_model_changes_its_score(engine):
    base = score_text(engine, "tiny", TEXT, window=16, max_windows=3)
    styled = score_text(engine, "tiny", TEXT, adapter="style-a", window=16, max_windows=3)
    noop = score_text(engine, "tiny", TEXT, adapter="noop", window=16, max_windows=3)
    assert styled["perplexity"] != pytest.approx(base["perplexity"], rel=1e-3)
    assert noop["perplexity"] == pytest.approx(base["perplexity"], rel=1e-5)


def test_score_text_refuses_a_text_over_the_limit_before_loading(engine):
    limit = engine.registry.limits.max_compare_chars
    with pytest.raises(ValueError, match=f"text: at most {limit} characters"):
        score_text(engine, "tiny", "x" * (limit + 1))
    assert engine.cache.loaded_names() == []  # refused before any model loaded

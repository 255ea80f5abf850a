"""Evaluation metrics (project evaluate modules) and base-vs-adapter comparison on tiny models."""

from __future__ import annotations

import math

import pytest

from playground.data.examples import token_windows
from playground.evaluation.compare import compare, format_table
from playground.evaluation.fewshot_scores import normalise, score
from playground.evaluation.metric_loader import load_metric
from playground.lessons.fewshot import Shot, build_prompt, shot_name
from tests.paths import FIXTURES


def test_perplexity_and_accuracy_modules():
    ppl = load_metric("perplexity").compute(nll=[1.0, 2.0, 3.0])
    assert ppl["perplexity"] == pytest.approx(math.e**2) and ppl["tokens"] == 3
    acc = load_metric("next_token_accuracy").compute(predictions=[1, 2, 3, 4], references=[1, 2, 0, 4])
    assert acc == {"accuracy": 0.75, "tokens": 4}


def test_chrf_module():
    chrf = load_metric("chrf")
    assert chrf.compute(predictions=["loutre de mer"], references=["loutre de mer"])["score"] == pytest.approx(100)
    assert chrf.compute(predictions=["xyz"], references=["abc"])["score"] == 0
    partial = chrf.compute(predictions=["la loutre"], references=["loutre de mer"])["score"]
    assert 0 < partial < 100


def test_metrics_computed_in_parallel_threads_each_get_their_own_result():
    """Visitors comparing at the same time: each thread's numbers are its own (no shared writer)."""
    from concurrent.futures import ThreadPoolExecutor

    jobs = [
        ([float(i % 7) / 3] * (50 + i), list(range(40 + i)), [j if j % (i + 2) else -1 for j in range(40 + i)])
        for i in range(16)
    ]

    def run(job):
        nll, predictions, references = job
        return (
            load_metric("perplexity").compute(nll=nll)["perplexity"],
            load_metric("next_token_accuracy").compute(predictions=predictions, references=references)["accuracy"],
        )

    alone = [run(job) for job in jobs]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(run, jobs * 3))
    assert together == alone * 3
    assert len(set(alone)) > 8  # the jobs differ, so a mix-up would show


def test_unknown_metric_is_refused():
    with pytest.raises(ValueError, match="metric: 'bleu' is not one of"):
        load_metric("bleu")


def test_fresh_lora_scores_like_its_base_and_a_trained_one_does_not(engine, tiny_hub):
    loaded = engine.cache.get("tiny")
    text = ["Cette femme était assise près de la fenêtre, et le soir elle se rappelait sa jeunesse."] * 6
    examples = token_windows(loaded.tokenizer, text, 16)
    results = compare(loaded, ["noop", "style-a"], examples, batch_size=4)
    assert results["noop"]["perplexity"] == pytest.approx(results["base"]["perplexity"], rel=1e-6)
    assert results["noop"]["accuracy"] == results["base"]["accuracy"]
    assert results["style-a"]["perplexity"] != pytest.approx(results["base"]["perplexity"], rel=1e-3)
    assert results["base"]["tokens"] == len(examples) * 15
    table = format_table(results, "tiny")
    assert "| tiny + noop |" in table and "+0.0%" in table


def test_fewshot_prompt_format():
    shots = [Shot("sea otter", "loutre de mer"), Shot("peppermint", "menthe poivrée")]
    assert build_prompt("Translate English to French:", shots, "cheese") == (
        "Translate English to French:\nsea otter => loutre de mer\npeppermint => menthe poivrée\ncheese =>"
    )
    assert build_prompt("", [], "cheese") == "cheese =>"
    assert [shot_name(k) for k in (0, 1, 3)] == ["zero-shot", "one-shot", "few-shot (3)"]
    with pytest.raises(ValueError, match="query: must not be empty"):
        build_prompt("task", shots, " ")


def test_fewshot_scoring_runs_through_the_engine(engine):
    pairs = [("I am tired.", "Je suis fatigué."), ("Hello.", "Bonjour.")]
    pool = [Shot("sea otter", "loutre de mer")]
    rows = score(engine, "tiny", pairs, pool, [0, 1], use_style=False)
    assert [r[0] for r in rows] == ["zero-shot", "one-shot"]
    for _, exact, chrf, seconds, examples in rows:
        assert 0 <= exact <= 1 and 0 <= chrf <= 100 and seconds > 0
        assert len(examples) == 2 and all("\n" not in e for e in examples)  # stopped at the line end
    assert normalise(" Je suis  fatigué. ") == normalise("je suis fatigué")


@pytest.mark.parametrize(
    "text",
    [
        "gutenberg",  # French prose from the fixture books
        " " * 3000 + "word " * 2000,  # a long run of spaces: many characters a token
        "a" * 20000,  # no word boundary at all
        "é€😀\n\t" * 2000,  # bytes that merge across characters
    ],
    ids=["prose", "spaces", "one-word", "unicode"],
)
def test_leading_tokens_are_those_of_the_whole_text(engine, text):
    """Compare tokenizes only the prefix it scores; the tokens kept are the whole text's."""

    from playground.evaluation.scoring import leading_tokens
    from playground.models.prompt_styles import encode_text

    if text == "gutenberg":
        books = sorted((FIXTURES / "gutenberg").glob("*-0.txt"))  # the UTF-8 ones
        text = "".join(b.read_text(encoding="utf-8") for b in books)
    tokenizer = engine.cache.get("tiny").tokenizer
    whole = encode_text(tokenizer, text)
    for count in (1, 100, 4096, len(whole), len(whole) + 5):
        assert leading_tokens(tokenizer, text, count) == whole[:count]

"""The int8 agreement's rules: which requests it compares, and how it reports them."""

from __future__ import annotations

from playground.evaluation.int8_agreement import Agreement, choice_is_argmax, format_agreement
from playground.evaluation.lessons import REPETITION_CONTROLS


def test_only_requests_whose_token_is_the_most_likely_one_are_compared():
    assert choice_is_argmax({"temperature": 0.0, "max_new_tokens": 8})
    assert choice_is_argmax({"repetition_penalty": 1.0, "no_repeat_ngram_size": 0})
    compared = [label for label, control in REPETITION_CONTROLS.items() if choice_is_argmax(control)]
    assert compared == ["none"]  # a penalty or an n-gram ban picks float32's token by other rules


def test_the_table_gives_each_groups_share_and_the_verdict():
    results = {"lab, 0 shots": Agreement(steps=200, agreed=199, answers=10, turned=[4])}
    total = Agreement(steps=200, agreed=199)
    table = format_agreement(results, total)
    assert "| lab, 0 shots | 200 | 99.50 % | 1 of 10 (4) |" in table
    assert "**99.50 %** | target 98 %: met" in table

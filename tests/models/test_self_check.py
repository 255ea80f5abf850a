"""A fast path checked against its reference: the check keeps exactly the cases where they agree.

The fast paths here are real products that round differently from ``torch.nn.functional.linear``
at chosen numbers of rows (sums in float64), or cannot run at some (a view that needs an even
number of rows): the check must keep the others, and say in one log line which it gave up and why.
"""

from __future__ import annotations

import logging

import torch

from playground.models.self_check import check_fast_path, exactly

ROWS = (*range(1, 9), 13, 64)


def _linear_and_cases(seed: int):
    torch.manual_seed(seed)
    weight, bias = torch.randn(256, 640), torch.randn(256)

    def linear(x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.linear(x, weight, bias)

    cases = {rows: [torch.randn(rows, 640), torch.randn(1, rows, 640)] for rows in ROWS}
    return weight, bias, linear, cases


def test_the_check_keeps_exactly_the_row_counts_whose_products_are_equal(caplog):
    weight, bias, linear, cases = _linear_and_cases(seed=3)
    equal_at = {1, 2, 4, 8, 64}

    def float64_sums_elsewhere(x: torch.Tensor) -> torch.Tensor:
        if x.numel() // 640 in equal_at:
            return linear(x)
        return torch.nn.functional.linear(x.double(), weight.double(), bias.double()).float()

    with caplog.at_level(logging.INFO, logger="playground.models.self_check"):
        kept = check_fast_path("float64 sums", float64_sums_elsewhere, linear, cases, label=lambda n: f"{n} rows")
    assert kept == equal_at
    (line,) = [record.getMessage() for record in caplog.records]
    assert line.startswith("float64 sums: 3 rows, 5 rows, 6 rows, 7 rows, 13 rows go through the reference")
    assert line.count("outputs differ") == 3 and line.endswith("; and 2 more)")  # the first three reasons


def test_a_fast_path_that_raises_fails_its_case_and_all_agreeing_says_nothing(caplog):
    _, _, linear, cases = _linear_and_cases(seed=4)

    def in_two_halves(x: torch.Tensor) -> torch.Tensor:  # a view that exists only for an even number of rows
        rows = x.numel() // 640
        return linear(x.reshape(2, rows // 2 if rows % 2 == 0 else -1, 640)).reshape(*x.shape[:-1], 256)

    with caplog.at_level(logging.INFO, logger="playground.models.self_check"):
        kept = check_fast_path("halves", in_two_halves, linear, cases, fallback="linear")
        assert check_fast_path("itself", linear, linear, cases) == set(ROWS)
    assert not kept & {1, 3, 5, 7, 13}
    (line,) = [record.getMessage() for record in caplog.records]
    assert line.startswith("halves: 1, 3, 5, 7, 13") and "go through linear" in line and "the fast path failed" in line


def test_exactly_counts_the_outputs_that_differ_and_names_another_shape_and_nan_is_nan():
    a = torch.tensor([1.0, 2.0, float("nan"), 4.0])
    assert exactly(a, a.clone()) is None
    assert exactly(a, torch.tensor([1.0, 2.5, float("nan"), 4.5])) == "2 of 4 outputs differ"
    assert exactly(a, a[:3]) == "(4,) torch.float32 instead of (3,) torch.float32"

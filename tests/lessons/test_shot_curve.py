"""The shot curve's plan and results: seeded draws, the views' runs, the bounds and the points (no model)."""

from __future__ import annotations

import json
import math

import pytest

from playground.lessons.calibration import accuracy, calibrated, content_free_bias, label_probabilities, predicted
from playground.lessons.shot_curve import (
    GOLD,
    RANDOM,
    CurvePoint,
    CurveSetup,
    RunScore,
    Series,
    ShotCurve,
    check_work,
    parse_seed,
    plan_runs,
    pool_points,
)
from playground.messages import localize
from playground.models.registry import Limits

POOL = [[f"in {i}", f"out {i}"] for i in range(6)]
TESTS = [["query a", "ref a"], ["query b", "ref b"], ["query c", "ref c"]]
LABELED = [["good", "positive"], ["bad", "negative"], ["fine", "positive"], ["awful", "negative"]]


def setup(**changes) -> CurveSetup:
    args = dict(
        task="Do it:", separator=" => ", pool=POOL, tests=TESTS, shots=[0, 1, 2, 4], orderings=3, seed="7",
        metric="chrf", view="curve", limits=Limits(),
    )  # fmt: skip
    return CurveSetup.build(**{**args, **changes})


def test_the_same_seed_draws_the_same_runs_and_another_seed_others():
    first, again, other = (plan_runs(setup(seed=s), greedy=True) for s in ("7", "7", "8"))
    assert first == again
    assert [r.examples for r in first] != [r.examples for r in other]
    for run in first:
        assert len(run.examples) == run.shots == len(set(run.examples))  # k different examples of the pool
        assert all(0 <= i < len(POOL) for i in run.examples)
    for k in (1, 2, 4):  # the runs at one k are different draws
        draws = [r.examples for r in first if r.shots == k]
        assert len(draws) == 3 == len(set(draws))


def test_the_first_run_of_each_k_comes_first_so_each_point_appears_early():
    runs = plan_runs(setup(), greedy=True)
    assert [r.shots for r in runs[:4]] == [0, 1, 2, 4]
    assert [r.shots for r in runs].count(0) == 1  # greedy: one zero-shot run, every other would be the same


def test_never_more_runs_than_different_prompts():
    small = setup(pool=POOL[:2], shots=[0, 1, 2], orderings=6)
    runs = plan_runs(small, greedy=False)
    counts = {k: [r.shots for r in runs].count(k) for k in (0, 1, 2)}
    assert counts == {0: 6, 1: 2, 2: 2}  # sampled: zero-shot runs differ by seed; 2 examples, 2 draws at most
    seeds = {r.sampling_seed(small.seed) for r in runs if r.shots == 0}
    assert len(seeds) == 6


def test_the_order_view_keeps_the_same_examples_in_every_ordering():
    runs = plan_runs(setup(view="order", shots=[0, 2, 3], orderings=6), greedy=True)
    for k, expected in ((2, 2), (3, 6)):  # every ordering, when there are no more than asked for
        orders = [r.examples for r in runs if r.shots == k]
        assert len(orders) == expected == len(set(orders)) == min(6, math.factorial(k))
        assert len({frozenset(o) for o in orders}) == 1


def test_random_labels_show_each_draw_twice_with_the_pool_outputs_shuffled():
    chosen = setup(view="random_labels")
    runs = plan_runs(chosen, greedy=True)
    gold = [r for r in runs if r.variant == GOLD]
    shuffled = [r for r in runs if r.variant == RANDOM]
    assert [(r.shots, r.examples) for r in gold] == [(r.shots, r.examples) for r in shuffled]
    assert [(r.shots, r.examples) for r in gold] == [(r.shots, r.examples) for r in plan_runs(setup(), greedy=True)]
    outputs = chosen.random_outputs()
    assert sorted(outputs) == sorted(o for _, o in POOL) and all(outputs[i] != POOL[i][1] for i in range(len(POOL)))
    run = next(r for r in shuffled if r.shots == 4)
    prompt = chosen.prompt(run, "query a")
    assert all(f"{POOL[i][0]} => {outputs[i]}" in prompt for i in run.examples)
    assert prompt.startswith("Do it:\n") and prompt.endswith("query a =>")


BAD = [  # (changes, the field the error names)
    ({"pool": POOL * 3}, "pool"),  # 18 rows, more than max_lab_examples
    ({"pool": "a table"}, "pool"),
    ({"tests": []}, "tests"),
    ({"tests": [["q", "r"]] * 21}, "tests"),
    ({"tests": [["q", ""]]}, "tests[0]"),
    ({"pool": [["x" * 2001, "y"]]}, "pool[0]"),
    ({"pool": [["x" * 1000, "y" * 1000]] * 5}, "pool"),  # 10,000 characters in all
    ({"shots": [0, 1, 7]}, "shots[2]"),  # more than the pool's 6
    ({"shots": [0, -1]}, "shots[1]"),
    ({"shots": [0, 1.5]}, "shots[1]"),
    ({"shots": "0, 1"}, "shots"),
    ({"shots": []}, "shots"),
    ({"orderings": 0}, "orderings"),
    ({"orderings": 7}, "orderings"),
    ({"seed": "abc"}, "seed"),
    ({"metric": "bleu"}, "metric"),
    ({"view": "everything"}, "view"),
    ({"view": "calibration"}, "view"),  # chrF: no labels to calibrate
    ({"view": "random_labels", "pool": POOL[:1], "shots": [0, 1]}, "pool"),
    ({"metric": "accuracy", "pool": [["a", "yes"], ["b", "yes"]], "shots": [0, 1]}, "pool"),  # one label
    ({"metric": "accuracy", "pool": LABELED, "shots": [0], "tests": [["q", "positive"], ["r", "maybe"]]}, "tests[1]"),
    ({"separator": ""}, "separator"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "field"), BAD)
def test_bad_input_is_refused_naming_the_field(changes, field):
    with pytest.raises(ValueError) as info:
        setup(**changes)
    assert str(info.value).startswith(f"{field}: "), str(info.value)
    assert localize(info.value, "fr").startswith(f"{field} : ")


def test_too_much_work_is_refused_before_any_work():
    limits = Limits(max_curve_generations=30)
    chosen = setup(limits=limits)
    runs = plan_runs(chosen, greedy=True)
    assert check_work(chosen, runs, 1, limits) == len(runs) * len(TESTS) == 30  # 10 runs x 3 tests
    with pytest.raises(ValueError, match=r"^shots × orderings × tests: this curve needs 60 answers"):
        check_work(chosen, runs, 2, limits)  # two models on the chart
    with pytest.raises(ValueError, match=r"^shots × orderings × tests: this curve's prompts come to"):
        check_work(chosen, runs, 1, Limits(max_curve_prompt_chars=100))


def test_an_empty_seed_is_a_fresh_one_and_a_given_one_is_kept():
    assert parse_seed("42") == 42 == parse_seed(42)
    assert isinstance(parse_seed(""), int) and isinstance(parse_seed(None), int)


def test_points_give_each_k_its_mean_and_spread_and_pool_with_others():
    series = Series("m", None, GOLD, [RunScore(0, 10.0), RunScore(2, 30.0), RunScore(2, 50.0), RunScore(2, 40.0)])
    zero, two = series.points()
    assert zero == CurvePoint(0, 10.0, 10.0, 10.0, 1)
    assert two == CurvePoint(2, 40.0, 30.0, 50.0, 3)
    pooled = two.pooled(CurvePoint(2, 80.0, 70.0, 90.0, 1))  # another class's runs of the same setup
    assert pooled == CurvePoint(2, 50.0, 30.0, 90.0, 4)
    assert pool_points([zero, two], [CurvePoint(2, 80.0, 70.0, 90.0, 1), CurvePoint(4, 60.0, 60.0, 60.0, 1)]) == [
        zero, pooled, CurvePoint(4, 60.0, 60.0, 60.0, 1)
    ]  # fmt: skip


def test_the_curve_is_the_api_answer_and_json():
    curve = ShotCurve("chrf", "curve", 7, (0, 2), planned=8, done=8)
    curve.line("m", None, GOLD).runs += [RunScore(0, 10.0), RunScore(2, 30.0, (1, 0))]
    curve.line("other", None, GOLD).runs.append(RunScore(0, 5.0))
    assert curve.line("m", None, GOLD) is curve.series[0]
    data = json.loads(json.dumps(curve.to_dict()))
    assert data["metric"] == "chrF" and data["complete"] is True
    assert data["points"] == [
        {"shots": 0, "mean": 10.0, "low": 10.0, "high": 10.0, "runs": 1},
        {"shots": 2, "mean": 30.0, "low": 30.0, "high": 30.0, "runs": 1},
    ]
    assert [s["model"] for s in data["series"]] == ["m", "other"]
    assert data["series"][0]["runs"][1] == {"shots": 2, "score": 30.0, "examples": [1, 0]}
    assert Series.from_dict(data["series"][0], cached=True).points() == curve.series[0].points()


def test_calibration_divides_by_the_content_free_bias():
    probabilities = label_probabilities([math.log(0.7), math.log(0.3)])
    assert probabilities == pytest.approx([0.7, 0.3])
    bias = content_free_bias([[0.9, 0.1], [0.7, 0.3]])  # "N/A" and "[MASK]" both lean to label 0
    assert bias == pytest.approx([0.8, 0.2])
    corrected = calibrated(probabilities, bias)
    assert corrected == pytest.approx([0.875 / 2.375, 1.5 / 2.375])
    assert (predicted(probabilities), predicted(corrected)) == (0, 1)  # the bias hid label 1
    assert calibrated([0.6, 0.4], [0.5, 0.5]) == pytest.approx([0.6, 0.4])  # no bias, no change
    assert accuracy([0, 1, 1], [0, 1, 0]) == pytest.approx(200 / 3)

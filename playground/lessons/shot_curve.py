"""The shot curve: few-shot learning measured as a curve, with its spread and its sensitivities.

The GPT-3 paper (Brown et al. 2020, Figure 1.2) taught a curve, not one answer: quality
rises with the number of examples in the prompt. A shot curve scores k = 0, 1, 2, 4, 8...
examples drawn from a pool on a test set of (query, reference) pairs, several draws at each
k, and gives each k's mean and spread (lowest and highest run) over the draws. Everything is
seeded: the same seed draws the same examples in the same order.

Four views, each a plan of runs (:func:`plan_runs`):

- ``curve``: each run draws k examples of the pool, in a random order;
- ``order``: the same k examples (one draw) in several orderings, all of them when there are
  no more than ``orderings`` (Zhao et al. 2021: the order alone moves the score);
- ``random_labels``: each draw twice, with the gold outputs and with the pool's outputs
  shuffled among its inputs (Min et al. 2022, "Rethinking the role of demonstrations");
- ``calibration`` (classification only): each draw's label probabilities before and after
  contextual calibration by content-free inputs (Zhao et al. 2021, "Calibrate before use").

This module checks a curve's inputs (:meth:`CurveSetup.build`), plans its runs and holds
their scores (:class:`ShotCurve`); it runs nothing: ``playground/evaluation/shot_curve_runs.py``
runs a plan through the engine and scores each run.
"""

from __future__ import annotations

import itertools
import math
import random
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from playground.config_checks import check_integer
from playground.lessons.fewshot import Shot, build_prompt, check_row_count, row_chars, shots_from_rows
from playground.messages import Message
from playground.settings import MAX_SEED, check_text, fresh_seed

if TYPE_CHECKING:
    from playground.models.registry import Limits

METRICS = ("chrf", "exact", "accuracy")  # chrF of each run's answers; exact match %; label accuracy %
METRIC_NAMES = {"chrf": "chrF", "exact": "exact match %", "accuracy": "accuracy %"}
VIEWS = ("curve", "order", "random_labels", "calibration")
DEFAULT_SHOTS = (0, 1, 2, 4, 8)
DEFAULT_ORDERINGS = 3
DEFAULT_SEED = 0
PLAN_VERSION = 1  # changes with what a seed draws (the curve cache keys on it: an older plan's curves are not read)
MAX_LABELS = 8  # different outputs a classification's pool may have
CONTENT_FREE = ("N/A", "[MASK]")  # Zhao et al. 2021's content-free inputs (the empty one cannot be a query)
GOLD, RANDOM, BEFORE, AFTER = "gold", "random", "before", "after"  # a series' variant
_ENUMERATED = 5040  # draws listed whole up to this many (7!), sampled beyond


def parse_seed(value: object) -> int:
    """A curve's seed: a whole number in [0, 2**63 - 1], or a fresh one for an empty value."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return fresh_seed()
    if isinstance(value, str):
        text = check_text("seed", value).strip()
        if not text.isdigit():
            raise ValueError(Message("seed_not_integer", field="seed", value=value))
        value = int(text)
    return check_integer("seed", value, 0, MAX_SEED)


def parse_shots(value: object, pool_size: int, limit: int) -> tuple[int, ...]:
    """The numbers of examples asked for, sorted without repeats; each at most the pool's size."""
    if not isinstance(value, (list, tuple)):
        raise ValueError(Message("not_whole_numbers", field="shots", type=type(value).__name__))
    check_row_count("shots", value, limit)
    if not value:
        raise ValueError(Message("empty", field="shots"))
    shots = set()
    for i, k in enumerate(value):
        k = check_integer(f"shots[{i}]", k, 0, limit)
        if k > pool_size:
            raise ValueError(Message("shots_over_pool", field=f"shots[{i}]", value=k, count=pool_size))
        shots.add(k)
    return tuple(sorted(shots))


def parse_models(value: object, limit: int) -> tuple[str, ...]:
    """Other base models drawn on the same chart: a list of registry names (None or empty: none)."""
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)) or not all(isinstance(m, str) for m in value):
        raise ValueError(Message("not_a_list", field="models", type=type(value).__name__))
    check_row_count("models", value, limit)
    return tuple(value)


def _choice(name: str, value: object, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(Message("not_one_of", field=name, value=value, choices=", ".join(choices)))
    return value


def labels_of(pool: Sequence[Shot], tests: Sequence[Shot]) -> tuple[str, ...]:
    """A classification's labels: the pool's different outputs, in order; every reference must be one."""
    labels = tuple(dict.fromkeys(s.output for s in pool))
    if len(labels) < 2:
        raise ValueError(Message("too_few_labels", field="pool", count=len(labels)))
    if len(labels) > MAX_LABELS:
        raise ValueError(Message("too_many_labels", field="pool", limit=MAX_LABELS, count=len(labels)))
    for i, test in enumerate(tests):
        if test.output not in labels:
            raise ValueError(Message("not_a_label", field=f"tests[{i}]", value=test.output, labels=", ".join(labels)))
    return labels


def _check_sizes(task: object, separator: object, pool: object, tests: object, limits: Limits) -> None:
    """Sizes first, reading no more: rows, then characters of each field and cell, then of each table."""
    for name, rows, most in (("pool", pool, limits.max_lab_examples), ("tests", tests, limits.max_curve_tests)):
        if not isinstance(rows, (list, tuple)):
            raise ValueError(Message("not_rows", field=name, type=type(rows).__name__))
        check_row_count(name, rows, most)
    for name, value in (("task", task), ("separator", separator)):
        check_text(name, value if isinstance(value, str) else "")
        if isinstance(value, str) and len(value) > limits.max_lab_field_chars:
            raise ValueError(Message("too_long_chars", field=name, limit=limits.max_lab_field_chars, count=len(value)))
    for name, rows in (("pool", pool), ("tests", tests)):
        total = row_chars(name, rows, limits.max_lab_field_chars)  # type: ignore[arg-type]
        if total > limits.max_lab_chars:
            raise ValueError(Message("rows_too_long", field=name, limit=limits.max_lab_chars, count=total))


@dataclass(frozen=True)
class CurveSetup:
    """A shot curve's inputs, checked: the prompt's parts, the pool, the tests, what to draw and how to score."""

    task: str  # the task description, the prompt's first line ("" for none)
    separator: str  # between an input and its output
    pool: tuple[Shot, ...]  # the examples a run draws from
    tests: tuple[Shot, ...]  # (query, reference) pairs: a Shot's input and output
    shots: tuple[int, ...]  # the numbers of examples, sorted
    orderings: int  # draws (or orderings) at each k
    seed: int  # seeds the draws, and the sampling of each run when not greedy
    metric: str  # one of METRICS
    view: str  # one of VIEWS
    labels: tuple[str, ...] = ()  # a classification's labels (metric "accuracy")

    @classmethod
    def build(
        cls, *, task: object, separator: object, pool: object, tests: object, shots: object, orderings: object,
        seed: object, metric: object, view: object, limits: Limits,
    ) -> CurveSetup:  # fmt: skip
        """Check a curve's inputs (UI or API), sizes first; ValueError naming the field, else the setup."""
        metric = _choice("metric", metric, METRICS)
        view = _choice("view", view, VIEWS)
        _check_sizes(task, separator, pool, tests, limits)
        pool_shots, test_shots = shots_from_rows("pool", pool), shots_from_rows("tests", tests)
        if not test_shots:
            raise ValueError(Message("empty", field="tests"))
        if not separator:
            raise ValueError(Message("empty", field="separator"))
        ks = parse_shots(shots, len(pool_shots), limits.max_lab_examples)
        count = check_integer("orderings", orderings, 1, limits.max_curve_orderings)
        labels = labels_of(pool_shots, test_shots) if metric == "accuracy" else ()
        if view == "calibration" and metric != "accuracy":
            raise ValueError(Message("calibration_needs_labels", field="view"))
        if view == "random_labels" and len(pool_shots) < 2:
            raise ValueError(Message("random_labels_need_pool", field="pool"))
        return cls(
            str(task or ""), str(separator), pool_shots, test_shots, ks, count, parse_seed(seed), metric, view, labels
        )

    def prompt(self, run: PlannedRun, query: str) -> str:
        """The exact prompt of ``run`` for ``query`` (the lab's few-shot format)."""
        return build_prompt(self.task, run.examples_of(self), query, self.separator)

    def answer_prefix(self) -> str:
        """What comes between a prompt's end and an answer: the separator's trailing spaces."""
        return self.separator[len(self.separator.rstrip()) :]

    def random_outputs(self) -> tuple[str, ...]:
        """The pool's outputs shuffled among its inputs: example i gets the output of another example (seeded)."""
        n = len(self.pool)
        rng = random.Random(f"{self.seed}:random-labels")
        while True:
            order = rng.sample(range(n), n)
            if all(order[i] != i for i in range(n)):  # a derangement: no example keeps its own output
                return tuple(self.pool[j].output for j in order)


@dataclass(frozen=True)
class PlannedRun:
    """One run of a curve: k examples of the pool in an order, scored on every test."""

    variant: str  # GOLD, or RANDOM (the pool's outputs shuffled)
    shots: int
    index: int  # its number among the runs of this k and variant
    examples: tuple[int, ...]  # pool indices, in the prompt's order
    outputs: tuple[str, ...] = ()  # the pool's outputs as this run shows them (empty: the gold ones)

    def sampling_seed(self, curve_seed: int) -> int:
        """This run's sampling seed (used when sampling), from the curve's seed."""
        key = f"{curve_seed}:{self.variant}:{self.shots}:{self.index}:{self.examples}"
        return random.Random(key).randrange(2**31)

    def examples_of(self, setup: CurveSetup) -> list[Shot]:
        """The run's worked examples, in order, with the outputs it shows."""
        return [Shot(setup.pool[i].input, (self.outputs or _gold(setup))[i]) for i in self.examples]


def _gold(setup: CurveSetup) -> tuple[str, ...]:
    return tuple(s.output for s in setup.pool)


def draws(n: int, k: int, count: int, rng: random.Random) -> list[tuple[int, ...]]:
    """``count`` different ordered draws of ``k`` of ``n`` pool indices (all there are, when fewer)."""
    total = math.perm(n, k)
    count = min(count, total)
    if total <= _ENUMERATED:
        return rng.sample(list(itertools.permutations(range(n), k)), count)
    seen: list[tuple[int, ...]] = []
    while len(seen) < count:
        draw = tuple(rng.sample(range(n), k))
        if draw not in seen:
            seen.append(draw)
    return seen


def orderings_of(fixed: tuple[int, ...], count: int, rng: random.Random) -> list[tuple[int, ...]]:
    """``count`` different orderings of the examples ``fixed`` (every one, when there are fewer)."""
    return [tuple(fixed[i] for i in order) for order in draws(len(fixed), len(fixed), count, rng)]


def runs_at(setup: CurveSetup, k: int, greedy: bool) -> int:
    """How many runs the setup's view has at ``k``: never more than there are different prompts.

    With no example, one run when greedy (every one would be the same); sampled, each of the
    ``orderings`` runs has its own seed.
    """
    if k == 0:
        return 1 if greedy else setup.orderings
    different = math.factorial(k) if setup.view == "order" else math.perm(len(setup.pool), k)
    return min(setup.orderings, different)


def plan_runs(setup: CurveSetup, greedy: bool) -> list[PlannedRun]:
    """Every run of the setup's view, in the order they run: the first run of each k first, so each point appears."""
    by_k: dict[int, list[PlannedRun]] = {}
    shuffled = setup.random_outputs() if setup.view == "random_labels" else ()
    for k in setup.shots:
        rng = random.Random(f"{setup.seed}:{k}")
        count = runs_at(setup, k, greedy)
        if not k:
            chosen: list[tuple[int, ...]] = [()] * count
        elif setup.view == "order":
            chosen = orderings_of(draws(len(setup.pool), k, 1, rng)[0], count, rng)
        else:
            chosen = draws(len(setup.pool), k, count, rng)
        runs = [PlannedRun(GOLD, k, i, d) for i, d in enumerate(chosen)]
        if shuffled:
            runs = [r for run in runs for r in (run, PlannedRun(RANDOM, k, run.index, run.examples, shuffled))]
        by_k[k] = runs
    rounds = itertools.zip_longest(*by_k.values())
    return [run for round_ in rounds for run in round_ if run is not None]


def check_work(setup: CurveSetup, runs: Sequence[PlannedRun], models: int, limits: Limits) -> int:
    """The answers a curve needs (runs x tests x models); ValueError past the registry's limits."""
    answers = len(runs) * len(setup.tests) * models
    field_name = "shots × orderings × tests"
    if answers > limits.max_curve_generations:
        raise ValueError(Message("curve_too_much", field=field_name, count=answers, limit=limits.max_curve_generations))
    chars = models * sum(len(setup.prompt(run, test.input)) for run in runs for test in setup.tests)
    if chars > limits.max_curve_prompt_chars:
        raise ValueError(Message("curve_too_long", field=field_name, count=chars, limit=limits.max_curve_prompt_chars))
    return answers


# -- results ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RunScore:
    """One run's score (0 to 100), with the pool examples it showed, in order."""

    shots: int
    score: float
    examples: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly."""
        return {"shots": self.shots, "score": self.score, "examples": list(self.examples)}


@dataclass(frozen=True)
class CurvePoint:
    """A curve's point at one k: the mean of its runs and their spread (lowest, highest)."""

    shots: int
    mean: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, shots: int, scores: Sequence[float]) -> CurvePoint:
        """The point of ``scores``, the runs at ``shots`` examples."""
        return cls(shots, statistics.fmean(scores), min(scores), max(scores), len(scores))

    def pooled(self, other: CurvePoint) -> CurvePoint:
        """This point and ``other`` (the same k, other runs: another student's, another session's) as one."""
        runs = self.runs + other.runs
        mean = (self.mean * self.runs + other.mean * other.runs) / runs
        return CurvePoint(self.shots, mean, min(self.low, other.low), max(self.high, other.high), runs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: ``{"shots", "mean", "low", "high", "runs"}``."""
        return {"shots": self.shots, "mean": self.mean, "low": self.low, "high": self.high, "runs": self.runs}


def pool_points(*curves: Iterable[CurvePoint]) -> list[CurvePoint]:
    """Points of several curves of the same setup pooled k by k (runs weighted), sorted by k."""
    by_k: dict[int, CurvePoint] = {}
    for point in itertools.chain(*curves):
        by_k[point.shots] = by_k[point.shots].pooled(point) if point.shots in by_k else point
    return [by_k[k] for k in sorted(by_k)]


@dataclass
class Series:
    """One line of the chart: a model (and adapter) in one variant, its runs as they are scored."""

    model: str
    adapter: str | None
    variant: str  # GOLD, RANDOM, BEFORE or AFTER
    runs: list[RunScore] = field(default_factory=list)
    cached: bool = False  # read from the curve cache, not computed now

    @property
    def candidate(self) -> str:
        """The model, or "model + adapter"."""
        return self.model if self.adapter is None else f"{self.model} + {self.adapter}"

    def points(self) -> list[CurvePoint]:
        """One point per k that has runs, sorted by k."""
        scores: dict[int, list[float]] = {}
        for run in self.runs:
            scores.setdefault(run.shots, []).append(run.score)
        return [CurvePoint.of(k, scores[k]) for k in sorted(scores)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly, its points and its runs."""
        return {
            "model": self.model, "adapter": self.adapter, "variant": self.variant, "cached": self.cached,
            "points": [p.to_dict() for p in self.points()], "runs": [r.to_dict() for r in self.runs],
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any], cached: bool = False) -> Series:
        """Back from :meth:`to_dict` (the curve cache)."""
        runs = [RunScore(int(r["shots"]), float(r["score"]), tuple(r["examples"])) for r in data["runs"]]
        return cls(data["model"], data["adapter"], data["variant"], runs, cached)


@dataclass
class ShotCurve:
    """A curve as it is drawn: its series, how many answers it needs and how many are in."""

    metric: str
    view: str
    seed: int
    shots: tuple[int, ...]
    planned: int  # answers the whole curve needs
    done: int = 0  # answers scored so far (or read from the cache)
    series: list[Series] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # Messages, each once
    tests: int = 0  # test items each run is scored on

    @property
    def complete(self) -> bool:
        """True once every answer is in."""
        return self.done >= self.planned

    def line(self, model: str, adapter: str | None, variant: str) -> Series:
        """The series of ``model`` (and ``adapter``) in ``variant``, added when new."""
        for series in self.series:
            if (series.model, series.adapter, series.variant) == (model, adapter, variant):
                return series
        series = Series(model, adapter, variant)
        self.series.append(series)
        return series

    def warn(self, message: str) -> None:
        """Keep ``message`` once."""
        if message not in self.warnings:
            self.warnings.append(message)

    def to_dict(self) -> dict[str, Any]:
        """The API's answer: ``metric``, ``points`` (the first series'), then every series, the counts, ``tests``."""
        first = self.series[0].points() if self.series else []
        return {
            "metric": METRIC_NAMES[self.metric], "points": [p.to_dict() for p in first], "view": self.view,
            "seed": self.seed, "shots": list(self.shots), "complete": self.complete, "answers": self.done,
            "planned": self.planned, "tests": self.tests, "series": [s.to_dict() for s in self.series],
            "warnings": [str(w) for w in self.warnings],
        }  # fmt: skip

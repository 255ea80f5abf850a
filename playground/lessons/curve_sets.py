"""The shot curves' shipped data: for each lab preset, a pool of examples, a test set and a metric.

Data in ``curve_sets.yaml``, checked into :class:`CurveSet` by :func:`load_curve_sets`; a bad
entry raises :class:`~playground.errors.ConfigError` naming the key, e.g.
``curve_sets.sentiment.tests[3]: 'neutral' is not one of the pool's labels``. Every lab preset
has one, so the lab's shot curve opens on the preset the teacher chose.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from playground import config_checks as checks
from playground.errors import ConfigError
from playground.lessons.fewshot import Shot
from playground.lessons.presets import Preset
from playground.lessons.shot_curve import METRICS, labels_of
from playground.models.registry import Limits

DEFAULT_CURVE_SETS_PATH = Path(__file__).with_name("curve_sets.yaml")


@dataclass(frozen=True)
class CurveSet:
    """A preset's pool of worked examples, its (query, reference) tests and how an answer is scored."""

    preset: str  # the preset's id
    metric: str  # one of playground.lessons.shot_curve.METRICS
    pool: tuple[Shot, ...]
    tests: tuple[Shot, ...]  # a Shot's input is the query, its output the reference
    source: str = ""  # where the pairs come from, when not written for the playground

    def pool_rows(self) -> list[list[str]]:
        """The pool as table rows [input, output]."""
        return [[s.input, s.output] for s in self.pool]

    def test_rows(self) -> list[list[str]]:
        """The tests as table rows [query, reference]."""
        return [[s.input, s.output] for s in self.tests]


def _pairs(where: str, data: Any, most: int) -> tuple[Shot, ...]:
    rows = checks.items(where, data, "[input, output] pairs", non_empty=True, max_len=most)
    pairs = []
    for i, pair in enumerate(rows):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) and x.strip() for x in pair)):
            raise ConfigError(f"{where}[{i}]: must be a pair [input, output] of non-empty strings")
        pairs.append(Shot(pair[0].strip(), pair[1].strip()))
    return tuple(pairs)


def _curve_set(where: str, preset: str, data: Any, limits: Limits) -> CurveSet:
    data = checks.mapping(where, data, {"metric", "pool", "tests", "source"}, {"metric", "pool", "tests"})
    metric = checks.choice(f"{where}.metric", data["metric"], METRICS)
    pool = _pairs(f"{where}.pool", data["pool"], limits.max_lab_examples)
    tests = _pairs(f"{where}.tests", data["tests"], limits.max_curve_tests)
    inputs = {s.input for s in pool}
    for i, test in enumerate(tests):
        if test.input in inputs:
            raise ConfigError(f"{where}.tests[{i}]: {test.input!r} is also in the pool")
    if metric == "accuracy":
        try:
            labels_of(pool, tests)
        except ValueError as exc:
            raise ConfigError(f"{where}.{exc}") from None
    source = checks.string(f"{where}.source", data.get("source", ""), empty_ok=True)
    return CurveSet(preset, metric, pool, tests, source)


def load_curve_sets(
    presets: dict[str, Preset], path: str | Path = DEFAULT_CURVE_SETS_PATH, limits: Limits | None = None
) -> dict[str, CurveSet]:
    """Every preset's curve set, by preset id; ConfigError for a missing, unknown or bad one."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("curve_sets"), dict):
        raise ConfigError("curve_sets: expected a mapping of preset ids under 'curve_sets'")
    sets = data["curve_sets"]
    for name in sets:
        if name not in presets:
            raise ConfigError(f"curve_sets.{name}: not a preset of the lab")
    missing = [p for p in presets if p not in sets]
    if missing:
        raise ConfigError(f"curve_sets.{missing[0]}: missing (every preset needs a pool and tests)")
    return {p: _curve_set(f"curve_sets.{p}", p, sets[p], limits or Limits()) for p in presets}

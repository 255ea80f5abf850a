"""Shot curves a class sends to its room, and the class's curves pooled for the teacher's board.

A student who drew the lab's shot curve (:mod:`playground.lessons.shot_curve`) sends its
setup (the lab's share link) and its points: for each k, the mean score, the lowest and the
highest run, with the metric and the number of test items (:class:`CurveContent`, every
field checked and bounded). The room keeps it as a post of kind ``curve`` whose ``answers``
column holds the points as JSON and whose ``lesson`` column holds the curve's chart key
(:func:`chart_key`: the metric and the lesson, or the metric and a hash of the task): the
board reads each student's latest post of each key, so a student who sends the same setup
again replaces their earlier curve.

:func:`class_curves` pools them, one chart per lesson (or task) and metric: at each k, the
mean of the students' means, the lowest and highest of them, and how many students have a
point there. A lesson whose lab runs were counted (:attr:`~playground.classroom.board.LessonCount.by_shots`)
and for which no curve was sent gets a chart too, of the share of answers giving the
reference at 0, 1 and all the examples (metric :data:`REFERENCE`).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from playground.classroom.errors import ClassroomInputError
from playground.classroom.limits import ClassroomLimits
from playground.classroom.posts import bounded_text
from playground.config_checks import check_float, check_integer
from playground.lessons.deep_links import from_query
from playground.lessons.presets import Preset
from playground.lessons.shot_curve import METRIC_NAMES, METRICS, CurvePoint
from playground.messages import Message
from playground.models.registry import Registry

KIND = "curve"  # a post's kind
REFERENCE = "reference"  # a chart of the lab runs' counts: the share of answers that give the reference (%)
POINT_KEYS = ("shots", "mean", "low", "high", "runs")  # a point as /shot_curve answers it ("runs" optional)
METRIC_OF = {**{m: m for m in METRICS}, **{name: m for m, name in METRIC_NAMES.items()}}  # "chrF" reads as chrf
KEY_CHARS = 64  # the posts' lesson column, where a curve keeps its chart key
POINT_JSON_CHARS = 160  # characters of one point as JSON text, generously: bounds the text before it is parsed


def chart_key(metric: str, lesson: str | None, task: str) -> str:
    """The chart a curve joins: its metric and lesson, else its metric and its task, hashed (at most 64 chars)."""
    if lesson is not None and len(lesson) <= KEY_CHARS - len(metric) - 1:
        return f"{metric}:{lesson}"
    named = f"lesson:{lesson}" if lesson is not None else f"task:{task}"
    return f"{metric}:#{hashlib.sha256(named.encode('utf-8')).hexdigest()[:32]}"


@dataclass(frozen=True)
class CurveContent:
    """A shot curve as the room keeps it; build with :meth:`checked`."""

    link: str  # "?tab=lab&..." as the lab's share link writes it
    task: str  # the task the curve's prompts start with (as the link carries it)
    lesson: str | None  # the preset whose task it is, else None
    metric: str  # one of METRICS
    tests: int  # test items each run is scored on
    points: tuple[CurvePoint, ...]  # sorted by k
    kind: str = field(default=KIND, init=False)

    @classmethod
    def checked(
        cls, link: Any, metric: Any, tests: Any, points: Any, *,
        registry: Registry, presets: Mapping[str, Preset], limits: ClassroomLimits,
    ) -> CurveContent:  # fmt: skip
        """The curve, every field checked (ClassroomInputError or SettingsError naming the first bad one)."""
        text = bounded_text("link", link, limits.max_link_chars, required=True)
        setup = from_query(parse_qsl(text.lstrip("?"), keep_blank_values=True), registry, presets)
        if setup.warnings:
            raise ClassroomInputError(Message("room_bad_link", field="link", reason=setup.warnings[0]))
        if setup.tab != "lab":
            raise ClassroomInputError(Message("room_link_tab", field="link", tab=setup.tab or "", kind="lab"))
        checked = read_points(points, limits.max_curve_points, registry.limits.max_lab_examples)
        if not isinstance(metric, str) or metric not in METRIC_OF:
            choices = ", ".join(METRICS)
            raise ClassroomInputError(Message("not_one_of", field="metric", value=metric, choices=choices))
        count = check_integer("tests", tests, 1, registry.limits.max_curve_tests)
        task = setup.task or ""
        preset = presets.get(setup.preset or "")
        lesson = preset.id if preset is not None and task == preset.task else None
        return cls("?" + text.lstrip("?"), task, lesson, METRIC_OF[metric], count, checked)

    @property
    def key(self) -> str:
        """The chart it joins (:func:`chart_key`)."""
        return chart_key(self.metric, self.lesson, self.task)

    def payload_json(self) -> str:
        """What the ``answers`` column keeps: the metric, the lesson, the test items and the points."""
        points = [p.to_dict() for p in self.points]
        return json.dumps({"metric": self.metric, "lesson": self.lesson, "tests": self.tests, "points": points})

    def size(self) -> int:
        """UTF-8 bytes it takes in the room (counted against ``max_room_bytes``)."""
        return sum(len(t.encode("utf-8")) for t in (self.link, self.task, self.payload_json()))


def read_points(points: Any, limit: int, max_shots: int) -> tuple[CurvePoint, ...]:
    """A curve's points: a list (or its JSON text) of ``{"shots", "mean", "low", "high"[, "runs"]}``, sorted by k."""
    if isinstance(points, str):  # an API client may send the JSON text
        try:
            points = json.loads(points) if len(points) <= limit * POINT_JSON_CHARS else None
        except ValueError:
            points = None
    if points is None or (isinstance(points, (list, tuple)) and not points):
        raise ClassroomInputError(Message("room_curve_empty", field="points"))
    if not isinstance(points, (list, tuple)):
        raise ClassroomInputError(Message("room_curve_points", field="points"))
    if len(points) > limit:
        raise ClassroomInputError(Message("room_curve_too_many", field="points", limit=limit, count=len(points)))
    by_k: dict[int, CurvePoint] = {}
    for i, raw in enumerate(points):
        point = _point(f"points[{i}]", raw, max_shots)
        if point.shots in by_k:
            raise ClassroomInputError(Message("room_curve_shots_twice", field=f"points[{i}].shots", value=point.shots))
        by_k[point.shots] = point
    return tuple(by_k[k] for k in sorted(by_k))


def _point(name: str, raw: Any, max_shots: int) -> CurvePoint:
    """One point, checked: k in [0, max_shots], scores in [0, 100] with low <= mean <= high, runs >= 1."""
    if not isinstance(raw, dict) or set(raw) - set(POINT_KEYS) or not set(POINT_KEYS[:4]) <= set(raw):
        raise ClassroomInputError(Message("room_curve_points", field=name))
    shots = check_integer(f"{name}.shots", raw["shots"], 0, max_shots)
    mean, low, high = (check_float(f"{name}.{k}", raw[k], 0.0, 100.0) for k in ("mean", "low", "high"))
    runs = check_integer(f"{name}.runs", raw.get("runs", 1), 1, 10_000)
    if not low - 1e-9 <= mean <= high + 1e-9:
        raise ClassroomInputError(Message("room_curve_spread", field=name, low=low, mean=mean, high=high))
    return CurvePoint(shots, mean, low, high, runs)


@dataclass(frozen=True)
class StudentCurve:
    """One student's latest curve of a setup, as the board reads it."""

    student: str
    link: str
    tests: int
    points: tuple[CurvePoint, ...]
    posted_ms: int
    post_id: int = field(default=0, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly (``posted_ms`` as the board's ``posted_at`` is added by the board)."""
        return {"student": self.student, "link": self.link, "tests": self.tests,
                "points": [p.to_dict() for p in self.points]}  # fmt: skip


@dataclass(frozen=True)
class CurveRow:
    """A curve post read back: its chart key, task, metric and lesson, and the student's curve."""

    key: str
    task: str
    metric: str
    lesson: str | None
    curve: StudentCurve


def read_row(student: str, key: str, task: str, link: str, payload: str, posted_ms: int, post_id: int) -> CurveRow:
    """A stored curve post (already checked when it was sent) read back."""
    data = json.loads(payload)
    points = tuple(CurvePoint(p["shots"], p["mean"], p["low"], p["high"], p["runs"]) for p in data["points"])
    curve = StudentCurve(student, link, int(data["tests"]), points, posted_ms, post_id)
    return CurveRow(key, task, data["metric"], data.get("lesson"), curve)


@dataclass(frozen=True)
class ClassCurve:
    """One chart of the board: the class's curves of one lesson (or task) and metric, pooled k by k."""

    key: str
    lesson: str | None
    title: str  # the lesson's title, or the task
    metric: str  # one of METRICS, or REFERENCE
    students: tuple[StudentCurve, ...] = ()  # each student's latest curve, by name
    counts: tuple[tuple[int, int, int], ...] = ()  # REFERENCE: (k, answers giving the reference, answers)

    def points(self) -> list[CurvePoint]:
        """At each k: the students' means pooled (mean, lowest, highest; ``runs``: students), or the share given."""
        if self.metric == REFERENCE:
            return [CurvePoint(k, 100 * g / a, 100 * g / a, 100 * g / a, a) for k, g, a in self.counts if a]
        means: dict[int, list[float]] = defaultdict(list)
        for curve in self.students:
            for point in curve.points:
                means[point.shots].append(point.mean)
        return [CurvePoint.of(k, means[k]) for k in sorted(means)]

    def tests(self) -> tuple[int, int]:
        """The fewest and the most test items of the students' curves ((0, 0) for the lab's counts)."""
        counts = [c.tests for c in self.students] or [0]
        return min(counts), max(counts)

    def to_dict(self) -> dict[str, Any]:
        """For the API: the pooled points (``students`` at each k) or the lab runs' counts; each student's curve."""
        base: dict[str, Any] = {"key": self.key, "lesson": self.lesson, "title": self.title, "metric": self.metric}
        if self.metric == REFERENCE:
            points = [{"shots": k, "share": 100 * g / a, "given": g, "answers": a} for k, g, a in self.counts if a]
            return {**base, "source": "lab_runs", "points": points, "students": []}
        pooled = [{"shots": p.shots, "mean": p.mean, "low": p.low, "high": p.high, "students": p.runs}
                  for p in self.points()]  # fmt: skip
        return {**base, "metric_name": METRIC_NAMES[self.metric], "source": "curves", "points": pooled,
                "students": [c.to_dict() for c in self.students]}  # fmt: skip


def class_curves(
    rows: Iterable[CurveRow], counted: Mapping[str, tuple[str, Mapping[int, tuple[int, int]]]],
    presets: Mapping[str, Preset],
) -> tuple[ClassCurve, ...]:  # fmt: skip
    """The board's charts: each curve key's latest curves pooled, then the counted lessons no curve was sent for.

    ``rows``: each student's latest curve post of each key (oldest first); ``counted``: for
    each lesson the lab runs answered, its title and its ``by_shots``.
    """
    by_key: dict[str, list[CurveRow]] = defaultdict(list)
    for row in rows:
        by_key[row.key].append(row)
    charts = []
    for key, chart_rows in by_key.items():
        first = chart_rows[0]
        preset = presets.get(first.lesson or "")
        title = preset.title if preset is not None else first.task
        students = tuple(sorted((r.curve for r in chart_rows), key=lambda c: c.student.casefold()))
        charts.append(ClassCurve(key, first.lesson, title, first.metric, students))
    charts.sort(key=lambda c: (-len(c.students), c.title.casefold(), c.metric))
    drawn = {c.lesson for c in charts}
    for lesson, (title, by_shots) in counted.items():
        if lesson not in drawn:
            counts = tuple((k, g, a) for k, (g, a) in sorted(by_shots.items()))
            charts.append(ClassCurve(f"{REFERENCE}:{lesson}", lesson, title, REFERENCE, counts=counts))
    return tuple(charts)

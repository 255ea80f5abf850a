"""The teacher's board: the class's latest runs grouped by setup, counts and curves per lesson, a CSV of every run.

:func:`latest_posts` reads each student's latest run of each kind and of each lesson, and
their latest shot curve of each setup (not every post: a board is read every few seconds);
:func:`groups` puts the latest run of each kind side by side with the others of the same
setup (the same share link), the most shared setup first; :func:`lesson_counts` counts,
for each lab preset with a reference answer (:mod:`~playground.classroom.references`), how
many students' zero-, one- and few-shot answers give it: "few-shot gave the reference for 14 of 22 students".

The lab's runs give three points per student (0, 1 and all its examples), pooled by number
of examples in :attr:`LessonCount.by_shots`; a student who draws the lab's shot curve sends
its points (:mod:`~playground.classroom.curves`), and the board pools each student's latest
curve of each lesson and metric into one curve (:attr:`Board.curves`), with a chart of the
lab runs' counts for a lesson no curve was sent for; the UI draws them with the lab's chart
code (``playground/ui/class_curves.py``).

The CSV (:func:`csv_text`) has every run of the room, oldest first (a curve with its metric,
test items and points as JSON in columns of their own); a cell that a
spreadsheet would read as a formula (it starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return) is written with a leading ``'``, so an answer never runs in the teacher's
spreadsheet.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from playground.classroom.curves import KIND as CURVE
from playground.classroom.curves import ClassCurve, CurveRow, read_row
from playground.classroom.posts import ANSWERS, example_count, read_link
from playground.classroom.references import Reference
from playground.classroom.schema import TABLES
from playground.classroom.votes import TeacherVote
from playground.lessons.presets import Preset

T = TABLES
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = (
    "posted_at_utc", "student", "kind", "lesson", "model", "adapter", "prompt",
    *(f"answer_{name}" for name in ("zero", "one", "few", "base", "adapter")), "link",
    "curve_metric", "curve_tests", "curve_points",  # a shot curve's (kind "curve"; its prompt is its task)
)  # fmt: skip


@dataclass(frozen=True)
class Run:
    """One student's run, as the board shows it."""

    student: str
    kind: str
    lesson: str | None
    link: str
    prompt: str
    answers: dict[str, str]
    posted_ms: int
    post_id: int = field(default=0, compare=False)


@dataclass(frozen=True)
class SetupGroup:
    """The latest runs of one setup (one share link), each by another student."""

    kind: str
    link: str
    setup: dict[str, str]  # what the link says: preset, model, adapter, query... (as written in it)
    runs: tuple[Run, ...]


@dataclass(frozen=True)
class LessonCount:
    """How many students' answers to one preset's question give its reference answer."""

    preset: str
    title: str
    query: str
    reference: str  # the first reference answer, as shown
    students: int  # students whose latest run answers this question
    given: dict[str, int]  # answer name (zero, one, few) -> students whose answer gives the reference
    by_shots: dict[int, tuple[int, int]]  # examples in the prompt -> (answers that give it, answers)


@dataclass(frozen=True)
class Board:
    """Everything the teacher's board shows."""

    code: str
    title: str
    expires_ms: int
    students: tuple[str, ...]  # every student who joined, in joining order
    posts: int  # runs posted in all
    groups: tuple[SetupGroup, ...]
    lessons: tuple[LessonCount, ...]
    vote: TeacherVote | None  # the latest vote
    curves: tuple[ClassCurve, ...] = ()  # the class's shot curves pooled, one per lesson (or task) and metric

    def to_dict(self) -> dict[str, Any]:
        """For the API (times as ISO 8601, UTC)."""
        out = asdict(self)
        out["expires_at"] = iso(self.expires_ms)
        out["vote"] = self.vote.to_dict() if self.vote is not None else None
        out["curves"] = [c.to_dict() for c in self.curves]
        for chart, shown in zip(self.curves, out["curves"], strict=True):
            for curve, student in zip(chart.students, shown["students"], strict=True):
                student["posted_at"] = iso(curve.posted_ms)
        for group in out["groups"]:
            for run in group["runs"]:
                run["posted_at"] = iso(run.pop("posted_ms"))
                run.pop("post_id")
        for lesson in out["lessons"]:
            lesson["by_shots"] = {str(n): {"given": g, "answers": a} for n, (g, a) in lesson["by_shots"].items()}
        return out


def iso(ms: int) -> str:
    """A time in ms since the epoch as ISO 8601, UTC, to the second."""
    return datetime.fromtimestamp(ms / 1000, timezone.utc).isoformat(timespec="seconds")


def _run(row: Any) -> Run:
    return Run(row.name, row.kind, row.lesson, row.link, row.prompt, json.loads(row.answers), row.created_ms, row.id)


def latest_posts(conn: Connection, room_id: int) -> tuple[list[Run], list[CurveRow]]:
    """Each student's latest run of each kind and of each lesson, and latest curve of each chart; oldest first.

    A curve post's ``lesson`` column holds its chart key (:func:`~playground.classroom.curves.chart_key`).
    """
    p, m = T.posts, T.members
    latest = (
        select(func.max(p.c.id)).where(p.c.room_id == room_id).group_by(p.c.member_id, p.c.kind, p.c.lesson)
    ).scalar_subquery()
    rows = conn.execute(
        select(p, m.c.name).join(m, m.c.id == p.c.member_id).where(p.c.id.in_(latest)).order_by(p.c.id)
    ).all()
    runs = [_run(r) for r in rows if r.kind != CURVE]
    curve_rows = [read_row(r.name, r.lesson, r.prompt, r.link, r.answers, r.created_ms, r.id) for r in rows
                  if r.kind == CURVE]  # fmt: skip
    return runs, curve_rows


def groups(runs: Iterable[Run]) -> tuple[SetupGroup, ...]:
    """Each student's latest run of each kind, grouped by setup: most students first, then latest."""
    latest: dict[tuple[str, str], Run] = {}
    for run in runs:  # oldest first: the last one of a student and kind stays
        latest[(run.student, run.kind)] = run
    by_setup: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in latest.values():
        by_setup[(run.kind, run.link)].append(run)
    ordered = sorted(by_setup.items(), key=lambda kv: (-len(kv[1]), -max(r.post_id for r in kv[1])))
    return tuple(
        SetupGroup(kind, link, _summary(link), tuple(sorted(rs, key=lambda r: r.student.casefold())))
        for (kind, link), rs in ordered
    )


def _summary(link: str) -> dict[str, str]:
    params = read_link(link)
    return {k: params[k] for k in ("preset", "model", "adapter", "query", "temperature", "seed") if k in params}


def lesson_counts(
    runs: Iterable[Run], presets: Mapping[str, Preset], references: Mapping[str, Reference]
) -> tuple[LessonCount, ...]:
    """For each lesson with a reference that someone ran: how many students' answers give it."""
    by_lesson: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        if run.kind == "lab" and run.lesson in references:
            by_lesson[run.lesson].append(run)  # one per student: latest_runs keeps each student's latest
    counts = []
    for lesson, lesson_runs in by_lesson.items():
        reference = references[lesson]
        given = {name: sum(reference.given_by(r.answers.get(name, "")) for r in lesson_runs) for name in ANSWERS["lab"]}
        shots: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for run in lesson_runs:
            n = example_count(run.link, presets)
            for name, count in zip(ANSWERS["lab"], (0, min(1, n), n), strict=True):
                shots[count][0] += reference.given_by(run.answers.get(name, ""))
                shots[count][1] += 1
        preset = presets[lesson]
        by_shots = {n: (g, a) for n, (g, a) in sorted(shots.items())}
        counts.append(
            LessonCount(lesson, preset.title, preset.query, reference.answers[0], len(lesson_runs), given, by_shots)
        )
    return tuple(sorted(counts, key=lambda c: (-c.students, c.preset)))


def _cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


def csv_text(conn: Connection, room_id: int) -> str:
    """Every run of the room as CSV (:data:`CSV_COLUMNS`), oldest first."""
    p, m = T.posts, T.members
    query = select(p, m.c.name).join(m, m.c.id == p.c.member_id).where(p.c.room_id == room_id).order_by(p.c.id)
    rows = conn.execute(query)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        params, answers = read_link(row.link), json.loads(row.answers)
        lesson, curve = row.lesson or "", ["", "", ""]
        if row.kind == CURVE:  # its answers column holds the curve, its lesson column its chart key
            curve = [answers["metric"], answers["tests"], json.dumps(answers["points"])]
            lesson, answers = answers.get("lesson") or "", {}
        values = [
            iso(row.created_ms), row.name, row.kind, lesson, params.get("model", ""),
            params.get("adapter", ""), row.prompt,
            *(answers.get(name, "") for name in ("zero", "one", "few", "base", "adapter")), row.link, *curve,
        ]  # fmt: skip
        writer.writerow([_cell(str(v)) for v in values])
    return out.getvalue()

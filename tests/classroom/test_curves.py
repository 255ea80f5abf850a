"""Shot curves sent to a room and pooled on the board, on SQLite and on PostgreSQL (:mod:`playground.classroom.curves`).

Each test runs on both databases (:func:`tests.conftest.classroom_url`); time is a clock the
test moves, never a sleep.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from playground.classroom.curves import REFERENCE, chart_key
from playground.classroom.errors import ClassroomInputError, RoomLimitError
from playground.errors import SettingsError
from playground.serving.visitor_keys import Visitor
from tests.classroom.helpers import LESSON, PRESETS, REGISTRY, classroom, lab_run_link, style_link

TEACHER = Visitor("teacher-session", "10.0.0.1")
OTHER_LESSON = "en-fr-sentences"  # a lesson the class only ran in the lab: its chart is the lab runs' counts


def _points(**means: float) -> list[dict[str, float]]:
    """Points as /shot_curve answers them, k -> mean (``k0=10``), each with a spread of 5 around its mean."""
    return [
        {"shots": int(k[1:]), "mean": m, "low": max(0.0, m - 5), "high": min(100.0, m + 5), "runs": 3}
        for k, m in means.items()
    ]


def _send(service, code, key, points, metric="chrf", tests=4, **changes):
    return service.post_curve(code, key, lab_run_link(**changes), metric, tests, points)


def test_the_board_pools_each_students_latest_curve_of_each_lesson_and_metric(room, clock):
    opened = room.open_room("Curves", TEACHER)
    code = opened.code
    keys = {name: room.join(code, name).student_key for name in ("Ada", "Bo", "Cy")}
    _send(room, code, keys["Ada"], _points(k0=10, k1=20, k2=30))
    _send(room, code, keys["Bo"], _points(k0=20, k2=40, k4=60), tests=3)
    _send(room, code, keys["Cy"], _points(k0=90, k1=90))
    clock.now += 1
    _send(room, code, keys["Cy"], _points(k0=30, k1=40))  # sent again: replaces her first curve
    _send(room, code, keys["Ada"], _points(k0=50, k1=70), metric="exact match %")  # another metric, another chart
    _send(room, code, keys["Bo"], _points(k0=5), task="Say it in French:")  # another task: its own chart
    lab = {"zero": "cheese", "one": "fromage", "few": "Les enfants jouent dans le jardin."}
    room.post(code, keys["Ada"], "lab", lab_run_link(OTHER_LESSON), "", lab)
    room.post(code, keys["Bo"], "lab", lab_run_link(), "", lab)  # a lab run of the lesson that has curves
    board = room.board(code, opened.teacher_key)
    assert board.posts == 8 and all(g.kind == "lab" for g in board.groups)  # curves are charts, not run groups
    charts = {(c.lesson or c.title, c.metric): c for c in board.curves}
    assert set(charts) == {(LESSON, "chrf"), (LESSON, "exact"), ("Say it in French:", "chrf"),
                           (OTHER_LESSON, REFERENCE)}  # fmt: skip
    pooled = charts[(LESSON, "chrf")]
    assert [c.student for c in pooled.students] == ["Ada", "Bo", "Cy"] and pooled.tests() == (3, 4)
    by_k = {p.shots: (p.mean, p.low, p.high, p.runs) for p in pooled.points()}
    assert by_k == {0: (20, 10, 30, 3), 1: (30, 20, 40, 2), 2: (35, 30, 40, 2), 4: (60, 60, 60, 1)}
    assert board.curves[0] is pooled  # the most students first, the lab runs' counts last
    counted = charts[(OTHER_LESSON, REFERENCE)]
    assert counted.title == PRESETS[OTHER_LESSON].title and counted.counts == ((0, 0, 1), (1, 0, 1), (3, 1, 1))
    assert [p.mean for p in counted.points()] == [0, 0, 100]
    api = board.to_dict()["curves"]
    assert api[0]["source"] == "curves" and api[0]["metric_name"] == "chrF"
    assert api[0]["points"][0] == {"shots": 0, "mean": 20, "low": 10, "high": 30, "students": 3}
    assert api[0]["students"][2]["points"][0]["mean"] == 30 and api[0]["students"][2]["posted_at"].endswith("+00:00")
    assert api[-1]["source"] == "lab_runs" and api[-1]["points"][2] == {"shots": 3, "share": 100, "given": 1,
                                                                       "answers": 1}  # fmt: skip
    json.dumps(board.to_dict())  # the API's answer is JSON


def test_the_csv_has_a_row_per_curve_with_its_points(room):
    opened = room.open_room("", TEACHER)
    key = room.join(opened.code, "Ada").student_key
    _send(room, opened.code, key, _points(k0=10, k2=30))
    room.post(opened.code, key, "style", style_link(), "Cette femme", {"base": "a", "adapter": "b"})
    rows = list(csv.DictReader(io.StringIO(room.csv(opened.code, opened.teacher_key))))
    curve, style = rows
    assert (curve["kind"], curve["lesson"], curve["curve_metric"]) == ("curve", LESSON, "chrf")
    assert curve["curve_tests"] == "4"
    assert [p["mean"] for p in json.loads(curve["curve_points"])] == [10, 30]
    assert curve["prompt"] == PRESETS[LESSON].task and curve["model"] == "gemma-3-270m"
    assert curve["link"].startswith("?tab=lab&") and curve["answer_few"] == ""
    assert style["curve_points"] == "" and style["answer_adapter"] == "b"


def test_curve_inputs_are_bounded_and_named(classroom_url, clock):
    service = classroom(classroom_url, clock, max_curve_points=3, max_posts_per_minute=3, max_link_chars=2000)
    opened = service.open_room("", TEACHER)
    code = opened.code
    key = service.join(code, "Ada").student_key
    link = lab_run_link()
    max_k = REGISTRY.limits.max_lab_examples
    for error, kind, args in [
        ("metric: 'bleu' is not one of chrf, exact, accuracy", ClassroomInputError, (link, "bleu", 4, _points(k0=1))),
        ("tests: 0 is out of range", SettingsError, (link, "chrf", 0, _points(k0=1))),
        ("points: must be a list of points", ClassroomInputError, (link, "chrf", 4, {"k0": 1})),
        ("points: the curve has no point", ClassroomInputError, (link, "chrf", 4, [])),
        ("points: at most 3 points, got 4", ClassroomInputError, (link, "chrf", 4, _points(k0=1, k1=2, k2=3, k4=4))),
        (r"points\[0\]: must be a list of points", ClassroomInputError,
         (link, "chrf", 4, [{**_points(k0=1)[0], "colour": "red"}])),
        (rf"points\[0\]\.shots: {max_k + 1} is out of range", SettingsError,
         (link, "chrf", 4, [{**_points(k0=1)[0], "shots": max_k + 1}])),
        (r"points\[1\]\.mean: 101 is out of range", SettingsError,
         (link, "chrf", 4, [_points(k0=1)[0], {"shots": 1, "mean": 101, "low": 0, "high": 100}])),
        (r"points\[0\]: needs low <= mean <= high, got 50, 40, 60", ClassroomInputError,
         (link, "chrf", 4, [{"shots": 0, "mean": 40, "low": 50, "high": 60}])),
        (r"points\[1\]\.shots: a second point at k = 0", ClassroomInputError, (link, "chrf", 4, _points(k0=1) * 2)),
        ("link: a link of the 'style' tab, not of 'lab'", ClassroomInputError,
         (style_link(), "chrf", 4, _points(k0=1))),
        ("link: at most 2000 characters", ClassroomInputError,
         (lab_run_link(query="q" * 1900), "chrf", 4, _points(k0=1))),
    ]:  # fmt: skip
        with pytest.raises(kind, match=error):
            service.post_curve(code, key, *args)
    assert service.board(code, opened.teacher_key).posts == 0  # bad input changes nothing
    service.post_curve(code, key, link, "chrF", 4.0, json.dumps(_points(k0=1, k1=2)))  # JSON text, a display name
    service.post(code, key, "lab", link, "", {"few": "fromage"})
    service.post_curve(code, key, link, "chrf", 4, _points(k0=3))
    with pytest.raises(RoomLimitError, match="at most 3 runs a minute"):  # curves count with the other runs
        service.post_curve(code, key, link, "chrf", 4, _points(k0=4))
    [chart] = service.board(code, opened.teacher_key).curves
    assert [p.mean for p in chart.points()] == [3]  # her latest curve of the lesson
    service.store.close()


def test_a_chart_key_fits_the_lesson_column():
    assert chart_key("chrf", LESSON, "") == f"chrf:{LESSON}"
    assert chart_key("chrf", None, "a") != chart_key("chrf", None, "b")
    assert all(len(chart_key("accuracy", lesson, "x" * 9000)) <= 64 for lesson in (None, "p" * 64))

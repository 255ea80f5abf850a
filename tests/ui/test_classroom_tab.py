"""The Classroom tab's wiring and rendering, in this process: its lane of the queue, its endpoints, inert HTML."""

from __future__ import annotations

import inspect
import re

import pytest

from playground.classroom.board import Board, Run, SetupGroup
from playground.classroom.curves import REFERENCE, ClassCurve, StudentCurve
from playground.classroom.rooms import Classroom, StudentRoom
from playground.classroom.storage import Store
from playground.classroom.votes import StudentVote, Tally, TeacherVote
from playground.lessons.presets import load_presets
from playground.lessons.shot_curve import CurvePoint
from playground.ui.app import build_app
from playground.ui.classroom_tab import ROOM_SLOTS
from playground.ui.classroom_view import board_html, join_link, room_banner, student_status_html, student_vote_html

ENDPOINTS = {
    "room_open", "room_join", "room_status", "room_post", "room_post_curve", "room_board", "room_csv", "room_clear",
    "room_close", "vote_start", "vote_cast", "vote_close",
}  # fmt: skip
HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


@pytest.fixture()
def demo(engine, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'ui.sqlite3'}")
    yield build_app(engine, Classroom(store, engine.registry, load_presets()))
    store.close()


def test_room_events_run_in_their_own_lane_through_the_handler(demo):
    lane = [f for f in demo.fns.values() if f.concurrency_id == "classroom"]
    assert {f.api_name for f in lane} >= ENDPOINTS
    assert all(f.concurrency_limit == ROOM_SLOTS for f in lane)
    for f in lane:  # every one is a handler: it reads the request (language, visitor) and names its errors
        assert f.fn is not None and "request" in inspect.signature(f.fn).parameters, f.api_name
    generation = {"lab_run", "lab_inspect", "style", "instructions", "generate", "compare", "generate_tokens"}
    assert not any(f.api_name in generation for f in lane)  # generation never waits behind the class
    sends = [b for b in demo.blocks.values() if re.fullmatch(r"(lab|curve|style|instructions)-send", str(b.elem_id))]
    assert len(sends) == 4 and not any(b.visible for b in sends)  # shown only in a classroom


def test_the_app_without_a_classroom_has_no_tab_and_no_endpoint(engine):
    names = {f.api_name for f in build_app(engine).fns.values()}
    assert not ENDPOINTS & names and "lab_run" in names


def _board() -> Board:
    run = Run(HOSTILE, "style", None, '?tab=style&adapter=x"onclick="y', HOSTILE, {"base": HOSTILE, "adapter": "ok"}, 0)
    vote = TeacherVote(1, HOSTILE, (HOSTILE, "b"), (HOSTILE, "2"), False, 1, Tally(1, 0, 0))
    group = SetupGroup("style", run.link, {"adapter": HOSTILE}, (run,))
    points = (CurvePoint(0, 10, 5, 15, 3), CurvePoint(2, 40, 30, 50, 3))
    curves = (
        ClassCurve("chrf:#x", None, HOSTILE, "chrf", (StudentCurve(HOSTILE, "?tab=lab", 4, points, 0),)),
        ClassCurve("reference:x", "x", HOSTILE, REFERENCE, counts=((0, 1, 2), (3, 2, 2))),
    )
    return Board("ABCDEFGH", HOSTILE, 3_600_000, (HOSTILE,), 1, (group,), (), vote, curves)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_what_students_and_teachers_write_is_shown_as_text(lang):
    vote = StudentVote(1, HOSTILE, HOSTILE, "b", False, "A", {"a": {"label": HOSTILE, "votes": 1},
                       "b": {"label": "b", "votes": 0}, "ties": 0})  # fmt: skip
    room = StudentRoom("ABCDEFGH", HOSTILE, HOSTILE, "k" * 32, 0, 1, vote)
    shown = [
        board_html(_board(), lang, 0), student_status_html(room, lang), student_vote_html(vote, lang),
        room_banner("ABCDEFGH", HOSTILE, "https://example.org/", lang),
    ]  # fmt: skip
    for html in shown:
        assert "<script" not in html and "<img src=x" not in html and "&lt;script&gt;" in html, html
        assert 'onerror="' not in html and '"onclick="' not in html
    assert '<a class="pg-open-setup" href="?tab=style&amp;adapter=x&quot;onclick=&quot;y"' in shown[0]
    assert shown[0].count("<bdi>") == 3  # the student's name, in the list, in the grid, under the curve
    charts = re.findall(r'<img class="pg-curve-chart" alt="([^"<>]+)" src="data:image/png;base64,[A-Za-z0-9+/=]+">',
                        shown[0])  # fmt: skip
    assert len(charts) == 2 and all("&lt;script&gt;" in alt for alt in charts)  # the task, as text, in each name
    tables = re.findall(r"<table class=\"pg-curve-table\">.*?</table>", shown[0])
    assert len(tables) == 2 and "<td>25.0</td>" not in tables[0] and "<td>40.0</td>" in tables[0]
    assert "<td>2 / 2</td>" in tables[1] and "<td>100.0</td>" in tables[1]  # the lab runs' share at k = 3


def test_the_qr_code_is_an_image_of_the_join_link_only():
    banner = room_banner("ABCDEFGH", "", "https://example.org/space/", "en")
    assert re.search(r'<img class="pg-room-qr" alt="[^"]+" src="data:image/svg\+xml;[^"<>]+">', banner)
    assert "https://example.org/space/?tab=classroom&amp;room=ABCDEFGH" in banner
    for page in ("javascript:alert(1)", 'https://x.org/"><script>', "", "https://x.org/ space"):
        assert join_link(page, "ABCDEFGH") is None
        assert "<img" not in room_banner("ABCDEFGH", "", page, "en")

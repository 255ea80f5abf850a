"""The classroom's API endpoints (no component): rooms, runs, the board and votes, for ``gradio_client``.

A teacher's endpoints take the room's ``code`` and the ``teacher_key`` /room_open gave;
a student's take the ``code`` and the ``student_key`` /room_join gave.

- ``/room_open(title)``: ``code``, ``shown_code``, ``teacher_key``, ``join_query``, ``expires_at``
- ``/room_join(code, name)``: the student's room, with their ``student_key``
- ``/room_status(code, student_key)``: the same, with the latest vote as this student sees it
- ``/room_post(code, student_key, kind, link, prompt, answers)``: ``{"posts": runs they sent}``
- ``/room_post_curve(code, student_key, link, metric, tests, points)``: ``{"posts": runs they sent}``
- ``/room_board(code, teacher_key)``: students, latest runs grouped by setup, lessons, curves, the latest vote
- ``/room_csv(code, teacher_key)``: every run, as CSV text
- ``/room_clear(code, teacher_key)``, ``/room_close(code, teacher_key)``
- ``/vote_start(code, teacher_key, prompt, label_1, answer_1, label_2, answer_2)``: the vote
- ``/vote_cast(code, student_key, vote_id, choice)``: the vote as this student sees it
- ``/vote_close(code, teacher_key)``: the vote with its ``tally``

``kind`` is ``lab``, ``style`` or ``instructions``; ``link`` is that tab's share link (its
query string, ``?tab=lab&...``); ``answers`` maps ``zero``, ``one``, ``few`` (lab) or
``base``, ``adapter`` to text. A curve's ``link`` is the lab's share link, ``metric`` one of
``chrf``, ``exact``, ``accuracy`` (or its name as /shot_curve answers it), ``tests`` its test
items, ``points`` a list of ``{"shots", "mean", "low", "high"}`` (and ``"runs"``): what
/shot_curve answers as ``points``. ``choice`` is ``A``, ``B`` or ``tie``, as the student sees the
two answers. Every endpoint runs in the classroom's lane of the queue and through the
handler wrapper: a refused request's error names the field, in the client's language.
``docs/classroom.md`` has a worked example.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from playground.classroom.rooms import Classroom
from playground.ui.classroom_tab import ROOM_EVENTS
from playground.ui.handler import Call, handler


def add_classroom_endpoints(classroom: Classroom) -> None:
    """Register the endpoints listed above on the current Blocks."""
    for fn in (*_room_endpoints(classroom), *_vote_endpoints(classroom)):
        gr.api(fn, api_name=fn.__name__, **ROOM_EVENTS)


def _room_endpoints(classroom: Classroom) -> list[Callable[..., Any]]:
    """/room_open, /room_join, /room_status, /room_post, /room_post_curve, /room_board, /room_csv, /room_clear, ..."""

    @handler()
    def room_open(call: Call, title: str) -> dict[str, Any]:
        """Open a room: its code for the board, and the teacher key (shown once, never kept)."""
        return classroom.open_room(title, call.visitor).to_dict()

    @handler()
    def room_join(call: Call, code: str, name: str) -> dict[str, Any]:
        """Join a room with its code and a name; the student key that every later call needs."""
        return classroom.join(code, name, call.visitor).to_dict()

    @handler()
    def room_status(call: Call, code: str, student_key: str) -> dict[str, Any]:
        """A student's room: their name, runs sent, and the latest vote in their order."""
        return classroom.student_room(code, student_key, call.visitor).to_dict()

    @handler()
    def room_post(
        call: Call, code: str, student_key: str, kind: str, link: str, prompt: str, answers: dict[str, str]
    ) -> dict[str, Any]:
        """Send a run to the room: its tab, its share link, its prompt (pair tabs) and answers."""
        return {"posts": classroom.post(code, student_key, kind, link, prompt, answers, call.visitor)}

    @handler()
    def room_post_curve(
        call: Call, code: str, student_key: str, link: str, metric: str, tests: int, points: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """Send a shot curve to the room: the lab's share link, the metric, the test items and the points."""
        return {"posts": classroom.post_curve(code, student_key, link, metric, tests, points, call.visitor)}

    @handler()
    def room_board(call: Call, code: str, teacher_key: str) -> dict[str, Any]:
        """The teacher's board: students, latest runs by setup, counts per lesson, the latest vote."""
        return classroom.board(code, teacher_key, call.visitor).to_dict()

    @handler()
    def room_csv(call: Call, code: str, teacher_key: str) -> str:
        """Every run of the room as CSV, oldest first."""
        return classroom.csv(code, teacher_key, call.visitor)

    @handler()
    def room_clear(call: Call, code: str, teacher_key: str) -> dict[str, Any]:
        """Delete the room's runs and votes (its students stay)."""
        classroom.clear(code, teacher_key, call.visitor)
        return {"cleared": True}

    @handler()
    def room_close(call: Call, code: str, teacher_key: str) -> dict[str, Any]:
        """Close the room: it is deleted with everything it holds."""
        classroom.close(code, teacher_key, call.visitor)
        return {"closed": True}

    return [room_open, room_join, room_status, room_post, room_post_curve, room_board, room_csv, room_clear, room_close]


def _vote_endpoints(classroom: Classroom) -> list[Callable[..., Any]]:
    """/vote_start, /vote_cast, /vote_close."""

    @handler()
    def vote_start(
        call: Call, code: str, teacher_key: str, prompt: str, label_1: str, answer_1: str, label_2: str, answer_2: str
    ) -> dict[str, Any]:
        """Open a blind vote between two answers; each student sees them as A and B in their own order."""
        vote = classroom.start_vote(code, teacher_key, prompt, label_1, answer_1, label_2, answer_2, call.visitor)
        return vote.to_dict()

    @handler()
    def vote_cast(call: Call, code: str, student_key: str, vote_id: int, choice: str) -> dict[str, Any]:
        """Vote A, B or tie on the open vote (once)."""
        return classroom.cast(code, student_key, vote_id, choice, call.visitor).to_dict()

    @handler()
    def vote_close(call: Call, code: str, teacher_key: str) -> dict[str, Any]:
        """Close the open vote: its tally, and which side was which."""
        return classroom.close_vote(code, teacher_key, call.visitor).to_dict()

    return [vote_start, vote_cast, vote_close]

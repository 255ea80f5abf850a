"""The Classroom tab: a teacher opens a room and watches the board; students join, send runs and vote.

A page is in at most one room at a time, as a teacher or as a student: the session's
``room`` state holds ``{"role", "code", "key"}`` and the "Send to the class" buttons of the
lab, George Sand and Instructions tabs (:mod:`playground.ui.classroom_sends`) read it. The
key stays in the visitor's browser (:mod:`playground.ui.classroom_page`), so a reload finds
the room again. The teacher's board and a student's vote are read again every few seconds
(a ``gr.Timer``, only while the page is in a room).

Every event here runs in its own lane of Gradio's queue (:data:`ROOM_EVENTS`: concurrency id
``classroom``, :data:`ROOM_SLOTS` at once), so the class's polls and posts never take a
generation's slot; they still pass the app's front door (:mod:`playground.ui.guard`) and the
handler wrapper (:mod:`playground.ui.handler`) like every other event.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from playground.classroom.board import Board
from playground.classroom.codes import shown
from playground.classroom.errors import ClassroomError, RoomAccessError, StorageError
from playground.classroom.rooms import JOIN_QUERY, Classroom, StudentRoom
from playground.messages import Message, excerpt, localize
from playground.ui.classroom_page import DOWNLOAD_JS, REMEMBER_JS, RESUME_JS
from playground.ui.classroom_view import (
    ANSWER_NAMES,
    board_html,
    join_link,
    room_banner,
    student_status_html,
    student_vote_html,
)
from playground.ui.feedback import toast_text
from playground.ui.handler import Call, handler
from playground.ui.i18n import I18N, tr

ROOM_SLOTS = 4  # room events Gradio runs at once (reads and writes of a few milliseconds each)
ROOM_EVENTS: dict[str, Any] = {"concurrency_id": "classroom", "concurrency_limit": ROOM_SLOTS}
BOARD_EVERY_S = 3.0  # how often the teacher's board is read again
STUDENT_EVERY_S = 4.0  # how often a student's page looks for a vote
HIDDEN = {"elem_classes": ["pg-hidden"], "container": False, "interactive": False}


@dataclass
class Entry:
    """What a page shows before it is in a room: join (students) and open (teachers)."""

    row: gr.Row
    code: gr.Textbox
    name: gr.Textbox
    join: gr.Button
    title: gr.Textbox
    open: gr.Button


@dataclass
class StudentPanel:
    """A student's room: who they are, the vote in their order, leaving."""

    panel: gr.Column
    status: gr.HTML
    box: gr.Column  # the vote, once there is one
    prompt: gr.Textbox
    a: gr.Textbox
    b: gr.Textbox
    picks: list[gr.Button]  # A, B, tie
    line: gr.HTML
    vote_id: gr.State
    timer: gr.Timer
    leave: gr.Button


@dataclass
class TeacherPanel:
    """The teacher's room: the banner, the board, the vote, the CSV, clearing and closing."""

    panel: gr.Column
    banner: gr.HTML
    link: gr.Textbox
    board: gr.HTML
    refresh: gr.Button
    csv: gr.Button
    csv_text: gr.Textbox
    picker: gr.Dropdown
    vote: list[gr.Textbox]  # prompt, label 1, answer 1, label 2, answer 2
    start: gr.Button
    close_vote: gr.Button
    clear: gr.Button
    clear_yes: gr.Button
    close: gr.Button
    close_yes: gr.Button
    timer: gr.Timer


@dataclass
class ClassroomUI:
    """The whole tab, and what it shares with the page."""

    room: gr.State  # {"role", "code", "key"} or None
    page: gr.Textbox  # the page's address (for links and the QR code)
    found: gr.Textbox  # what the page's address and this browser know of a room (set on load)
    remember: gr.Textbox  # a room's key to keep (or forget) in this browser
    sends: list[gr.Button]  # the other tabs' "Send to the class" buttons
    entry: Entry
    student: StudentPanel
    teacher: TeacherPanel


def build_classroom_tab(demo: gr.Blocks, classroom: Classroom, room: gr.State, sends: list[gr.Button]) -> None:
    """Add the tab's components and events; ``sends`` show only while the page is a student's."""
    gr.Markdown(I18N("room_intro"))
    ui = ClassroomUI(
        room, gr.Textbox("", **HIDDEN), gr.Textbox("", **HIDDEN), gr.Textbox("", **HIDDEN), sends,
        _entry(), _student_panel(), _teacher_panel(),
    )  # fmt: skip
    views = Views(classroom, ui)
    demo.load(None, inputs=None, outputs=[ui.found, ui.page], js=RESUME_JS, api_name=False)
    ui.found.change(views.resume_handler(), inputs=[ui.found, ui.page], outputs=views.all(), api_name=False,
                    **ROOM_EVENTS).then(None, inputs=ui.remember, js=REMEMBER_JS, api_name=False)  # fmt: skip
    _wire_entry(views)
    _wire_student(views)
    _wire_teacher(views)


def _entry() -> Entry:
    with gr.Row() as row:
        with gr.Column(variant="panel"):
            gr.Markdown(I18N("room_join_heading"))
            code = gr.Textbox(label=I18N("room_code"), max_lines=1, elem_id="room-code")
            name = gr.Textbox(label=I18N("room_name"), max_lines=1, elem_id="room-name")
            join = gr.Button(I18N("room_join"), variant="primary", elem_id="room-join")
        with gr.Column(variant="panel"):
            gr.Markdown(I18N("room_teach_heading"))
            title = gr.Textbox(label=I18N("room_title"), max_lines=1, elem_id="room-title")
            opened = gr.Button(I18N("room_open"), elem_id="room-open")
    return Entry(row, code, name, join, title, opened)


def _student_panel() -> StudentPanel:
    with gr.Column(visible=False) as panel:
        status = gr.HTML("", js_on_load=None)
        with gr.Column(visible=False) as box:  # shown once the teacher has started a vote
            gr.Markdown(I18N("room_vote_heading_student"))
            prompt = gr.Textbox(label=I18N("room_vote_prompt"), interactive=False, elem_id="vote-prompt")
            with gr.Row():
                a = gr.Textbox(label=I18N("room_answer_a"), lines=3, interactive=False, elem_id="vote-a")
                b = gr.Textbox(label=I18N("room_answer_b"), lines=3, interactive=False, elem_id="vote-b")
            with gr.Row():
                picks = [
                    gr.Button(I18N(key), interactive=False, elem_id=f"vote-{choice}")
                    for key, choice in (("room_pick_a", "A"), ("room_pick_b", "B"), ("room_pick_tie", "tie"))
                ]
        line = gr.HTML("", js_on_load=None)
        leave = gr.Button(I18N("room_leave"), size="sm", elem_id="room-leave")
    timer = gr.Timer(STUDENT_EVERY_S, active=False)
    return StudentPanel(panel, status, box, prompt, a, b, picks, line, gr.State(None), timer, leave)


def _teacher_panel() -> TeacherPanel:
    with gr.Column(visible=False) as panel:
        banner = gr.HTML("", js_on_load=None)
        with gr.Accordion(I18N("room_teacher_link"), open=False):
            link = gr.Textbox(show_label=False, interactive=False, buttons=["copy"], elem_id="room-teacher-link")
        with gr.Row():
            refresh = gr.Button(I18N("room_refresh"), size="sm", elem_id="room-refresh")
            csv = gr.Button(I18N("room_csv"), size="sm", elem_id="room-csv")
        board = gr.HTML("", js_on_load=None)
        csv_text = gr.Textbox("", **HIDDEN)
        with gr.Accordion(I18N("room_vote_setup"), open=True):
            picker = gr.Dropdown(choices=[], value=None, label=I18N("room_vote_from_run"), elem_id="vote-picker")
            vote = [gr.Textbox(label=I18N("room_vote_prompt"), lines=2, elem_id="vote-setup-prompt")]
            with gr.Row():
                for side in (1, 2):
                    with gr.Column():
                        vote.append(gr.Textbox(label=I18N(f"room_side_{side}_label"), max_lines=1,
                                               elem_id=f"vote-label-{side}"))  # fmt: skip
                        vote.append(gr.Textbox(label=I18N(f"room_side_{side}_answer"), lines=3,
                                               elem_id=f"vote-answer-{side}"))  # fmt: skip
            with gr.Row():
                start = gr.Button(I18N("room_vote_start"), variant="primary", elem_id="vote-start")
                close_vote = gr.Button(I18N("room_vote_close"), elem_id="vote-close")
        with gr.Row():
            clear = gr.Button(I18N("room_clear"), size="sm", variant="stop", elem_id="room-clear")
            clear_yes = gr.Button(I18N("room_clear_yes"), size="sm", variant="stop", visible=False,
                                  elem_id="room-clear-yes")  # fmt: skip
            close = gr.Button(I18N("room_close"), size="sm", variant="stop", elem_id="room-close")
            close_yes = gr.Button(I18N("room_close_yes"), size="sm", variant="stop", visible=False,
                                  elem_id="room-close-yes")  # fmt: skip
    timer = gr.Timer(BOARD_EVERY_S, active=False)
    return TeacherPanel(
        panel, banner, link, board, refresh, csv, csv_text, picker, vote, start, close_vote, clear, clear_yes, close,
        close_yes, timer,
    )  # fmt: skip


def room_of(room: Any, role: str) -> tuple[str, str]:
    """(code, key) of the page's room in ``role``; RoomAccessError when the page is in none as that."""
    if not isinstance(room, dict) or room.get("role") != role:
        raise RoomAccessError(Message("room_not_joined" if role == "student" else "room_page_left"))
    return room["code"], room["key"]


class Views:
    """The tab's handlers: each reads the classroom and says what every part of the tab shows."""

    def __init__(self, classroom: Classroom, ui: ClassroomUI) -> None:
        self.classroom = classroom
        self.ui = ui

    def all(self) -> list[Any]:
        """Every component a change of room updates."""
        u, s, t = self.ui, self.ui.student, self.ui.teacher
        return [
            u.room, u.remember, *u.sends, u.entry.row, u.entry.code, s.panel, s.status, s.box, s.prompt, s.a, s.b,
            *s.picks, s.line, s.vote_id, s.timer, t.panel, t.banner, t.link, t.board, t.picker, t.timer,
        ]  # fmt: skip

    # -- what each view shows ----------------------------------------------------------------
    def left(self, code: str = "", forget: str = "") -> dict[Any, Any]:
        """The page out of any room (``forget``: the room whose key this browser drops)."""
        u = self.ui
        remember = json.dumps({"code": forget, "forget": True}) if forget else ""
        return {
            u.room: None, u.remember: remember, **{b: gr.update(visible=False) for b in u.sends},
            u.entry.row: gr.update(visible=True), u.entry.code: code, u.student.panel: gr.update(visible=False),
            u.student.timer: gr.Timer(active=False), u.teacher.panel: gr.update(visible=False),
            u.teacher.timer: gr.Timer(active=False),
        }  # fmt: skip

    def as_teacher(self, code: str, key: str, title: str, page: str, board: Board, lang: str) -> dict[Any, Any]:
        """The teacher's page: the room's banner, the private link, the board, polling on."""
        u, t = self.ui, self.ui.teacher
        link = join_link(page, code)
        private = (link or JOIN_QUERY.format(code=code)) + f"#teacher={key}"
        remember = json.dumps({"code": code, "role": "teacher", "key": key})
        return {
            **self.left(), u.room: {"role": "teacher", "code": code, "key": key}, u.remember: remember,
            u.entry.row: gr.update(visible=False), t.panel: gr.update(visible=True),
            t.banner: room_banner(code, title, page, lang), t.link: private, **self.board_view(board, lang),
            t.timer: gr.Timer(active=True),
        }  # fmt: skip

    def board_view(self, board: Board, lang: str) -> dict[Any, Any]:
        """The board and the vote's run picker (each student's latest runs)."""
        t = self.ui.teacher
        choices = [
            (f"{r.student} · {tr('tab_' + r.kind, lang)} · {excerpt(r.prompt)}", r.post_id)
            for g in board.groups
            for r in g.runs
        ]
        now = int(self.classroom.clock() * 1000)
        return {t.board: board_html(board, lang, now), t.picker: gr.update(choices=choices)}

    def as_student(self, room: StudentRoom, lang: str) -> dict[Any, Any]:
        """The student's page: who they are, the vote in their order, polling on, the Send buttons shown."""
        u = self.ui
        remember = json.dumps({"code": room.code, "role": "student", "key": room.student_key})
        return {
            **self.left(), u.room: {"role": "student", "code": room.code, "key": room.student_key},
            u.remember: remember, **{b: gr.update(visible=True) for b in u.sends},
            u.entry.row: gr.update(visible=False), u.student.panel: gr.update(visible=True),
            u.student.timer: gr.Timer(active=True), **self.student_view(room, lang),
        }  # fmt: skip

    def student_view(self, room: StudentRoom, lang: str) -> dict[Any, Any]:
        """A student's status line and vote (A and B in their order; the buttons while they may vote)."""
        s, vote = self.ui.student, room.vote
        may_vote = vote is not None and vote.open and vote.chosen is None
        return {
            s.status: student_status_html(room, lang), s.box: gr.update(visible=vote is not None),
            s.prompt: vote.prompt if vote else "",
            s.a: vote.a if vote else "", s.b: vote.b if vote else "", s.line: student_vote_html(vote, lang),
            s.vote_id: vote.vote_id if vote else None, **{p: gr.update(interactive=may_vote) for p in s.picks},
        }  # fmt: skip

    # -- handlers --------------------------------------------------------------------------
    def poll(
        self, call: Call, room: Any, role: str, read: Callable[..., Any], show: Callable[[Any, str], dict[Any, Any]],
        timer: gr.Timer,
    ) -> dict[Any, Any]:  # fmt: skip
        """What a page's poll shows: its room read again (``read``, then ``show``) while it is in one as ``role``.

        A database busy for a moment changes nothing (the next tick reads it); a room that
        has closed or expired takes the page back to the entry, and says so.
        """
        if not isinstance(room, dict) or room.get("role") != role:
            return {timer: gr.Timer(active=False)}
        try:
            return show(read(room["code"], room["key"], call.visitor), call.lang)
        except StorageError:
            return {}
        except ClassroomError as exc:
            gr.Warning(toast_text(localize(exc, call.lang)))
            return self.left(room["code"], forget=room["code"])

    def resume_handler(self) -> Any:
        """On load: the room this page's address names, as teacher or student when this browser has its key."""

        @handler()
        def resume_room(call: Call, found: str, page: str) -> dict[Any, Any]:
            try:
                data = json.loads(found) if found else {}
            except ValueError:
                data = {}
            data = data if isinstance(data, dict) else {}
            code, role, key = (str(data.get(k) or "")[:64] for k in ("room", "role", "key"))
            if not code:
                return {}
            try:
                if role == "teacher":
                    board = self.classroom.board(code, key, call.visitor)
                    return self.as_teacher(board.code, key, board.title, page, board, call.lang)
                if role == "student":
                    return self.as_student(self.classroom.student_room(code, key, call.visitor), call.lang)
            except ClassroomError as exc:  # an expired or closed room: say so, and forget its key
                gr.Warning(toast_text(localize(exc, call.lang)))
                return self.left(code, forget=code)
            return {self.ui.entry.code: shown(code) if len(code) == 8 else code}

        return resume_room


def _wire_entry(views: Views) -> None:
    """Join (a student) and Open a classroom (a teacher)."""
    classroom, ui = views.classroom, views.ui

    @handler()
    def join_room(call: Call, code: str, name: str) -> dict[Any, Any]:
        return views.as_student(classroom.join(code, name, call.visitor), call.lang)

    @handler()
    def open_room(call: Call, title: str, page: str) -> dict[Any, Any]:
        opened = classroom.open_room(title, call.visitor)
        board = classroom.board(opened.code, opened.teacher_key, call.visitor)
        return views.as_teacher(opened.code, opened.teacher_key, opened.title, page, board, call.lang)

    remember = {"fn": None, "inputs": ui.remember, "js": REMEMBER_JS, "api_name": False}
    ui.entry.join.click(join_room, inputs=[ui.entry.code, ui.entry.name], outputs=views.all(), api_name=False,
                        **ROOM_EVENTS).success(**remember)  # fmt: skip
    ui.entry.name.submit(join_room, inputs=[ui.entry.code, ui.entry.name], outputs=views.all(), api_name=False,
                         **ROOM_EVENTS).success(**remember)  # fmt: skip
    ui.entry.open.click(open_room, inputs=[ui.entry.title, ui.page], outputs=views.all(), api_name=False,
                        **ROOM_EVENTS).success(**remember)  # fmt: skip


def _wire_student(views: Views) -> None:
    """The student's poll, their ballot, leaving."""
    classroom, ui, s = views.classroom, views.ui, views.ui.student

    @handler()
    def student_poll(call: Call, room: Any) -> dict[Any, Any]:
        return views.poll(call, room, "student", classroom.student_room, views.student_view, s.timer)

    def cast_as(choice: str) -> Any:
        @handler()
        def cast_vote(call: Call, room: Any, vote_id: Any) -> dict[Any, Any]:
            code, key = room_of(room, "student")
            classroom.cast(code, key, vote_id, choice, call.visitor)
            return views.student_view(classroom.student_room(code, key, call.visitor), call.lang)

        cast_vote.__name__ = f"cast_{choice.lower()}"
        return cast_vote

    @handler()
    def leave_room(call: Call, room: Any) -> dict[Any, Any]:
        code = room.get("code", "") if isinstance(room, dict) else ""
        return views.left(shown(code) if code else "", forget=code)

    outputs = views.all()
    s.timer.tick(student_poll, inputs=ui.room, outputs=outputs, api_name=False, show_progress="hidden",
                 trigger_mode="once", **ROOM_EVENTS)  # fmt: skip
    for pick, choice in zip(s.picks, ("A", "B", "tie"), strict=True):
        pick.click(cast_as(choice), inputs=[ui.room, s.vote_id], outputs=outputs, api_name=False, **ROOM_EVENTS)
    s.leave.click(leave_room, inputs=ui.room, outputs=outputs, api_name=False, **ROOM_EVENTS).then(
        None, inputs=ui.remember, js=REMEMBER_JS, api_name=False
    )


def _wire_teacher(views: Views) -> None:
    """The board's refresh and CSV, the vote, clearing and closing the room."""
    classroom, ui, t = views.classroom, views.ui, views.ui.teacher

    @handler()
    def refresh_board(call: Call, room: Any) -> dict[Any, Any]:
        return views.poll(call, room, "teacher", classroom.board, views.board_view, t.timer)

    @handler()
    def export_csv(call: Call, room: Any) -> str:
        code, key = room_of(room, "teacher")
        return classroom.csv(code, key, call.visitor)

    outputs = views.all()
    t.timer.tick(refresh_board, inputs=ui.room, outputs=outputs, api_name=False, show_progress="hidden",
                 trigger_mode="once", **ROOM_EVENTS)  # fmt: skip
    t.refresh.click(refresh_board, inputs=ui.room, outputs=outputs, api_name=False, **ROOM_EVENTS)
    t.csv.click(export_csv, inputs=ui.room, outputs=t.csv_text, api_name=False, **ROOM_EVENTS).success(
        None, inputs=t.csv_text, js=DOWNLOAD_JS, api_name=False
    )
    _wire_vote(views)
    _wire_closing(views)


def _wire_vote(views: Views) -> None:
    """Fill the vote from a posted run, start it, close it."""
    classroom, ui, t = views.classroom, views.ui, views.ui.teacher

    @handler()
    def fill_vote(call: Call, room: Any, post_id: Any) -> list[Any]:
        code, key = room_of(room, "teacher")
        board = classroom.board(code, key, call.visitor)
        run = next((r for g in board.groups for r in g.runs if r.post_id == post_id), None)
        if run is None:
            return [gr.skip()] * 5
        names = ("zero", "few") if run.kind == "lab" else ("base", "adapter")
        sides = [x for n in names for x in (tr(ANSWER_NAMES[n], call.lang), run.answers.get(n, ""))]
        return [run.prompt, *sides]

    @handler()
    def start_vote(
        call: Call, room: Any, prompt: str, label_1: str, answer_1: str, label_2: str, answer_2: str
    ) -> dict[Any, Any]:
        code, key = room_of(room, "teacher")
        classroom.start_vote(code, key, prompt, label_1, answer_1, label_2, answer_2, call.visitor)
        return views.board_view(classroom.board(code, key, call.visitor), call.lang)

    @handler()
    def close_vote(call: Call, room: Any) -> dict[Any, Any]:
        code, key = room_of(room, "teacher")
        classroom.close_vote(code, key, call.visitor)
        return views.board_view(classroom.board(code, key, call.visitor), call.lang)

    outputs = views.all()
    t.picker.input(fill_vote, inputs=[ui.room, t.picker], outputs=t.vote, api_name=False, **ROOM_EVENTS)
    t.start.click(start_vote, inputs=[ui.room, *t.vote], outputs=outputs, api_name=False, **ROOM_EVENTS)
    t.close_vote.click(close_vote, inputs=ui.room, outputs=outputs, api_name=False, **ROOM_EVENTS)


def _wire_closing(views: Views) -> None:
    """Clear the board, or close the room: each asks once more before it deletes."""
    classroom, ui, t = views.classroom, views.ui, views.ui.teacher

    @handler()
    def clear_room(call: Call, room: Any) -> dict[Any, Any]:
        code, key = room_of(room, "teacher")
        classroom.clear(code, key, call.visitor)
        return {**views.board_view(classroom.board(code, key, call.visitor), call.lang), t.clear_yes: gr.update(
            visible=False)}  # fmt: skip

    @handler()
    def close_room(call: Call, room: Any) -> dict[Any, Any]:
        code, key = room_of(room, "teacher")
        classroom.close(code, key, call.visitor)
        gr.Info(toast_text(tr("room_closed", call.lang)))
        return {**views.left(forget=code), t.close_yes: gr.update(visible=False)}

    @handler()
    def ask_again(call: Call) -> dict[str, Any]:
        return gr.update(visible=True)

    t.clear.click(ask_again, inputs=None, outputs=t.clear_yes, api_name=False, **ROOM_EVENTS)
    t.close.click(ask_again, inputs=None, outputs=t.close_yes, api_name=False, **ROOM_EVENTS)
    outputs = [*views.all(), t.clear_yes, t.close_yes]
    t.clear_yes.click(clear_room, inputs=ui.room, outputs=outputs, api_name=False, **ROOM_EVENTS)
    t.close_yes.click(close_room, inputs=ui.room, outputs=outputs, api_name=False, **ROOM_EVENTS).then(
        None, inputs=ui.remember, js=REMEMBER_JS, api_name=False
    )

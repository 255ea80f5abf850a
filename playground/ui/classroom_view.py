"""The classroom as HTML: the room's code and QR code, the teacher's board, a student's vote.

Inert: every text here comes from students or the teacher (names, prompts, answers, titles)
and goes through :func:`html.escape` as element text or as a quoted attribute, the way the
token explorer renders model text (:mod:`playground.ui.explorer`); a translated sentence is
escaped and filled with escaped values (:func:`~playground.ui.inert_html.fill`). A name sits in a ``<bdi>``, so a
right-to-left name cannot reorder the text around it. The QR code is an SVG drawn by segno
from the join link, shown as an ``<img>`` data URI: an image, which runs no script. A board
link is the share link the run was posted with, opened in a new tab (``rel="noopener noreferrer"``).
"""

from __future__ import annotations

import re

import segno

from playground.classroom.board import Board, LessonCount, SetupGroup
from playground.classroom.codes import shown
from playground.classroom.posts import ANSWERS
from playground.classroom.rooms import JOIN_QUERY, StudentRoom
from playground.classroom.votes import StudentVote, TeacherVote
from playground.ui.class_curves import class_curves_html
from playground.ui.i18n import tr
from playground.ui.inert_html import esc, fill, name

PAGE_RE = re.compile(r"^https?://[^\s\"'<>`\\]{1,300}$")  # a page address the QR code may carry
ANSWER_NAMES = {  # the UI's name of each answer of a run
    "zero": "zero_shot", "one": "one_shot", "few": "few_shot", "base": "base_pane", "adapter": "adapter_pane",
}  # fmt: skip


def join_link(page: str, code: str) -> str | None:
    """The full link students open (``page`` + ``?tab=classroom&room=CODE``), or None when ``page`` is not one."""
    return page + JOIN_QUERY.format(code=code) if PAGE_RE.match(page or "") else None


def room_banner(code: str, title: str, page: str, lang: str) -> str:
    """The room's code in large letters, its join link and QR code: what the teacher projects."""
    link = join_link(page, code)
    qr = ""
    if link is not None:
        uri = segno.make(link, error="m").svg_data_uri(scale=5, border=2)
        qr = f'<img class="pg-room-qr" alt="{esc(tr("room_qr", lang))}" src="{esc(uri)}">'
    shown_link = f'<div class="pg-room-link">{esc(link)}</div>' if link else ""
    heading = f'<div class="pg-room-title">{esc(title)}</div>' if title else ""
    return (
        f'<div class="pg-room-banner">{qr}<div>{heading}<div class="pg-room-label">{esc(tr("room_code", lang))}</div>'
        f'<div class="pg-room-code" id="pg-room-code">{esc(shown(code))}</div>{shown_link}</div></div>'
    )


def _lesson(lesson: LessonCount, lang: str) -> str:
    counts = "".join(
        "<li>"
        + fill(
            "room_lesson_given", lang, shots=tr(ANSWER_NAMES[n], lang), given=lesson.given[n], students=lesson.students
        )
        + "</li>"
        for n in ANSWERS["lab"]
    )
    head = f"<b>{esc(lesson.title)}</b>: {esc(lesson.query)} → {esc(lesson.reference)}"
    return f'<div class="pg-lesson">{head}<ul>{counts}</ul></div>'


def _group(group: SetupGroup, lang: str) -> str:
    names = ANSWERS[group.kind]
    setup = " · ".join(f"{esc(k)}: {esc(v)}" for k, v in group.setup.items())
    opens = (
        f'<a class="pg-open-setup" href="{esc(group.link)}" target="_blank" rel="noopener noreferrer">'
        f"{esc(tr('room_open_setup', lang))}</a>"
    )
    count = fill("room_students_count", lang, count=len(group.runs))
    head = f'<div class="pg-group-head"><b>{esc(tr("tab_" + group.kind, lang))}</b> · {count} · {setup} · {opens}</div>'
    with_prompt = group.kind != "lab"  # a lab run's question is in its setup
    columns = ([tr("room_student", lang)] + ([tr("prompt", lang)] if with_prompt else [])
               + [tr(ANSWER_NAMES[n], lang) for n in names])  # fmt: skip
    rows = "".join(
        f"<tr><td>{name(r.student)}</td>"
        + (f"<td>{esc(r.prompt)}</td>" if with_prompt else "")
        + "".join(f'<td class="pg-answer-cell">{esc(r.answers.get(n, ""))}</td>' for n in names)
        + "</tr>"
        for r in group.runs
    )
    header = "".join(f"<th>{esc(c)}</th>" for c in columns)
    return f'<div class="pg-group">{head}<table><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table></div>'


def teacher_vote_html(vote: TeacherVote | None, students: int, lang: str) -> str:
    """The latest vote on the teacher's board: ballots while open, the tally once closed."""
    if vote is None:
        return f'<div class="pg-vote" id="pg-board-vote">{esc(tr("room_no_vote_yet", lang))}</div>'
    sides = "".join(
        f"<li><b>{esc(label)}</b>: {esc(answer)}</li>" for label, answer in zip(vote.labels, vote.answers, strict=True)
    )
    if vote.tally is None:
        state = fill("room_vote_ballots", lang, ballots=vote.ballots, students=students)
    else:
        t = vote.tally
        state = fill(
            "room_vote_tally", lang, label_1=vote.labels[0], votes_1=t.side_1, label_2=vote.labels[1], votes_2=t.side_2,
            ties=t.ties,
        )  # fmt: skip
    return (
        f'<div class="pg-vote" id="pg-board-vote"><div><b>{esc(tr("room_vote_heading", lang))}</b> '
        f'{esc(vote.prompt)}</div><ul>{sides}</ul><div class="pg-vote-state">{state}</div></div>'
    )


def board_html(board: Board, lang: str, now_ms: int) -> str:
    """The teacher's board: students, counts and curves per lesson, the latest vote, the latest runs by setup."""
    minutes = max(0, (board.expires_ms - now_ms) // 60_000)
    head = fill(
        "room_board_head", lang, code=shown(board.code), students=len(board.students), runs=board.posts,
        hours=minutes // 60, minutes=minutes % 60,
    )  # fmt: skip
    names = ", ".join(name(n) for n in board.students) or esc(tr("room_nobody_yet", lang))
    lessons = "".join(_lesson(lesson, lang) for lesson in board.lessons)
    curves = class_curves_html(board.curves, lang)
    groups = "".join(_group(g, lang) for g in board.groups)
    if not groups and not curves:
        groups = f"<p>{esc(tr('room_no_runs_yet', lang))}</p>"
    parts = [
        f'<div class="pg-board-head">{head}</div>',
        f'<div class="pg-students"><b>{esc(tr("room_students", lang))}</b> {names}</div>',
        f"<h4>{esc(tr('room_lessons', lang))}</h4>{lessons}" if lessons else "",
        f"<h4>{esc(tr('room_curves', lang))}</h4>{curves}" if curves else "",
        teacher_vote_html(board.vote, len(board.students), lang),
        f"<h4>{esc(tr('room_latest_runs', lang))}</h4>{groups}" if groups else "",
    ]
    return f'<div class="pg-board" id="pg-board">{"".join(parts)}</div>'


def student_status_html(room: StudentRoom, lang: str) -> str:
    """Who and where the student is, and how many runs they sent."""
    title = f'<div class="pg-room-title">{esc(room.title)}</div>' if room.title else ""
    text = fill("room_joined", lang, name=name(room.name), code=shown(room.code), posts=room.posts)
    return f'<div class="pg-student" id="pg-student-status">{title}{text}</div>'


def student_vote_html(vote: StudentVote | None, lang: str) -> str:
    """The line under a student's vote: none yet, open, voted and waiting, or the result in their order."""
    if vote is None:
        text = fill("room_no_vote_yet", lang)
    elif vote.result is not None:
        r = vote.result
        text = fill(
            "room_vote_result", lang, a_label=r["a"]["label"], a_votes=r["a"]["votes"], b_label=r["b"]["label"],
            b_votes=r["b"]["votes"], ties=r["ties"], chosen=vote.chosen or "-",
        )  # fmt: skip
    elif vote.chosen is not None:
        text = fill("room_vote_cast", lang, choice=vote.chosen)
    else:
        text = fill("room_vote_open", lang)
    return f'<div class="pg-vote-line" id="pg-student-vote">{text}</div>'

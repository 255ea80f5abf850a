"""The classroom's rules, on SQLite and on PostgreSQL: who may read and write what, expiry, bounds, votes.

Each test runs twice (:func:`tests.conftest.classroom_url`): on a SQLite file and on a fresh
database of a real PostgreSQL server started for the session (skipped where Debian's
binaries are absent). Time is a clock the test moves, never a sleep.
"""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from playground.classroom.errors import ClassroomInputError, RoomAccessError, RoomLimitError, VoteError
from playground.classroom.schema import TABLES
from playground.messages import localize
from playground.serving.visitor_keys import Visitor
from tests.classroom.helpers import LESSON, classroom, lab_run_link, style_link

TEACHER = Visitor("teacher-session", "10.0.0.1")


def _post_lab(service, code, key, zero="", one="", few="", **changes):
    answers = {"zero": zero, "one": one, "few": few}
    return service.post(code, key, "lab", lab_run_link(**changes), "", answers)


def test_a_class_posts_runs_and_the_board_groups_them_and_counts_the_lesson(room):
    opened = room.open_room("Prompting, 3rd period", TEACHER)
    code = opened.code
    students = {name: room.join(code.lower(), name, Visitor(f"s-{name}", "10.0.0.9")) for name in ("Ada", "Bo", "Cy")}
    _post_lab(room, code, students["Ada"].student_key, "cheddar", "fromage", "Fromage.")
    _post_lab(room, code, students["Bo"].student_key, "cheese", "cheese", "fromage")
    _post_lab(room, code, students["Cy"].student_key, "cheese", "fromage", "du fromage")
    room.post(code, students["Cy"].student_key, "style", style_link(temperature=0.8, seed=1), "Cette femme", {
        "base": "était assise.", "adapter": "était assise, rêveuse."})  # fmt: skip
    board = room.board(code, opened.teacher_key, TEACHER)
    assert board.students == ("Ada", "Bo", "Cy") and board.posts == 4 and board.title == "Prompting, 3rd period"
    lab_group = next(g for g in board.groups if g.kind == "lab")
    assert [r.student for r in lab_group.runs] == ["Ada", "Bo", "Cy"]  # one setup: the preset as it opens
    assert lab_group.setup["preset"] == LESSON and lab_group.setup["query"] == "cheese"
    [lesson] = board.lessons
    assert (lesson.preset, lesson.students, lesson.reference) == (LESSON, 3, "fromage")
    assert lesson.given == {"zero": 0, "one": 2, "few": 3}  # "few-shot gave the reference for 3 of 3 students"
    assert lesson.by_shots == {0: (0, 3), 1: (2, 3), 3: (3, 3)}  # the shot curve's points, pooled
    api = board.to_dict()
    assert api["lessons"][0]["by_shots"]["3"] == {"given": 3, "answers": 3} and "teacher_key" not in str(api)


def test_the_board_shows_each_students_latest_run_and_a_changed_question_is_not_the_lesson(room):
    opened = room.open_room("", TEACHER)
    ada = room.join(opened.code, "Ada")
    _post_lab(room, opened.code, ada.student_key, "a", "b", "fromage")
    _post_lab(room, opened.code, ada.student_key, "x", "y", "z", query="bread")  # another question: no lesson
    board = room.board(opened.code, opened.teacher_key)
    [group] = [g for g in board.groups if g.kind == "lab"]
    assert group.setup["query"] == "bread" and group.runs[0].answers["few"] == "z"  # the latest run of the kind
    assert [(c.preset, c.given["few"]) for c in board.lessons] == [(LESSON, 1)]  # her run of the lesson still counts


def test_a_student_reads_nothing_of_another_room_nor_the_board(room):
    first, second = room.open_room("A", TEACHER), room.open_room("B", TEACHER)
    ada = room.join(first.code, "Ada")
    for code, key in [
        (first.code, ada.student_key),  # a student key is not the teacher's
        (second.code, first.teacher_key),  # a teacher key opens its own room only
        ("ZZZZ-ZZZZ", first.teacher_key),
    ]:
        with pytest.raises(RoomAccessError):
            room.board(code, key)
    with pytest.raises(RoomAccessError):
        room.student_room(second.code, ada.student_key)  # her key, another room
    with pytest.raises(RoomAccessError):
        _post_lab(room, second.code, ada.student_key, few="x")
    view = room.student_room(first.code, ada.student_key)
    own = {"code", "shown_code", "title", "name", "student_key", "expires_at", "posts", "vote"}
    assert view.to_dict().keys() == own  # her own room, name and runs, nobody else's
    with pytest.raises(ClassroomInputError, match="code: 'not a code!' is not a room code"):
        room.join("not a code!", "Bo")


def test_wrong_codes_and_keys_are_limited_per_visitor(classroom_url, clock):
    service = classroom(classroom_url, clock, max_failed_lookups=3, lookup_window_s=60)
    opened = service.open_room("", TEACHER)
    guesser, other = Visitor("g", "10.0.0.66"), Visitor("o", "10.0.0.67")
    for guess in ("AAAA-AAAA", "BBBB-BBBB", "CCCC-CCCC"):
        with pytest.raises(RoomAccessError):
            service.join(guess, "Eve", guesser)
    with pytest.raises(RoomLimitError) as refused:
        service.join(opened.code, "Eve", guesser)  # the right code, too late
    assert "wait 1 minutes" in str(refused.value) and "attendez 1 minutes" in localize(refused.value, "fr")
    assert service.join(opened.code, "Olga", other).name == "Olga"
    inside = service.join(opened.code, "Ivy", other)
    for _ in range(3):
        with pytest.raises(RoomAccessError):
            service.board(opened.code, inside.student_key, other)  # wrong keys count too
    assert service.student_room(opened.code, inside.student_key, other).name == "Ivy"  # a student in a room goes on
    with pytest.raises(RoomLimitError):
        service.join(opened.code, "Max", other)
    clock.now += 61
    assert service.join(opened.code, "Eve", guesser).name == "Eve"
    service.store.close()


def test_a_blind_vote_hides_the_sides_and_counts_each_student_once(room):
    opened = room.open_room("", TEACHER)
    code, key = opened.code, opened.teacher_key
    students = [room.join(code, f"student {i}") for i in range(40)]
    vote = room.start_vote(code, key, "Continue: Cette femme", "base", "était là.", "adapter", "rêvait, assise.")
    with pytest.raises(VoteError, match="already open"):
        room.start_vote(code, key, "again", "x", "1", "y", "2")
    seen = [room.student_room(code, s.student_key).vote for s in students]
    assert {(v.a, v.b) for v in seen} == {("était là.", "rêvait, assise."), ("rêvait, assise.", "était là.")}
    assert all(v.open and v.result is None and v.chosen is None for v in seen)  # no tally while open
    expected = {"base": 0, "adapter": 0, "tie": 0}
    for i, (student, view) in enumerate(zip(students[:30], seen, strict=False)):
        choice = ("A", "B", "tie")[i % 3]
        after = room.cast(code, student.student_key, vote.vote_id, choice.lower())
        assert after.chosen == choice and after.result is None
        picked = view.a if choice == "A" else view.b if choice == "B" else None
        expected["tie" if picked is None else "base" if picked == "était là." else "adapter"] += 1
        with pytest.raises(VoteError, match="already voted"):
            room.cast(code, student.student_key, vote.vote_id, "B")
    teacher = room.board(code, key).vote
    assert teacher.open and teacher.ballots == 30 and teacher.tally is None
    closed = room.close_vote(code, key)
    assert (closed.tally.side_1, closed.tally.side_2, closed.tally.ties) == tuple(expected.values())
    late = room.student_room(code, students[35].student_key).vote
    with pytest.raises(VoteError, match="closed"):
        room.cast(code, students[35].student_key, vote.vote_id, "A")
    mine = {late.result["a"]["label"]: late.result["a"]["votes"], late.result["b"]["label"]: late.result["b"]["votes"]}
    assert mine == {"base": expected["base"], "adapter": expected["adapter"]} and late.result["ties"] == expected["tie"]
    with pytest.raises(VoteError, match="no vote is open"):
        room.close_vote(code, key)
    assert room.start_vote(code, key, "next", "zero-shot", "a", "few-shot", "b").vote_id != vote.vote_id


def _rows(service) -> dict[str, int]:
    with service.store.transaction() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(getattr(TABLES, name))).scalar_one()
            for name in ("rooms", "members", "posts", "votes", "ballots")
        }


def test_an_expired_room_is_closed_to_all_then_deleted_with_everything_it_held(room, clock):
    opened = room.open_room("", TEACHER)
    ada = room.join(opened.code, "Ada")
    _post_lab(room, opened.code, ada.student_key, few="fromage")
    vote = room.start_vote(opened.code, opened.teacher_key, "q", "a", "1", "b", "2")
    room.cast(opened.code, ada.student_key, vote.vote_id, "A")
    kept = room.open_room("later", TEACHER)
    clock.now += 6 * 3600
    kept_longer = room.open_room("", TEACHER)
    assert _rows(room) == {"rooms": 3, "members": 1, "posts": 1, "votes": 1, "ballots": 1}
    clock.now += 6 * 3600 + 1  # 12 hours and a second after the first two opened
    for call in (lambda: room.board(opened.code, opened.teacher_key), lambda: room.join(kept.code, "Bo"),
                 lambda: room.student_room(opened.code, ada.student_key)):  # fmt: skip
        with pytest.raises(RoomAccessError, match="12 hours"):
            call()
    assert _rows(room) == {"rooms": 1, "members": 0, "posts": 0, "votes": 0, "ballots": 0}  # the sweep ran
    assert room.board(kept_longer.code, kept_longer.teacher_key).students == ()


def test_the_teacher_clears_the_board_or_closes_the_room(room):
    opened = room.open_room("", TEACHER)
    ada = room.join(opened.code, "Ada")
    _post_lab(room, opened.code, ada.student_key, few="fromage")
    room.start_vote(opened.code, opened.teacher_key, "q", "a", "1", "b", "2")
    with pytest.raises(RoomAccessError):
        room.clear(opened.code, ada.student_key)  # a student cannot
    room.clear(opened.code, opened.teacher_key)
    board = room.board(opened.code, opened.teacher_key)
    assert (board.students, board.posts, board.groups, board.vote) == (("Ada",), 0, (), None)
    room.close(opened.code, opened.teacher_key)
    assert _rows(room)["rooms"] == 0 and _rows(room)["members"] == 0
    with pytest.raises(RoomAccessError):
        room.student_room(opened.code, ada.student_key)


def test_inputs_are_bounded_and_named(classroom_url, clock):
    service = classroom(
        classroom_url, clock, max_name_chars=8, max_answer_chars=50, max_link_chars=2000, max_posts_per_minute=2,
        max_posts_per_member=3, max_members_per_room=3, max_open_rooms_per_visitor=2,
    )  # fmt: skip
    opened = service.open_room("", TEACHER)
    code = opened.code
    with pytest.raises(ClassroomInputError, match="name: at most 8 characters, got 9"):
        service.join(code, "x" * 9)
    with pytest.raises(ClassroomInputError, match="name: must not be empty"):
        service.join(code, " \u202e\t ")
    ada = service.join(code, "Ada\u202e\nLi")  # a bidi override and a line break: dropped, collapsed
    assert ada.name == "Ada Li"
    with pytest.raises(ClassroomInputError, match="already someone's name"):
        service.join(code, ada.name.upper())
    key = ada.student_key
    for error, call in [
        ("answers.few: at most 50 characters, got 51", lambda: _post_lab(service, code, key, few="x" * 51)),
        ("answers: every answer is empty", lambda: _post_lab(service, code, key)),
        ("link: at most 2000 characters", lambda: _post_lab(service, code, key, few="x", query="q" * 1900)),
        ("kind: 'generate' is not one of lab, style, instructions",
         lambda: service.post(code, key, "generate", "?tab=generate", "", {})),
        ("link: model: unknown model 'gpt-9'", lambda: service.post(code, key, "lab", "?tab=lab&model=gpt-9", "", {
            "few": "x"})),
        ("link: a link of the 'lab' tab, not of 'style'",
         lambda: service.post(code, key, "style", lab_run_link(), "p", {"base": "x"})),
        ("answers: must be a mapping of base, adapter", lambda: service.post(code, key, "style", style_link(), "p", {
            "zero": "x"})),
    ]:  # fmt: skip
        with pytest.raises(ClassroomInputError, match=error):
            call()
    _post_lab(service, code, key, few="1")
    _post_lab(service, code, key, few="2")
    with pytest.raises(RoomLimitError, match="at most 2 runs a minute"):
        _post_lab(service, code, key, few="3")
    clock.now += 61
    _post_lab(service, code, key, few="3")
    with pytest.raises(RoomLimitError, match="you have sent 3 runs"):
        _post_lab(service, code, key, few="4")
    service.join(code, "Bo")
    service.join(code, "Cy")
    with pytest.raises(RoomLimitError, match="this room is full"):
        service.join(code, "Di")
    service.open_room("", TEACHER)
    with pytest.raises(RoomLimitError, match="already have 2 open classrooms"):
        service.open_room("", TEACHER)
    assert service.open_room("", Visitor("other", "10.0.0.2")).code
    service.store.close()


def test_a_room_holds_a_bounded_number_of_runs_and_bytes(classroom_url, clock):
    service = classroom(classroom_url, clock, max_posts_per_room=3, max_room_bytes=10**9)
    opened = service.open_room("", TEACHER)
    keys = [service.join(opened.code, name).student_key for name in ("Ada", "Bo")]
    for i in range(3):
        _post_lab(service, opened.code, keys[i % 2], few=str(i))
    with pytest.raises(RoomLimitError, match="holds as many runs as it can"):
        _post_lab(service, opened.code, keys[1], few="one too many")
    service.clear(opened.code, opened.teacher_key)
    _post_lab(service, opened.code, keys[1], few="room again")
    service.store.close()
    small = classroom(classroom_url, clock, max_room_bytes=2500)
    opened = small.open_room("", TEACHER)
    key = small.join(opened.code, "Ada").student_key
    _post_lab(small, opened.code, key, few="x" * 500)
    with pytest.raises(RoomLimitError, match="bytes"):
        _post_lab(small, opened.code, key, few="x" * 2000)
    small.store.close()


def test_the_csv_has_every_run_and_no_formula(room):
    opened = room.open_room("", TEACHER)
    ada = room.join(opened.code, '=HYPERLINK("x")')
    _post_lab(room, opened.code, ada.student_key, few="fromage")
    _post_lab(room, opened.code, ada.student_key, zero="-1+1", few="@SUM(A1)")
    rows = list(csv.DictReader(io.StringIO(room.csv(opened.code, opened.teacher_key))))
    assert len(rows) == 2 and rows[0]["answer_few"] == "fromage" and rows[0]["lesson"] == LESSON
    assert rows[1]["answer_zero"] == "'-1+1" and rows[1]["answer_few"] == "'@SUM(A1)"
    assert rows[0]["student"].startswith("'=") and rows[0]["model"] == "gemma-3-270m"
    assert rows[0]["link"].startswith("?tab=lab&")
    with pytest.raises(RoomAccessError):
        room.csv(opened.code, ada.student_key)


def test_references_follow_the_presets_questions(tmp_path):
    from playground.classroom.references import load_references
    from playground.errors import ConfigError
    from tests.classroom.helpers import PRESETS

    references = load_references(PRESETS)
    assert references[LESSON].given_by(" Fromage.\nand more") and not references[LESSON].given_by("fromages")
    assert references["en-fr-sentences"].given_by("« les enfants jouent dans le jardin »")
    moved = tmp_path / "references.yaml"
    moved.write_text("references:\n  en-fr-translation: {query: bread, answers: [pain]}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"references\.en-fr-translation\.query: the preset now asks 'cheese'"):
        load_references(PRESETS, moved)
    moved.write_text("references:\n  no-such-preset: {query: x, answers: [y]}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"references\.no-such-preset: no preset has this id"):
        load_references(PRESETS, moved)

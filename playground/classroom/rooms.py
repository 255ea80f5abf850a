"""The classroom's one entry point: :class:`Classroom` opens rooms, lets students join and post, runs votes.

Every method checks its inputs first (ClassroomInputError naming the field), then the
room's code and key: a teacher's methods need the teacher key, a student's their student
key; a wrong code, a wrong key, an expired or a closed room all get the same
:class:`~playground.classroom.errors.RoomAccessError`, and count against the visitor's wrong
tries (:class:`~playground.classroom.attempts.Attempts`): past ``max_failed_lookups``, that
visitor joins no room for a while (a join needs only a code, the one short secret), while
the students already in a room go on (their keys are 192 bits). A student's key opens their own
room only, and no student method returns another student's runs or a vote's tally before
it closes. Bounds: :class:`~playground.classroom.limits.ClassroomLimits`. Expired rooms are
deleted, with all they hold, at start and then at most every ``sweep_every_s``.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Row

from playground.classroom import board as boards
from playground.classroom import votes
from playground.classroom.attempts import Attempts
from playground.classroom.codes import (
    key_hash,
    new_code,
    new_key,
    read_code,
    same_key,
    shown,
    visitor_hash,
    well_formed_key,
)
from playground.classroom.curves import CurveContent, class_curves
from playground.classroom.errors import ClassroomInputError, RoomAccessError, RoomLimitError, StorageError
from playground.classroom.limits import ClassroomLimits
from playground.classroom.posts import PostContent, bounded_text
from playground.classroom.references import Reference, load_references
from playground.classroom.schema import TABLES, migrate
from playground.classroom.storage import Store
from playground.config_checks import check_integer
from playground.lessons.presets import Preset
from playground.messages import Message
from playground.models.registry import Registry
from playground.serving.visitor_keys import Visitor

log = logging.getLogger(__name__)
T = TABLES
JOIN_QUERY = "?tab=classroom&room={code}"  # what a student's link (and the QR code) adds to the page's address
INVISIBLE = {0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}  # bidi controls: dropped from names


@dataclass(frozen=True)
class OpenedRoom:
    """A room just opened: its code for the board, and the teacher's key (shown once, never kept)."""

    code: str
    title: str
    teacher_key: str
    expires_ms: int

    def to_dict(self) -> dict[str, Any]:
        """For the API."""
        return {
            "code": self.code, "shown_code": shown(self.code), "title": self.title, "teacher_key": self.teacher_key,
            "join_query": JOIN_QUERY.format(code=self.code), "expires_at": boards.iso(self.expires_ms),
        }  # fmt: skip


@dataclass(frozen=True)
class StudentRoom:
    """What a student's page shows: the room, their name and runs, and the latest vote as they see it."""

    code: str
    title: str
    name: str
    student_key: str
    expires_ms: int
    posts: int  # runs this student posted
    vote: votes.StudentVote | None

    def to_dict(self) -> dict[str, Any]:
        """For the API."""
        return {
            "code": self.code, "shown_code": shown(self.code), "title": self.title, "name": self.name,
            "student_key": self.student_key, "expires_at": boards.iso(self.expires_ms), "posts": self.posts,
            "vote": self.vote.to_dict() if self.vote is not None else None,
        }  # fmt: skip


def who(visitor: Visitor | str | None) -> str:
    """The visitor a bound counts: its client address when known, else its session."""
    if isinstance(visitor, Visitor):
        return f"a:{visitor.address}" if visitor.address else f"s:{visitor.session}"
    return f"s:{visitor}" if visitor else "-"


def display_name(value: Any, limit: int) -> str:
    """A student's name as shown: control characters as spaces, spaces collapsed, bidi controls dropped, not blank."""
    text = bounded_text("name", value, limit, required=True)
    kept = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text if ord(c) not in INVISIBLE)
    name = " ".join(kept.split())
    if not name:
        raise ClassroomInputError(Message("empty", field="name"))
    return name


class Classroom:
    """Rooms, runs, boards and votes over one :class:`~playground.classroom.storage.Store` (thread-safe)."""

    def __init__(
        self, store: Store, registry: Registry, presets: Mapping[str, Preset], *,
        limits: ClassroomLimits | None = None, references: Mapping[str, Reference] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:  # fmt: skip
        self.store = store
        self.registry = registry
        self.presets = dict(presets)
        self.limits = limits or ClassroomLimits()
        self.references = dict(load_references(self.presets) if references is None else references)
        self.clock = clock
        self.attempts = Attempts(self.limits.max_failed_lookups, self.limits.lookup_window_s, clock)
        migrate(store)
        with store.transaction() as conn:
            self._secret = conn.execute(select(T.meta.c.value).where(T.meta.c.key == "visitor_secret")).scalar_one()
        self._next_sweep = 0.0
        self._sweep_if_due()

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    # -- expiry ----------------------------------------------------------------------------
    def sweep(self) -> int:
        """Delete the expired rooms and all they hold; how many rooms."""
        with self.store.transaction(write=True) as conn:
            return int(conn.execute(delete(T.rooms).where(T.rooms.c.expires_ms <= self._now_ms())).rowcount or 0)

    def _sweep_if_due(self) -> None:
        if self.clock() < self._next_sweep:
            return
        self._next_sweep = self.clock() + self.limits.sweep_every_s
        try:
            if deleted := self.sweep():
                log.info("deleted %d expired classroom room(s)", deleted)
        except StorageError as exc:  # the next request tries again; expired rooms are unreachable anyway
            log.warning("could not delete expired rooms: %s", exc)
            self._next_sweep = 0.0

    # -- who may do what -------------------------------------------------------------------
    def _room(self, conn: Connection, code: Any, *, lock: bool) -> Row | None:
        query = select(T.rooms).where(T.rooms.c.code == read_code(code), T.rooms.c.expires_ms > self._now_ms())
        return conn.execute(query.with_for_update() if lock else query).first()

    def _denied(self, visitor: Any) -> RoomAccessError:
        self.attempts.failed(who(visitor))
        return RoomAccessError(Message("room_denied", hours=f"{self.limits.room_ttl_s / 3600:g}"))

    def _teacher(self, conn: Connection, code: Any, key: Any, visitor: Any, *, lock: bool = False) -> Row:
        """The room whose teacher key ``key`` is; RoomAccessError otherwise."""
        room = self._room(conn, code, lock=lock)
        key = well_formed_key(key)
        if room is None or key is None or not same_key(key, room.teacher_hash):
            raise self._denied(visitor)
        return room

    def _student(self, conn: Connection, code: Any, key: Any, visitor: Any, *, lock: bool = False) -> tuple[Row, Row]:
        """(room, member) of the student whose key ``key`` is; RoomAccessError otherwise."""
        room = self._room(conn, code, lock=lock)
        key = well_formed_key(key)
        member = None
        if room is not None and key is not None:
            m = T.members
            member = conn.execute(select(m).where(m.c.room_id == room.id, m.c.key_hash == key_hash(key))).first()
        if room is None or member is None:
            raise self._denied(visitor)
        return room, member

    # -- rooms -----------------------------------------------------------------------------
    def open_room(self, title: Any = "", visitor: Visitor | str | None = None) -> OpenedRoom:
        """Open a room for ``visitor``; its code, and the teacher key (shown once)."""
        self._sweep_if_due()
        title = " ".join(bounded_text("title", title, self.limits.max_title_chars).split())
        teacher_key, now = new_key(), self._now_ms()
        owner = visitor_hash(self._secret, who(visitor))
        with self.store.transaction(write=True) as conn:
            open_rooms = select(func.count()).select_from(T.rooms).where(T.rooms.c.expires_ms > now)
            if conn.execute(open_rooms).scalar_one() >= self.limits.max_open_rooms:
                raise RoomLimitError(Message("room_server_full"))
            mine = conn.execute(open_rooms.where(T.rooms.c.owner == owner)).scalar_one()
            if mine >= self.limits.max_open_rooms_per_visitor:
                raise RoomLimitError(Message("room_too_many_rooms", limit=self.limits.max_open_rooms_per_visitor))
            code = new_code()
            while conn.execute(select(T.rooms.c.id).where(T.rooms.c.code == code)).first() is not None:
                code = new_code()  # 30**8 codes: a second draw is already rare
            expires = now + int(self.limits.room_ttl_s * 1000)
            conn.execute(insert(T.rooms).values(
                code=code, teacher_hash=key_hash(teacher_key), owner=owner, title=title, created_ms=now,
                expires_ms=expires, bytes=0,
            ))  # fmt: skip
        return OpenedRoom(code, title, teacher_key, expires)

    def join(self, code: Any, name: Any, visitor: Visitor | str | None = None) -> StudentRoom:
        """Join room ``code`` as ``name`` (unique in the room, any case); the student's key and room."""
        self._sweep_if_due()
        name = display_name(name, self.limits.max_name_chars)
        key = new_key()
        self.attempts.check(who(visitor))  # a code is all a join needs: this bounds guessing one
        with self.store.transaction(write=True) as conn:
            room = self._room(conn, code, lock=True)
            if room is None:
                raise self._denied(visitor)
            m = T.members
            if conn.execute(select(m.c.id).where(m.c.room_id == room.id, m.c.name_key == name.casefold())).first():
                raise ClassroomInputError(Message("room_name_taken", field="name", value=name))
            count = conn.execute(select(func.count()).where(m.c.room_id == room.id)).scalar_one()
            if count >= self.limits.max_members_per_room:
                raise RoomLimitError(Message("room_full_members", limit=self.limits.max_members_per_room))
            conn.execute(insert(m).values(
                room_id=room.id, name=name, name_key=name.casefold(), key_hash=key_hash(key), joined_ms=self._now_ms()
            ))  # fmt: skip
        return StudentRoom(room.code, room.title, name, key, room.expires_ms, 0, None)

    def student_room(self, code: Any, student_key: Any, visitor: Visitor | str | None = None) -> StudentRoom:
        """The room as this student's page shows it (their name and runs, the latest vote in their order)."""
        self._sweep_if_due()
        with self.store.transaction() as conn:
            room, member = self._student(conn, code, student_key, visitor)
            posts = conn.execute(select(func.count()).where(T.posts.c.member_id == member.id)).scalar_one()
            vote = votes.student_view(conn, room.id, member.id)
        return StudentRoom(room.code, room.title, member.name, student_key, room.expires_ms, posts, vote)

    def clear(self, code: Any, teacher_key: Any, visitor: Visitor | str | None = None) -> None:
        """Delete the room's runs and votes; its students stay in it."""
        with self.store.transaction(write=True) as conn:
            room = self._teacher(conn, code, teacher_key, visitor, lock=True)
            conn.execute(delete(T.posts).where(T.posts.c.room_id == room.id))
            conn.execute(delete(T.votes).where(T.votes.c.room_id == room.id))
            conn.execute(update(T.rooms).where(T.rooms.c.id == room.id).values(bytes=0))

    def close(self, code: Any, teacher_key: Any, visitor: Visitor | str | None = None) -> None:
        """Close the room: it is deleted with everything it holds."""
        with self.store.transaction(write=True) as conn:
            room = self._teacher(conn, code, teacher_key, visitor, lock=True)
            conn.execute(delete(T.rooms).where(T.rooms.c.id == room.id))

    # -- runs and the board ----------------------------------------------------------------
    def post(
        self, code: Any, student_key: Any, kind: Any, link: Any, prompt: Any, answers: Any,
        visitor: Visitor | str | None = None,
    ) -> int:  # fmt: skip
        """Keep a student's run (see :class:`~playground.classroom.posts.PostContent`); their runs in the room."""
        content = PostContent.checked(
            kind, link, prompt, answers, registry=self.registry, presets=self.presets, limits=self.limits
        )
        row = {"kind": content.kind, "lesson": content.lesson, "link": content.link, "prompt": content.prompt,
               "answers": content.answers_json()}  # fmt: skip
        return self._keep(code, student_key, visitor, row, content.size())

    def post_curve(
        self, code: Any, student_key: Any, link: Any, metric: Any, tests: Any, points: Any,
        visitor: Visitor | str | None = None,
    ) -> int:  # fmt: skip
        """Keep a student's shot curve (see :class:`~playground.classroom.curves.CurveContent`); their runs in the room.

        It replaces, on the board, their earlier curve of the same chart (lesson or task, and metric).
        """
        content = CurveContent.checked(
            link, metric, tests, points, registry=self.registry, presets=self.presets, limits=self.limits
        )
        row = {"kind": content.kind, "lesson": content.key, "link": content.link, "prompt": content.task,
               "answers": content.payload_json()}  # fmt: skip
        return self._keep(code, student_key, visitor, row, content.size())

    def _keep(self, code: Any, student_key: Any, visitor: Visitor | str | None, row: dict[str, Any], size: int) -> int:
        """Keep a checked post (``row``: kind, lesson, link, prompt, answers) within the bounds; the student's posts."""
        now = self._now_ms()
        with self.store.transaction(write=True) as conn:
            room, member = self._student(conn, code, student_key, visitor, lock=True)
            self._check_room_for(conn, room, member, size, now)
            conn.execute(insert(T.posts).values(room_id=room.id, member_id=member.id, created_ms=now, size=size, **row))
            conn.execute(update(T.rooms).where(T.rooms.c.id == room.id).values(bytes=T.rooms.c.bytes + size))
            return int(conn.execute(select(func.count()).where(T.posts.c.member_id == member.id)).scalar_one())

    def _check_room_for(self, conn: Connection, room: Row, member: Row, size: int, now: int) -> None:
        """RoomLimitError when this run would pass a bound: the student's rate and count, the room's size."""
        p, lim = T.posts, self.limits
        mine = select(func.count()).where(p.c.member_id == member.id)
        if conn.execute(mine.where(p.c.created_ms > now - 60_000)).scalar_one() >= lim.max_posts_per_minute:
            raise RoomLimitError(Message("room_post_rate", limit=lim.max_posts_per_minute))
        if conn.execute(mine).scalar_one() >= lim.max_posts_per_member:
            raise RoomLimitError(Message("room_post_cap", limit=lim.max_posts_per_member))
        in_room = conn.execute(select(func.count()).where(p.c.room_id == room.id)).scalar_one()
        if in_room >= lim.max_posts_per_room or room.bytes + size > lim.max_room_bytes:
            raise RoomLimitError(Message("room_full_posts", runs=lim.max_posts_per_room, bytes=lim.max_room_bytes))

    def board(self, code: Any, teacher_key: Any, visitor: Visitor | str | None = None) -> boards.Board:
        """The teacher's board: students, latest runs by setup, counts and curves per lesson, the latest vote."""
        self._sweep_if_due()
        with self.store.transaction() as conn:
            room = self._teacher(conn, code, teacher_key, visitor)
            m = T.members
            names = conn.execute(select(m.c.name).where(m.c.room_id == room.id).order_by(m.c.id)).scalars().all()
            posts = conn.execute(select(func.count()).where(T.posts.c.room_id == room.id)).scalar_one()
            runs, curve_rows = boards.latest_posts(conn, room.id)
            vote = votes.latest_vote(conn, room.id)
            shown_vote = votes.teacher_view(conn, vote) if vote is not None else None
        lessons = boards.lesson_counts(runs, self.presets, self.references)
        counted = {c.preset: (c.title, c.by_shots) for c in lessons}
        return boards.Board(
            room.code, room.title, room.expires_ms, tuple(names), int(posts), boards.groups(runs), lessons, shown_vote,
            class_curves(curve_rows, counted, self.presets),
        )  # fmt: skip

    def csv(self, code: Any, teacher_key: Any, visitor: Visitor | str | None = None) -> str:
        """Every run of the room as CSV (see :func:`~playground.classroom.board.csv_text`)."""
        with self.store.transaction() as conn:
            room = self._teacher(conn, code, teacher_key, visitor)
            return boards.csv_text(conn, room.id)

    # -- votes -----------------------------------------------------------------------------
    def start_vote(
        self, code: Any, teacher_key: Any, prompt: Any, label_1: Any, answer_1: Any, label_2: Any, answer_2: Any,
        visitor: Visitor | str | None = None,
    ) -> votes.TeacherVote:  # fmt: skip
        """Open a blind vote between two answers (side 1 and side 2, named by their labels)."""
        lim = self.limits
        prompt = bounded_text("prompt", prompt, lim.max_prompt_chars, required=True)
        sides = [
            (bounded_text(f"label_{i}", label, lim.max_label_chars, required=True),
             bounded_text(f"answer_{i}", answer, lim.max_answer_chars, required=True))
            for i, (label, answer) in enumerate(((label_1, answer_1), (label_2, answer_2)), start=1)
        ]  # fmt: skip
        with self.store.transaction(write=True) as conn:
            room = self._teacher(conn, code, teacher_key, visitor, lock=True)
            return votes.start(conn, room.id, prompt, sides, self._now_ms())

    def cast(
        self, code: Any, student_key: Any, vote_id: Any, choice: Any, visitor: Visitor | str | None = None
    ) -> votes.StudentVote:
        """Keep this student's ballot ("A", "B" or "tie", as they see the sides) on the open vote ``vote_id``."""
        vote_id = check_integer("vote_id", vote_id, 1, 2**31 - 1)
        choice = votes.read_choice(choice)
        with self.store.transaction(write=True) as conn:
            room, member = self._student(conn, code, student_key, visitor, lock=True)
            votes.cast(conn, room.id, member.id, vote_id, choice, self._now_ms())
            seen = votes.student_view(conn, room.id, member.id)
        assert seen is not None  # it was just cast on it
        return seen

    def close_vote(self, code: Any, teacher_key: Any, visitor: Visitor | str | None = None) -> votes.TeacherVote:
        """Close the open vote: its tally, and which side was which, are shown from now on."""
        with self.store.transaction(write=True) as conn:
            room = self._teacher(conn, code, teacher_key, visitor, lock=True)
            return votes.close(conn, room.id, self._now_ms())

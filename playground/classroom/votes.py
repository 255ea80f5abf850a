"""Blind A/B votes: the teacher sets a prompt and two answers, each student sees them in their own order.

The teacher names the two sides (side 1 and side 2: "base" and "adapter", "zero-shot" and
"few-shot"); a student sees them as A and B, in an order fixed per student and vote by a
keyed coin (:func:`~playground.classroom.codes.side_flipped`), so about half the class sees
each order and nobody learns which is which from its place. A ballot says A, B or tie and is
kept as the side it stands for; the database takes one ballot per student per vote. While a
vote is open, the teacher's board counts the ballots and no one sees how they split: the
tally, and which side was which, come only when the teacher closes it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection, Row

from playground.classroom.codes import side_flipped
from playground.classroom.errors import ClassroomInputError, VoteError
from playground.classroom.schema import TABLES
from playground.messages import Message

CHOICES = {"a": "A", "b": "B", "tie": "tie"}
T = TABLES


@dataclass(frozen=True)
class Tally:
    """How a closed vote split: ballots for side 1, side 2, and ties."""

    side_1: int
    side_2: int
    ties: int

    @property
    def ballots(self) -> int:
        """Every ballot cast."""
        return self.side_1 + self.side_2 + self.ties


@dataclass(frozen=True)
class TeacherVote:
    """A vote as the teacher's board shows it: the tally only once closed."""

    vote_id: int
    prompt: str
    labels: tuple[str, str]  # side 1's and side 2's names
    answers: tuple[str, str]
    open: bool
    ballots: int  # cast so far
    tally: Tally | None  # None while open

    def to_dict(self) -> dict[str, Any]:
        """For the API."""
        sides = [{"label": lbl, "answer": a} for lbl, a in zip(self.labels, self.answers, strict=True)]
        out: dict[str, Any] = {"vote_id": self.vote_id, "prompt": self.prompt, "sides": sides, "open": self.open}
        out["ballots"] = self.ballots
        if self.tally is not None:
            out["tally"] = {"side_1": self.tally.side_1, "side_2": self.tally.side_2, "ties": self.tally.ties}
        return out


@dataclass(frozen=True)
class StudentVote:
    """A vote as one student sees it: A and B in their own order, the result once closed."""

    vote_id: int
    prompt: str
    a: str  # the answer this student sees as A
    b: str
    open: bool
    chosen: str | None  # "A", "B", "tie" when this student voted
    result: dict[str, Any] | None  # once closed: {"a": {"label", "votes"}, "b": {...}, "ties"}

    def to_dict(self) -> dict[str, Any]:
        """For the API."""
        keys = ("vote_id", "prompt", "a", "b", "open", "chosen", "result")
        return {k: getattr(self, k) for k in keys}


def _open_vote(conn: Connection, room_id: int) -> Row | None:
    return conn.execute(select(T.votes).where(T.votes.c.room_id == room_id, T.votes.c.closed_ms.is_(None))).first()


def _tally(conn: Connection, vote_id: int) -> Tally:
    rows = conn.execute(
        select(T.ballots.c.side, func.count()).where(T.ballots.c.vote_id == vote_id).group_by(T.ballots.c.side)
    ).all()
    counts = {int(side): int(n) for side, n in rows}
    return Tally(counts.get(1, 0), counts.get(2, 0), counts.get(0, 0))


def _ballot(conn: Connection, vote_id: int, member_id: int) -> int | None:
    """The side this student's ballot stands for (0: tie), or None when they have not voted."""
    b = T.ballots
    return conn.execute(select(b.c.side).where(b.c.vote_id == vote_id, b.c.member_id == member_id)).scalar()


def _ballots(conn: Connection, vote_id: int) -> int:
    return int(conn.execute(select(func.count()).where(T.ballots.c.vote_id == vote_id)).scalar() or 0)


def teacher_view(conn: Connection, vote: Row) -> TeacherVote:
    """``vote`` as the teacher sees it."""
    is_open = vote.closed_ms is None
    return TeacherVote(
        vote.id, vote.prompt, (vote.label_1, vote.label_2), (vote.answer_1, vote.answer_2), is_open,
        _ballots(conn, vote.id), None if is_open else _tally(conn, vote.id),
    )  # fmt: skip


def latest_vote(conn: Connection, room_id: int) -> Row | None:
    """The room's latest vote, open or closed."""
    return conn.execute(
        select(T.votes).where(T.votes.c.room_id == room_id).order_by(T.votes.c.id.desc()).limit(1)
    ).first()


def start(conn: Connection, room_id: int, prompt: str, sides: list[tuple[str, str]], now_ms: int) -> TeacherVote:
    """Open a vote in the room (VoteError when one is open already)."""
    if _open_vote(conn, room_id) is not None:
        raise VoteError(Message("room_vote_already_open"))
    (label_1, answer_1), (label_2, answer_2) = sides
    values = {
        "room_id": room_id, "prompt": prompt, "label_1": label_1, "answer_1": answer_1, "label_2": label_2,
        "answer_2": answer_2, "salt": secrets.token_hex(16), "opened_ms": now_ms,
    }  # fmt: skip
    vote_id = conn.execute(insert(T.votes).values(**values)).inserted_primary_key[0]
    return teacher_view(conn, conn.execute(select(T.votes).where(T.votes.c.id == vote_id)).one())


def close(conn: Connection, room_id: int, now_ms: int) -> TeacherVote:
    """Close the room's open vote and tally it (VoteError when none is open)."""
    vote = _open_vote(conn, room_id)
    if vote is None:
        raise VoteError(Message("room_no_open_vote"))
    conn.execute(update(T.votes).where(T.votes.c.id == vote.id).values(closed_ms=now_ms))
    return teacher_view(conn, conn.execute(select(T.votes).where(T.votes.c.id == vote.id)).one())


def student_view(conn: Connection, room_id: int, member_id: int) -> StudentVote | None:
    """The room's latest vote as this student sees it; None when the room has had none."""
    vote = latest_vote(conn, room_id)
    if vote is None:
        return None
    flipped = side_flipped(vote.salt, member_id)
    sides = [(vote.label_1, vote.answer_1), (vote.label_2, vote.answer_2)]
    seen = sides[::-1] if flipped else sides  # seen[0] is A
    ballot = _ballot(conn, vote.id, member_id)
    chosen = None if ballot is None else "tie" if ballot == 0 else ("A" if (ballot == 2) == flipped else "B")
    result = None
    if vote.closed_ms is not None:
        tally = _tally(conn, vote.id)
        votes = [tally.side_2, tally.side_1] if flipped else [tally.side_1, tally.side_2]
        result = {
            "a": {"label": seen[0][0], "votes": votes[0]}, "b": {"label": seen[1][0], "votes": votes[1]},
            "ties": tally.ties,
        }  # fmt: skip
    return StudentVote(vote.id, vote.prompt, seen[0][1], seen[1][1], vote.closed_ms is None, chosen, result)


def read_choice(value: Any) -> str:
    """A ballot's choice: "A", "B" or "tie" (any case); ClassroomInputError otherwise."""
    choice = CHOICES.get(value.strip().lower()) if isinstance(value, str) else None
    if choice is None:
        raise ClassroomInputError(Message("room_bad_choice", field="choice", value=value))
    return choice


def cast(conn: Connection, room_id: int, member_id: int, vote_id: Any, choice: str, now_ms: int) -> None:
    """Keep this student's ballot on the open vote ``vote_id`` (VoteError: not open, or voted already)."""
    vote = _open_vote(conn, room_id)
    if vote is None or vote.id != vote_id:
        raise VoteError(Message("room_vote_not_open", field="vote_id"))
    if _ballot(conn, vote.id, member_id) is not None:
        raise VoteError(Message("room_already_voted"))
    flipped = side_flipped(vote.salt, member_id)
    side = 0 if choice == "tie" else 1 + ((choice == "B") != flipped)
    conn.execute(insert(T.ballots).values(vote_id=vote.id, member_id=member_id, side=side, cast_ms=now_ms))

"""The classroom's tables and the migrations that make them, version by version.

A database records the versions applied in ``classroom_schema``. :func:`migrate` applies
the missing ones in order, in one transaction (on PostgreSQL, DDL is transactional too, and
an advisory lock keeps two starting servers from migrating at once; on SQLite the write
lock does): a failed migration leaves the database as it was. A database whose version is
newer than this code's refuses to open instead of being misread.

:func:`tables_v1` defines version 1; :data:`TABLES` are the current tables that the queries
use (version 1's). A migration that changes a table adds its own step to :data:`MIGRATIONS`
(and the tables it leaves become :data:`TABLES`); the steps before it stay as they are.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection

from playground.classroom.storage import Store
from playground.errors import ConfigError
from playground.messages import Message

PREFIX = "classroom_"  # every table's name starts so: a shared PostgreSQL database keeps them apart
ADVISORY_LOCK = 0x706C6179  # pg_advisory_xact_lock key of migrations ("play")


@dataclass(frozen=True)
class Tables:
    """The tables the queries use."""

    meta: Table  # key -> value: the secret that keys visitors' hashes
    rooms: Table
    members: Table  # students who joined a room
    posts: Table  # runs students sent
    votes: Table
    ballots: Table  # one per student per vote


def _cascade(table: str) -> ForeignKey:
    return ForeignKey(f"{PREFIX}{table}.id", ondelete="CASCADE")


def tables_v1(metadata: MetaData) -> Tables:
    """Version 1's tables, defined on ``metadata``."""
    meta, rooms, members, posts = _rooms_v1(metadata)
    votes, ballots = _votes_v1(metadata)
    return Tables(meta, rooms, members, posts, votes, ballots)


def _rooms_v1(metadata: MetaData) -> tuple[Table, Table, Table, Table]:
    """Version 1's meta, rooms, members and posts."""
    meta = Table(
        f"{PREFIX}meta", metadata, Column("key", String(32), primary_key=True), Column("value", Text, nullable=False)
    )
    rooms = Table(
        f"{PREFIX}rooms",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("code", String(16), nullable=False, unique=True),
        Column("teacher_hash", String(64), nullable=False),  # sha256 of the teacher key: the key is never kept
        Column("owner", String(64), nullable=False, index=True),  # keyed hash of the opener's address
        Column("title", Text, nullable=False),
        Column("created_ms", BigInteger, nullable=False),
        Column("expires_ms", BigInteger, nullable=False, index=True),
        Column("bytes", BigInteger, nullable=False),  # UTF-8 bytes of its posts
    )
    members = Table(
        f"{PREFIX}members",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("room_id", Integer, _cascade("rooms"), nullable=False),
        Column("name", Text, nullable=False),
        Column("name_key", Text, nullable=False),  # the name case-folded: two students never share one
        Column("key_hash", String(64), nullable=False, unique=True),  # sha256 of the student key
        Column("joined_ms", BigInteger, nullable=False),
        UniqueConstraint("room_id", "name_key"),
    )
    posts = Table(
        f"{PREFIX}posts",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("room_id", Integer, _cascade("rooms"), nullable=False),
        Column("member_id", Integer, _cascade("members"), nullable=False),
        Column("kind", String(16), nullable=False),  # lab, style, instructions
        Column("lesson", String(64)),  # the lab preset whose question it answers, else NULL
        Column("link", Text, nullable=False),  # the setup, as its share link carries it
        Column("prompt", Text, nullable=False),
        Column("answers", Text, nullable=False),  # JSON: {"zero": ..., "one": ..., "few": ...} or base/adapter
        Column("created_ms", BigInteger, nullable=False),
        Column("size", Integer, nullable=False),
        Index(f"{PREFIX}posts_room", "room_id", "member_id", "kind"),
        Index(f"{PREFIX}posts_member_time", "member_id", "created_ms"),
    )
    return meta, rooms, members, posts


def _votes_v1(metadata: MetaData) -> tuple[Table, Table]:
    """Version 1's votes and ballots."""
    votes = Table(
        f"{PREFIX}votes",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("room_id", Integer, _cascade("rooms"), nullable=False),
        Column("prompt", Text, nullable=False),
        Column("label_1", Text, nullable=False),
        Column("answer_1", Text, nullable=False),
        Column("label_2", Text, nullable=False),
        Column("answer_2", Text, nullable=False),
        Column("salt", String(64), nullable=False),  # keys each student's order of the two sides
        Column("opened_ms", BigInteger, nullable=False),
        Column("closed_ms", BigInteger),  # NULL while open
    )
    Index(  # at most one open vote per room
        f"{PREFIX}votes_open",
        votes.c.room_id,
        unique=True,
        sqlite_where=votes.c.closed_ms.is_(None),
        postgresql_where=votes.c.closed_ms.is_(None),
    )
    ballots = Table(
        f"{PREFIX}ballots",
        metadata,
        Column("vote_id", Integer, _cascade("votes"), nullable=False),
        Column("member_id", Integer, _cascade("members"), nullable=False),
        Column("side", SmallInteger, nullable=False),  # 1 or 2 (the teacher's sides), 0 for a tie
        Column("cast_ms", BigInteger, nullable=False),
        PrimaryKeyConstraint("vote_id", "member_id"),  # one ballot per student per vote
    )
    return votes, ballots


def _v1(conn: Connection) -> None:
    metadata = MetaData()
    tables = tables_v1(metadata)
    metadata.create_all(conn)
    conn.execute(insert(tables.meta).values(key="visitor_secret", value=secrets.token_hex(32)))


@dataclass(frozen=True)
class Migration:
    """One step of the schema."""

    version: int
    description: str
    apply: Callable[[Connection], None]


MIGRATIONS: tuple[Migration, ...] = (Migration(1, "rooms, members, posts, votes and ballots", _v1),)
LATEST = MIGRATIONS[-1].version
TABLES = tables_v1(MetaData())
_VERSIONS = MetaData()
VERSIONS = Table(
    f"{PREFIX}schema",
    _VERSIONS,
    Column("version", Integer, primary_key=True),
    Column("description", Text, nullable=False),
    Column("applied_ms", BigInteger, nullable=False),
)


def _current(conn: Connection) -> int:
    return int(conn.execute(select(VERSIONS.c.version).order_by(VERSIONS.c.version.desc())).scalar() or 0)


def schema_version(store: Store) -> int:
    """The version the database is at (0 when it has no classroom tables yet)."""
    with store.transaction() as conn:
        return _current(conn) if store.engine.dialect.has_table(conn, VERSIONS.name) else 0


def migrate(store: Store) -> list[int]:
    """Apply the migrations the database lacks; the versions applied (none when it is up to date)."""
    applied: list[int] = []
    with store.transaction(write=True) as conn:
        if store.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
        VERSIONS.create(conn, checkfirst=True)
        current = _current(conn)
        if current > LATEST:
            raise ConfigError(Message("room_storage_newer", version=current, latest=LATEST))
        for step in MIGRATIONS:
            if step.version > current:
                step.apply(conn)
                row = {"version": step.version, "description": step.description, "applied_ms": int(time.time() * 1000)}
                conn.execute(insert(VERSIONS).values(**row))
                applied.append(step.version)
    return applied

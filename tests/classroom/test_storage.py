"""The classroom's database: where it is, its migrations, WAL, a full disk, a locked database, 30 students at once.

A full disk is SQLite's own ``SQLITE_FULL`` (the database given a page limit, the same
error a full disk gives); a locked database is another connection holding the write lock
(SQLite) or a table lock (PostgreSQL) past the store's busy timeout. In each case the
request gets a clear message, and every run posted before is still there afterwards,
read back through a new connection pool.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import event, func, insert, select

from playground.classroom.errors import StorageError
from playground.classroom.rooms import Classroom
from playground.classroom.schema import LATEST, TABLES, VERSIONS, migrate, schema_version
from playground.classroom.storage import Store, database_url, default_sqlite_path, shown_url
from playground.errors import ConfigError
from playground.messages import localize
from playground.serving.visitor_keys import Visitor
from tests.classroom.helpers import PRESETS, REGISTRY, Clock, at_once, classroom, lab_run_link


def test_the_database_is_found_from_the_environment(tmp_path: Path):
    data = tmp_path / "data"
    assert database_url({"PLAYGROUND_CLASSROOM_URL": "postgres://u:secret@db:5432/class"}) == (
        "postgresql+psycopg://u:secret@db:5432/class"
    )
    assert "secret" not in shown_url("postgresql+psycopg://u:secret@db:5432/class")
    assert database_url({"PLAYGROUND_CLASSROOM_DB": str(tmp_path / "x.sqlite3")}) == f"sqlite:///{tmp_path}/x.sqlite3"
    cache = {"PLAYGROUND_CACHE": str(tmp_path / "cache")}
    assert default_sqlite_path(cache, data) == tmp_path / "cache" / "classroom.sqlite3"  # no /data: the cache
    assert default_sqlite_path({}, data) == Path(".playground") / "classroom.sqlite3"
    data.mkdir()
    assert default_sqlite_path(cache, data) == data / "playground" / "classroom.sqlite3"  # persistent storage first


def test_migrations_run_once_and_a_newer_database_is_refused(classroom_url):
    store = Store(classroom_url)
    assert schema_version(store) == 0
    assert migrate(store) == list(range(1, LATEST + 1))
    assert migrate(store) == [] and schema_version(store) == LATEST
    with store.transaction(write=True) as conn:
        conn.execute(insert(VERSIONS).values(version=LATEST + 1, description="from the future", applied_ms=0))
    with pytest.raises(ConfigError, match=f"schema version {LATEST + 1}, newer than this app's"):
        migrate(store)
    store.close()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    migrate(store)
    assert store.journal_mode() == "wal"
    with store.transaction() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()


def _post(service: Classroom, code: str, key: str, text: str) -> None:
    service.post(code, key, "lab", lab_run_link(), "", {"few": text})


def _answers(url: str, code: str, teacher_key: str) -> list[str]:
    """Every run's few-shot answer, read through a new pool (what the database really kept)."""
    fresh = classroom(url, Clock())
    rows = fresh.csv(code, teacher_key).splitlines()[1:]
    fresh.store.close()
    return rows


def test_a_full_disk_gives_a_clear_message_and_loses_nothing(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'full.sqlite3'}"
    service = classroom(url, Clock(), max_posts_per_minute=10_000, max_posts_per_member=10_000)
    opened = service.open_room("", "teacher")
    key = service.join(opened.code, "Ada").student_key
    with service.store.transaction() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
    service.store.engine.dispose()
    event.listen(service.store.engine, "connect", lambda dbapi, _: dbapi.execute(f"PRAGMA max_page_count={pages + 4}"))
    kept = []
    with pytest.raises(StorageError) as full:
        for i in range(1000):
            _post(service, opened.code, key, f"answer {i} " + "x" * 2000)
            kept.append(i)
    assert "database is full" in str(full.value) and "est pleine" in localize(full.value, "fr")
    assert kept and len(_answers(url, opened.code, opened.teacher_key)) == len(kept)
    service.store.close()


def test_a_locked_sqlite_database_gives_a_clear_message_and_loses_nothing(tmp_path: Path):
    path = tmp_path / "locked.sqlite3"
    url = f"sqlite:///{path}"
    service = classroom(url, Clock())
    opened = service.open_room("", "teacher")
    key = service.join(opened.code, "Ada").student_key
    _post(service, opened.code, key, "before")
    slow = Classroom(Store(url, busy_timeout_s=0.2), REGISTRY, PRESETS, clock=Clock())
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another writer holds the database
    with pytest.raises(StorageError, match="busy; try again"):
        _post(slow, opened.code, key, "while locked")
    other.execute("ROLLBACK")
    other.close()
    _post(slow, opened.code, key, "after")
    assert len(_answers(url, opened.code, opened.teacher_key)) == 2
    slow.store.close()
    service.store.close()


def test_a_locked_postgresql_table_gives_a_clear_message_and_loses_nothing(postgres_url):
    import psycopg

    service = classroom(postgres_url, Clock())
    opened = service.open_room("", "teacher")
    key = service.join(opened.code, "Ada").student_key
    _post(service, opened.code, key, "before")
    slow = Classroom(Store(postgres_url, busy_timeout_s=0.3), REGISTRY, PRESETS, clock=Clock())
    with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://")) as other:
        other.execute(f"LOCK TABLE {TABLES.rooms.name} IN ACCESS EXCLUSIVE MODE")
        with pytest.raises(StorageError, match="busy; try again"):
            _post(slow, opened.code, key, "while locked")
        other.rollback()
    _post(slow, opened.code, key, "after")
    assert len(_answers(postgres_url, opened.code, opened.teacher_key)) == 2
    slow.store.close()
    service.store.close()


def test_an_unreachable_server_gives_a_clear_message():
    from tests.conftest import _free_port

    store = Store(f"postgresql+psycopg://nobody@127.0.0.1:{_free_port()}/none", busy_timeout_s=1)
    with pytest.raises(StorageError, match="cannot be reached") as caught:
        migrate(store)
    assert "injoignable" in localize(caught.value, "fr")


STUDENTS = 30


def test_thirty_students_post_and_vote_at_once_and_nothing_is_lost(classroom_url):
    service = classroom(classroom_url, Clock(), max_posts_per_minute=100)
    opened = service.open_room("", "teacher")
    code, teacher = opened.code, opened.teacher_key
    vote = service.start_vote(code, teacher, "Which is better?", "zero-shot", "cheese", "few-shot", "fromage")

    def student(i: int) -> None:
        key = service.join(code, f"student {i:02d}", Visitor(f"s{i}", "10.0.0.5")).student_key
        for n in range(3):
            _post(service, code, key, f"{i}-{n}")
        service.cast(code, key, vote.vote_id, ("A", "B", "tie")[i % 3])

    failures = at_once(STUDENTS, student)
    assert not failures, failures
    closed = service.close_vote(code, teacher)
    assert closed.tally.ballots == STUDENTS and closed.tally.ties == STUDENTS // 3
    board = service.board(code, teacher)
    assert len(board.students) == STUDENTS and board.posts == 3 * STUDENTS
    answers = sorted(row["answer_few"] for row in csv.DictReader(io.StringIO(service.csv(code, teacher))))
    assert answers == sorted(f"{i}-{n}" for i in range(STUDENTS) for n in range(3))
    with service.store.transaction() as conn:
        room_bytes = conn.execute(select(TABLES.rooms.c.bytes)).scalar_one()
        sizes = conn.execute(select(func.sum(TABLES.posts.c.size))).scalar_one()
    assert room_bytes == sizes  # every post counted once in the room's size
    service.store.close()

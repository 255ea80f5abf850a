"""The classroom's database: one file of SQLite by default, PostgreSQL by URL, through SQLAlchemy.

Where it is (:func:`database_url`):

- ``PLAYGROUND_CLASSROOM_URL``: a database URL (``postgresql://user:password@host/db``, a
  secret: set it as a Space secret of that name); ``postgres://`` and ``postgresql://`` are
  read with psycopg 3;
- else ``PLAYGROUND_CLASSROOM_DB``: the path of a SQLite file;
- else ``classroom.sqlite3`` under ``/data/playground`` when ``/data`` is writable (a Space's
  persistent storage), else under ``$PLAYGROUND_CACHE``, else under ``./.playground``.

SQLite runs in WAL mode (readers never wait for the writer), ``synchronous=FULL`` (a
committed run survives a power cut) and with foreign keys on (deleting a room deletes
what it holds). A write transaction starts with ``BEGIN IMMEDIATE``, so two writers never
deadlock upgrading a read lock; a reader starts a plain ``BEGIN``. On PostgreSQL, writes to
a room lock its row first (``SELECT ... FOR UPDATE``), which orders them.

A database that cannot take a request raises :class:`~playground.classroom.errors.StorageError`
with a clear message (:func:`storage_error`): full (``SQLITE_FULL``, PostgreSQL's
``disk_full``), busy (locked past ``busy_timeout_s``), or unreachable. The transaction is
rolled back, so nothing already committed is lost and nothing half-written is kept.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from playground.classroom.errors import StorageError
from playground.messages import Message

log = logging.getLogger(__name__)

URL_ENV = "PLAYGROUND_CLASSROOM_URL"  # a database URL (a secret: it may hold a password)
PATH_ENV = "PLAYGROUND_CLASSROOM_DB"  # a SQLite file
DATA_DIR = Path("/data")  # a Space's persistent storage, when it has some
FILE_NAME = "classroom.sqlite3"
WRITE = "classroom_write"  # the execution option that makes a SQLite transaction BEGIN IMMEDIATE

# SQLite's primary result codes (https://sqlite.org/rescode.html) and PostgreSQL's SQLSTATEs
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_FULL = 5, 6, 13
PG_FULL = ("53100",)  # disk_full
PG_BUSY = ("55P03", "57014", "40001", "40P01")  # lock_not_available, query_canceled (timeout), serialization, deadlock


def default_sqlite_path(env: Mapping[str, str], data_dir: Path = DATA_DIR) -> Path:
    """Where the SQLite file goes when no path is given: persistent storage, else the cache, else ./.playground."""
    if data_dir.is_dir() and os.access(data_dir, os.W_OK):
        return data_dir / "playground" / FILE_NAME
    if env.get("PLAYGROUND_CACHE"):
        return Path(env["PLAYGROUND_CACHE"]) / FILE_NAME
    return Path(".playground") / FILE_NAME


def database_url(env: Mapping[str, str] | None = None, data_dir: Path = DATA_DIR) -> str:
    """The classroom database's URL, from the environment (see the module's docstring)."""
    env = os.environ if env is None else env
    url = (env.get(URL_ENV) or "").strip()
    if url:
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url
    path = Path(env.get(PATH_ENV) or default_sqlite_path(env, data_dir))
    return f"sqlite:///{path.expanduser().resolve()}"


def shown_url(url: str) -> str:
    """``url`` with its password hidden, for logs and messages."""
    return make_url(url).render_as_string(hide_password=True)


def storage_error(exc: BaseException) -> StorageError | None:
    """The StorageError a database error stands for (full, busy, unreachable), or None for a bug."""
    orig = getattr(exc, "orig", None) or exc
    code = getattr(orig, "sqlite_errorcode", None)
    state = getattr(orig, "sqlstate", None)
    if isinstance(orig, OSError) and orig.errno == errno.ENOSPC:
        return StorageError(Message("room_storage_full"))
    if code is not None:
        primary = code & 0xFF
        if primary == SQLITE_FULL:
            return StorageError(Message("room_storage_full"))
        if primary in (SQLITE_BUSY, SQLITE_LOCKED):
            return StorageError(Message("room_storage_busy"))
    if isinstance(state, str):
        if state in PG_FULL:
            return StorageError(Message("room_storage_full"))
        if state in PG_BUSY:
            return StorageError(Message("room_storage_busy"))
    if isinstance(exc, IntegrityError):  # a race past the checks: the other request won, this one may retry
        return StorageError(Message("room_storage_busy"))
    if isinstance(exc, OperationalError) or isinstance(orig, OSError):
        return StorageError(Message("room_storage_unavailable"))
    return None


class Store:
    """A connection pool to the classroom's database and its transactions (see the module's docstring)."""

    def __init__(self, url: str, *, busy_timeout_s: float = 5.0) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        ms = round(busy_timeout_s * 1000)
        if self.dialect == "sqlite":
            self.engine = self._sqlite_engine(parsed, busy_timeout_s)
        else:
            connect: dict[str, Any] = {}
            if self.dialect == "postgresql":  # a lock waits busy_timeout_s at most, a statement ten times that
                options = f"-c lock_timeout={ms} -c statement_timeout={10 * ms}"
                connect = {"connect_timeout": max(1, round(busy_timeout_s)), "options": options}
            self.engine = create_engine(parsed, pool_pre_ping=True, connect_args=connect)
        log.info("classroom database: %s", shown_url(url))

    @staticmethod
    def _sqlite_engine(parsed: Any, busy_timeout_s: float) -> Engine:
        path = Path(parsed.database or "")
        if not path.name or str(path) == ":memory:":
            raise StorageError(Message("room_storage_unavailable"))  # one file, shared by every connection
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise storage_error(exc) or StorageError(Message("room_storage_unavailable")) from exc
        engine = create_engine(parsed, connect_args={"timeout": busy_timeout_s}, pool_size=8, max_overflow=8)

        @event.listens_for(engine, "connect")
        def prepare(dbapi: Any, record: Any) -> None:
            dbapi.isolation_level = None  # SQLAlchemy's begin event says BEGIN, not sqlite3
            cursor = dbapi.cursor()
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")

        return engine

    @contextmanager
    def transaction(self, write: bool = False) -> Iterator[Connection]:
        """A connection in a transaction, committed when the block ends, rolled back if it raises.

        ``write``: the block writes (SQLite takes the write lock at once). A database error
        that says full, busy or unreachable becomes a StorageError.
        """
        try:
            with self.engine.connect() as conn:
                if write:
                    conn.execution_options(**{WRITE: True})
                with conn.begin():
                    yield conn
        except DBAPIError as exc:
            error = storage_error(exc)
            if error is None:
                raise
            log.warning("classroom database: %s (%s)", error, type(exc.orig).__name__)
            raise error from exc

    def journal_mode(self) -> str | None:
        """SQLite's journal mode ("wal"); None on another database."""
        if self.dialect != "sqlite":
            return None
        with self.transaction() as conn:
            return str(conn.exec_driver_sql("PRAGMA journal_mode").scalar())

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

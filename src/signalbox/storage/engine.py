"""The database engine, built once from ``Settings.database_url``.

SQLite (the default, one file): WAL journal, ``synchronous=FULL`` (every commit syncs the WAL
to disk before it is acknowledged, so acknowledged holds, approvals and state writes survive a
power loss; the ``sqlite_synchronous`` setting can trade that for speed), incremental
auto-vacuum (space freed by deleted state segments can be given back, see
``give_space_back``), foreign keys on, a busy timeout, and every write
transaction starts with ``BEGIN IMMEDIATE`` (SQLAlchemy's documented pysqlite recipe: turn
off the driver's own BEGIN and emit ours in the ``begin`` event), so read-decide-write is
serialised between threads and processes. Read-only units of work start a deferred ``BEGIN``.

PostgreSQL (``postgresql+psycopg://...``, psycopg 3): READ COMMITTED plus a row lock on the
environment (``SELECT ... FOR UPDATE``, see ``uow.UnitOfWork.lock_environment``).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from signalbox.core.errors import ConfigError

__all__ = [
    "READ_ONLY",
    "SQLITE_SYNCHRONOUS",
    "build_engine",
    "convert_to_incremental_vacuum",
    "give_space_back",
    "is_sqlite",
    "kept_on",
    "sqlite_pragma",
]

T = TypeVar("T")

READ_ONLY = "signalbox_read_only"
"""Execution option: a unit of work that only reads (SQLite: deferred BEGIN)."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_PAGE_SIZE = 65_536
"""Page size of a new SQLite file. Terraform states are stored as 1 MiB segments: with 64 KiB
pages a 50 MB state is written in under half the time it takes with the 4 KiB default, for
about 0.2 ms more per small transaction (measured in bench/tfstate.py and bench/server.py).
SQLite applies it only while the file is empty; an existing database keeps its page size."""

SQLITE_SYNCHRONOUS = ("full", "normal")
"""The values of the ``sqlite_synchronous`` setting. ``full`` (the default): each commit
syncs the WAL before it returns, so whatever the server acknowledged survives a power loss.
``normal``: the WAL is synced only at checkpoints; safe against a crash of the server
process, not of the machine (the last commits before a power loss can be lost). The cost of
``full`` is measured in bench/server.py (``--synchronous normal,full``)."""

POOL_SIZE = 40
"""Connections each engine keeps open: as many as the server's worker threads (anyio's
default limit, 40), which are the ones that use them. With fewer, a busy server opened an
overflow connection for a request and closed it after (a new PostgreSQL backend each time:
a third of a hold request's CPU with 32 clients; the PRAGMAs of a new SQLite connection)."""

VACUUM_STEP_PAGES = 256
"""Free pages given back to the file system per transaction by ``give_space_back`` (16 MiB
with 64 KiB pages): the write lock is held for one step at a time, not for the whole file."""


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def build_engine(
    database_url: str, *, sqlite_synchronous: str = "full", **engine_options: Any
) -> Engine:
    """Create the engine for ``database_url``; a URL we cannot use is a ConfigError.
    ``sqlite_synchronous`` (SQLite only): one of ``SQLITE_SYNCHRONOUS``."""
    try:
        url = make_url(database_url)
    except Exception:
        raise ConfigError(
            f"{database_url!r} is not a database URL.",
            hint="Use sqlite:///signalbox.db or postgresql+psycopg://user@host/db.",
        ) from None
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(database_url, _synchronous(sqlite_synchronous), **engine_options)
    if url.get_backend_name() == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        options = {
            "pool_size": POOL_SIZE,
            "max_overflow": 20,
            "pool_pre_ping": True,
            **engine_options,
        }
        return create_engine(url, **options)
    raise ConfigError(
        f"signalbox cannot use the database {url.get_backend_name()!r}.",
        hint="Use SQLite (sqlite:///signalbox.db) or PostgreSQL (postgresql+psycopg://...).",
    )


def _synchronous(value: str) -> str:
    word = value.strip().lower()
    if word not in SQLITE_SYNCHRONOUS:
        raise ConfigError(
            f"sqlite_synchronous must be full or normal, not {value!r}.",
            hint="Set sqlite_synchronous to full (survives power loss) or normal (faster).",
        )
    return word.upper()


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL (once per file: the mode is kept in it). Several connections
    opening a new file at once (servers starting together) all try to switch it, and SQLite
    answers "database is locked" at once to all but one, without waiting for the busy
    timeout: ask again until the switch is done or the busy timeout has passed."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)  # another connection is switching the file right now


def _sqlite_engine(database_url: str, synchronous: str, **engine_options: Any) -> Engine:
    options = {
        "connect_args": {"check_same_thread": False},
        "pool_size": POOL_SIZE,
        "max_overflow": 20,
        **engine_options,
    }
    engine = create_engine(database_url, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop pysqlite from emitting its own BEGIN; ours comes in the "begin" event.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        # Both apply only while the file is empty (before the first table): see module doc.
        # Setting auto_vacuum on a file in use would wait for its write lock: only when new.
        cursor.execute(f"PRAGMA page_size = {SQLITE_PAGE_SIZE}")
        if cursor.execute("PRAGMA page_count").fetchone()[0] == 0:
            cursor.execute("PRAGMA auto_vacuum = INCREMENTAL")
        _use_wal(cursor)
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def sqlite_pragma(engine: Engine, name: str) -> Any:
    """The value of ``PRAGMA name`` on one of ``engine``'s SQLite connections."""
    connection = engine.raw_connection()
    try:
        return connection.cursor().execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        connection.close()


def give_space_back(engine: Engine) -> int:
    """SQLite: return the file's free pages to the file system (``PRAGMA incremental_vacuum``,
    ``VACUUM_STEP_PAGES`` per transaction so other writers get their turn), then checkpoint
    the WAL so the file shrinks now; returns the pages given back. Does nothing on another
    database (PostgreSQL's autovacuum reuses the space) or on a file made before incremental
    auto-vacuum (``convert_to_incremental_vacuum`` converts it)."""
    if not is_sqlite(engine):
        return 0
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        if cursor.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:  # 2: INCREMENTAL
            return 0
        given = 0
        while (free := cursor.execute("PRAGMA freelist_count").fetchone()[0]) > 0:
            step = min(free, VACUUM_STEP_PAGES)
            cursor.execute(f"PRAGMA incremental_vacuum({step})").fetchall()  # one page a step
            given += step
        if given:
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        return given
    finally:
        connection.close()


def convert_to_incremental_vacuum(engine: Engine) -> bool:
    """SQLite: turn on incremental auto-vacuum in a file made without it (a one-off VACUUM,
    which rewrites the whole file: it takes a while on a large one and needs as much free
    disk again); returns True when it converted. New files have it from the start."""
    if not is_sqlite(engine):
        return False
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        if cursor.execute("PRAGMA auto_vacuum").fetchone()[0] == 2:
            return False
        cursor.execute("PRAGMA auto_vacuum = INCREMENTAL")
        cursor.execute("VACUUM")
        return True
    finally:
        connection.close()


def kept_on(engine: Engine, name: str, make: Callable[[], T]) -> T:
    """What belongs to ``engine`` under ``name`` (its read-only twin, its writer lock, the
    tokens found valid on it), made by ``make()`` the first time and kept on the engine, so
    it lives as long as the engine and is never shared with another."""
    attribute = f"_signalbox_{name}"
    kept: T | None = getattr(engine, attribute, None)
    if kept is None:
        kept = make()
        setattr(engine, attribute, kept)
    return kept

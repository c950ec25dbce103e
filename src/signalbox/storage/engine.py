"""The database engine, built once from ``Settings.database_url``.

SQLite (the default, one file): WAL journal, foreign keys on, a busy timeout, and every write
transaction starts with ``BEGIN IMMEDIATE`` (SQLAlchemy's documented pysqlite recipe: turn
off the driver's own BEGIN and emit ours in the ``begin`` event), so read-decide-write is
serialised between threads and processes. Read-only units of work start a deferred ``BEGIN``.

PostgreSQL (``postgresql+psycopg://...``, psycopg 3): READ COMMITTED plus a row lock on the
environment (``SELECT ... FOR UPDATE``, see ``uow.UnitOfWork.lock_environment``).
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from signalbox.core.errors import ConfigError

__all__ = ["READ_ONLY", "build_engine", "is_sqlite"]

READ_ONLY = "signalbox_read_only"
"""Execution option: a unit of work that only reads (SQLite: deferred BEGIN)."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_PAGE_SIZE = 65_536
"""Page size of a new SQLite file. Terraform states are stored as 1 MiB segments: with 64 KiB
pages a 50 MB state is written in under half the time it takes with the 4 KiB default, for
about 0.2 ms more per small transaction (measured in bench/tfstate.py and bench/server.py).
SQLite applies it only while the file is empty; an existing database keeps its page size."""


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def build_engine(database_url: str, **engine_options: Any) -> Engine:
    """Create the engine for ``database_url``; a URL we cannot use is a ConfigError."""
    try:
        url = make_url(database_url)
    except Exception:
        raise ConfigError(
            f"{database_url!r} is not a database URL.",
            hint="Use sqlite:///signalbox.db or postgresql+psycopg://user@host/db.",
        ) from None
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(database_url, **engine_options)
    if url.get_backend_name() == "postgresql":
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        options = {"pool_size": 10, "max_overflow": 20, "pool_pre_ping": True, **engine_options}
        return create_engine(url, **options)
    raise ConfigError(
        f"signalbox cannot use the database {url.get_backend_name()!r}.",
        hint="Use SQLite (sqlite:///signalbox.db) or PostgreSQL (postgresql+psycopg://...).",
    )


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


def _sqlite_engine(database_url: str, **engine_options: Any) -> Engine:
    options = {
        "connect_args": {"check_same_thread": False},
        "pool_size": 20,
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
        cursor.execute(f"PRAGMA page_size = {SQLITE_PAGE_SIZE}")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine

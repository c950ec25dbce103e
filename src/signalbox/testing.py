"""Helpers for tests of signalbox and of code built on it (imported by tests' conftest.py).

- ``FakeClock``: a clock that moves only when told.
- ``sqlite_engine(path)`` / ``PostgresDatabases``: real databases, migrated to head.
- ``empty_tables(engine)``: isolation between tests sharing one database.
- ``ServerProcess``: a real ``signalbox serve`` on a free loopback port (end-to-end tests;
  it lives in ``signalbox.local_server``, which `signalbox demo` uses too).

Not used by the server itself.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

from signalbox.local_server import ServerProcess, free_port
from signalbox.storage.engine import build_engine
from signalbox.storage.migrate import upgrade
from signalbox.storage.tables import Base

__all__ = [
    "TEST_DATABASE_VAR",
    "FakeClock",
    "PostgresDatabases",
    "ServerProcess",
    "drop_everything",
    "empty_tables",
    "free_port",
    "postgres_url",
    "sqlite_engine",
]

TEST_DATABASE_VAR = "SIGNALBOX_TEST_DATABASE_URL"


class FakeClock:
    """``now()`` returns a fixed instant until ``advance`` or ``set`` moves it. Thread-safe."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, instant: datetime) -> None:
        with self._lock:
            self._now = instant


def postgres_url() -> str | None:
    return os.environ.get(TEST_DATABASE_VAR) or None


def sqlite_engine(path: Path) -> Engine:
    engine = build_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


def empty_tables(engine: Engine) -> None:
    """Delete every row of every table (the schema stays at head)."""
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())


def drop_everything(engine: Engine) -> None:
    """Drop every table and Alembic's version table: an empty database again."""
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


@dataclass
class PostgresDatabases:
    """Creates throw-away databases next to the one in ``SIGNALBOX_TEST_DATABASE_URL``."""

    base_url: str
    created: list[str] = field(default_factory=list)

    def create(self) -> str:
        """A new empty database; returns its URL."""
        name = f"signalbox_test_{os.getpid()}_{secrets.token_hex(4)}"
        with self._admin() as admin:
            admin.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return make_url(self.base_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self._admin() as admin:
            for name in self.created:
                admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.created.clear()

    def _admin(self) -> _ClosingConnection:
        url = make_url(self.base_url).set(drivername="postgresql+psycopg")
        engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=None)
        return _ClosingConnection(engine)


class _ClosingConnection:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self) -> Connection:
        self.connection = self.engine.connect()
        return self.connection

    def __exit__(self, *exc: object) -> None:
        self.connection.close()
        self.engine.dispose()


# --- pytest fixtures: import them into a conftest.py (``from signalbox.testing import ...``) ---

import pytest  # noqa: E402  (test-support module: pytest is a dev dependency)

POSTGRES_SKIP = (
    f"PostgreSQL tests need {TEST_DATABASE_VAR} "
    "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test); .ci/run sets it"
)


@pytest.fixture(scope="session")
def postgres_database_url():  # type: ignore[no-untyped-def]
    """A fresh PostgreSQL database for this test session (dropped at the end)."""
    base = postgres_url()
    if not base:
        pytest.skip(POSTGRES_SKIP)
    databases = PostgresDatabases(base)
    url = databases.create()
    yield url
    databases.drop_all()


@pytest.fixture(scope="session")
def postgres_engine(postgres_database_url):  # type: ignore[no-untyped-def]
    engine = build_engine(postgres_database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A SQLite file migrated to head once per session; tests get copies of it."""
    path = tmp_path_factory.mktemp("template") / "signalbox.db"
    sqlite_engine(path).dispose()
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request, tmp_path):  # type: ignore[no-untyped-def]
    """An Engine on an empty database at head: a SQLite file, and PostgreSQL when configured."""
    if request.param == "sqlite":
        path = tmp_path / "signalbox.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        engine = build_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
    else:
        engine = request.getfixturevalue("postgres_engine")
        empty_tables(engine)
        yield engine


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):  # type: ignore[no-untyped-def]
    """The URL of an empty database (no tables): a SQLite file, and PostgreSQL when configured."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'signalbox.db'}"
    url = request.getfixturevalue("postgres_database_url")
    engine = build_engine(url)
    drop_everything(engine)
    engine.dispose()
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()

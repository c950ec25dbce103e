"""The SQLite engine's connection settings, read back from a real database file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from signalbox.core.errors import ConfigError
from signalbox.storage.engine import SQLITE_PAGE_SIZE, build_engine


def pragma(engine, name: str):  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return connection.execute(text(f"PRAGMA {name}")).scalar()


def test_a_new_sqlite_file_gets_large_pages_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'new.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    assert pragma(engine, "page_size") == SQLITE_PAGE_SIZE
    assert pragma(engine, "journal_mode") == "wal"
    assert pragma(engine, "foreign_keys") == 1
    engine.dispose()


@pytest.mark.parametrize("url", ["not a url at all", "mysql://root@localhost/db"])
def test_a_database_signalbox_cannot_use_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        build_engine(url)
    assert raised.value.hint


def test_every_sqlite_connection_syncs_each_commit_fully(tmp_path: Path) -> None:
    """synchronous=FULL (2) on every pooled connection, not only the first: an acknowledged
    write is on disk before the answer leaves (NORMAL, 1, would lose it on power loss)."""
    engine = build_engine(f"sqlite:///{tmp_path / 'full.db'}")
    held = [engine.raw_connection() for _ in range(5)]  # five distinct pooled connections
    try:
        values = [c.cursor().execute("PRAGMA synchronous").fetchone()[0] for c in held]
    finally:
        for connection in held:
            connection.close()
    assert values == [2] * 5
    engine.dispose()


def test_the_server_engine_follows_the_sqlite_synchronous_setting(tmp_path: Path) -> None:
    from signalbox.services.database import open_engine
    from signalbox.settings import Settings

    url = f"sqlite:///{tmp_path / 's.db'}"
    default = open_engine(Settings(database_url=url))
    normal = open_engine(Settings(database_url=url, sqlite_synchronous="normal"))
    assert (pragma(default, "synchronous"), pragma(normal, "synchronous")) == (2, 1)
    default.dispose()
    normal.dispose()
    with pytest.raises(ConfigError) as raised:
        build_engine(url, sqlite_synchronous="off")
    assert "full or normal" in raised.value.message


def test_a_new_sqlite_file_vacuums_incrementally(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'av.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x BLOB)"))
    assert pragma(engine, "auto_vacuum") == 2  # INCREMENTAL
    engine.dispose()


def test_an_old_file_is_converted_once_and_then_gives_space_back(tmp_path: Path) -> None:
    import sqlite3

    from signalbox.storage.engine import convert_to_incremental_vacuum, give_space_back

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:  # as a file made before incremental auto-vacuum
        old.execute("CREATE TABLE t (x BLOB)")
        old.executemany("INSERT INTO t VALUES (?)", [(b"x" * 100_000,)] * 50)
    engine = build_engine(f"sqlite:///{path}")
    assert pragma(engine, "auto_vacuum") == 0
    assert convert_to_incremental_vacuum(engine) is True
    assert convert_to_incremental_vacuum(engine) is False
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM t"))
    pages = pragma(engine, "page_count")
    assert give_space_back(engine) > 0
    assert pragma(engine, "freelist_count") == 0 and pragma(engine, "page_count") < pages
    engine.dispose()

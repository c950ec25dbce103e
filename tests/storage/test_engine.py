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

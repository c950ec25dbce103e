"""Migrations: empty -> head on SQLite and PostgreSQL, and the head matches the tables."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from signalbox.storage import build_engine, current_revision, head_revision, upgrade
from signalbox.storage.tables import Base


def test_upgrade_from_empty_to_head_creates_every_table(database_url):
    engine = build_engine(database_url)
    try:
        assert current_revision(engine) is None
        assert upgrade(engine) == head_revision()
        assert head_revision() is not None
        names = set(inspect(engine).get_table_names())
        assert {table.name for table in Base.metadata.sorted_tables} <= names
        assert "alembic_version" in names
    finally:
        engine.dispose()


def test_upgrade_twice_is_harmless(database_url):
    engine = build_engine(database_url)
    try:
        upgrade(engine)
        assert upgrade(engine) == head_revision()
    finally:
        engine.dispose()


def test_migrations_at_head_match_the_declared_tables(database_url):
    engine = build_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()

"""`signalbox db backup` and `db check`: an online copy of a SQLite database, and what can be
checked of a database's health.

Backup (SQLite only): sqlite3's online backup API copies the file in one step inside a read
transaction, so the copy is one consistent moment of the database while the server goes on
writing (WAL: readers never block writers). The copy is written next to ``PATH``, checked
(``quick_check``), switched out of WAL (one self-contained file) and only then renamed to
``PATH``: a file at ``PATH`` is always a whole backup. PostgreSQL: use ``pg_dump``.

Check: SQLite ``PRAGMA integrity_check`` and ``foreign_key_check``; on both databases the
migration revision, and that every stored state version still has each of its segments.
PostgreSQL's own page checks (data checksums, ``amcheck``) are the DBA's tools, not ours.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, func, select

from signalbox.core.errors import UsageError
from signalbox.storage.engine import READ_ONLY, is_sqlite
from signalbox.storage.migrate import current_revision, head_revision
from signalbox.storage.tfstate_tables import TfStateChunkRow, TfStateRow, TfStateVersionRow

__all__ = ["Backup", "Checked", "back_up", "check"]

SHOWN = 20
"""At most this many problems of one kind are listed."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    revision: str | None


@dataclass
class Checked:
    """What ``check`` looked at (``passed``) and what it found wrong (``problems``)."""

    passed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def back_up(engine: Engine, path: Path) -> Backup:
    """Copy the SQLite database of ``engine`` to ``path`` (a new file), online."""
    if not is_sqlite(engine):
        raise UsageError(
            "signalbox db backup copies SQLite files; this server uses PostgreSQL.",
            hint="Use pg_dump (e.g. pg_dump -Fc -f signalbox.dump DBNAME) and pg_restore.",
        )
    if path.exists():
        raise UsageError(
            f"{path} already exists: a backup never replaces a file.",
            hint="Pass a new path, or move the old backup away first.",
        )
    if not path.parent.is_dir():
        raise UsageError(
            f"The folder {path.parent} does not exist.", hint="Create it, or pass another path."
        )
    _require_file(engine)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(handle)
    partial = Path(name)
    try:
        verdict = _copy(engine, partial)
        if verdict != "ok":
            raise UsageError(
                f"The copy failed its check ({verdict}); nothing was written to {path}.",
                hint="Run signalbox db check on the database.",
            )
        _sync(partial)
        try:
            os.link(partial, path)  # never replaces: a file made at path meanwhile stays
        except FileExistsError:
            raise UsageError(
                f"{path} appeared while the backup was made: a backup never replaces a file.",
                hint="Pass a new path.",
            ) from None
        _sync(path.parent)  # the new name survives a power loss too
    finally:
        partial.unlink(missing_ok=True)
    return Backup(path, path.stat().st_size, current_revision(engine))


def _copy(engine: Engine, partial: Path) -> str:
    """Back the database up into ``partial`` and check the copy: ``ok`` or what is wrong."""
    source = engine.raw_connection()
    try:
        target = sqlite3.connect(partial)
        try:
            source.driver_connection.backup(target)  # type: ignore[union-attr]
            verdict = str(target.execute("PRAGMA quick_check").fetchone()[0])
            target.execute("PRAGMA journal_mode = DELETE")  # one file, no -wal beside it
        finally:
            target.close()
    finally:
        source.close()
    return verdict


def _sync(path: Path) -> None:
    """fsync ``path`` (a file, or a folder after a new name in it)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _require_file(engine: Engine) -> None:
    """A SQLite database that is not there is a mistyped path, not an empty database to
    make: refused before anything connects (connecting would create the file)."""
    database = engine.url.database
    if is_sqlite(engine) and database and database != ":memory:" and not Path(database).exists():
        raise UsageError(
            f"There is no SQLite database at {database}.",
            hint="Check database_url (or SIGNALBOX_DATABASE_URL, --config): it names a file "
            "the server has used.",
        )


def check(engine: Engine) -> Checked:
    """Every check that applies to ``engine``'s database (see the module doc)."""
    _require_file(engine)
    checked = Checked()
    revision, head = current_revision(engine), head_revision()
    if revision == head:
        checked.passed.append(f"migrations: at head ({head})")
    else:
        checked.problems.append(
            f"migrations: at {revision or '(empty)'}, not head {head}: run signalbox db upgrade"
        )
    if is_sqlite(engine):
        _sqlite_checks(engine, checked)
    else:
        checked.passed.append("connection: PostgreSQL answers")
    _state_bodies(engine, checked)
    return checked


def _sqlite_checks(engine: Engine, checked: Checked) -> None:
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        found = [row[0] for row in cursor.execute("PRAGMA integrity_check").fetchall()]
        if found == ["ok"]:
            checked.passed.append("integrity_check: ok")
        else:
            checked.problems += [f"integrity_check: {line}" for line in found[:SHOWN]]
        broken = cursor.execute("PRAGMA foreign_key_check").fetchall()
        if not broken:
            checked.passed.append("foreign_key_check: ok")
        for table, rowid, parent, _ in broken[:SHOWN]:
            checked.problems.append(
                f"foreign_key_check: {table} row {rowid} points at a missing {parent} row"
            )
    finally:
        connection.close()


def _state_bodies(engine: Engine, checked: Checked) -> None:
    stored = (
        select(TfStateChunkRow.blob_id, func.count().label("stored"))
        .group_by(TfStateChunkRow.blob_id)
        .subquery()
    )
    query = (
        select(
            TfStateRow.environment,
            TfStateRow.name,
            TfStateVersionRow.serial,
            TfStateVersionRow.segments,
            stored.c.stored,
        )
        .join(TfStateRow, TfStateRow.id == TfStateVersionRow.state_id)
        .outerjoin(stored, stored.c.blob_id == TfStateVersionRow.blob_id)
        .where(
            TfStateVersionRow.blob_id.is_not(None),
            func.coalesce(stored.c.stored, 0) != TfStateVersionRow.segments,
        )
        .order_by(TfStateVersionRow.id)
    )
    with engine.execution_options(**{READ_ONLY: True}).connect() as connection:
        incomplete = connection.execute(query).all()
        connection.rollback()
    if not incomplete:
        checked.passed.append("state bodies: every stored version has all its segments")
    for environment, name, serial, segments, found in incomplete[:SHOWN]:
        checked.problems.append(
            f"state bodies: {environment}/{name} serial {serial} has {found or 0} of its "
            f"{segments} segments: restore an earlier version (signalbox state versions "
            f"{environment} {name}) or the database from a backup"
        )

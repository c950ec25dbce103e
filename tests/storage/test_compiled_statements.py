"""A statement compiled once and run on the DBAPI cursor (``storage.compiled``) writes and
reads exactly what ``Connection.execute`` of the same statement writes and reads, on SQLite
and on PostgreSQL; the hold requests' view behind ``lock_environment_core`` refuses an
environment that is not configured."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import cast, insert, select
from sqlalchemy.types import Text

from signalbox.core.errors import UnknownEnvironment
from signalbox.storage import UnitOfWork
from signalbox.storage.repositories.events import insert_event
from signalbox.storage.repositories.holds import HOLD_REQUEST_VIEW
from signalbox.storage.tables import EventRow, HoldRow

NOW = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
EVENTS = EventRow.__table__
HOLDS = HoldRow.__table__


def _add_environments(engine, *names):
    with UnitOfWork(engine) as uow:
        uow.environments.sync(dict.fromkeys(names, "UTC"), now=NOW)


def _event(environment: str) -> dict[str, object]:
    return {
        "environment": environment,
        "at": datetime(2026, 11, 26, 14, 30, 15, 123456, tzinfo=timezone(timedelta(hours=1))),
        "actor": "alice",
        "kind": "hold.granted",
        "message": "alice holds dev — «deploy»",
        "data": {"reason": "deploy ✓", "fencing_token": 3, "owner_is_ci": False, "x": None},
        "deploy_id": None,
        "schema_version": 2,
    }


def test_a_compiled_insert_stores_what_connection_execute_stores(database):
    _add_environments(database, "dev", "prod")
    with UnitOfWork(database) as uow:
        uow.connection.execute(insert(EVENTS), _event("dev"))
        insert_event(uow.connection, _event("prod"))
    columns = [column for column in EVENTS.c if column.name not in ("id", "environment")]
    stored = [cast(column, Text) for column in columns]  # as the database holds them
    with UnitOfWork(database, read_only=True) as uow:
        rows = uow.connection.execute(
            select(*columns, *stored).order_by(EVENTS.c.environment)
        ).all()
    by_sqlalchemy, compiled = rows
    assert compiled == by_sqlalchemy
    assert compiled.at == datetime(2026, 11, 26, 13, 30, 15, 123456, tzinfo=UTC)
    assert compiled.data["reason"] == "deploy ✓"


def test_a_compiled_select_reads_what_connection_execute_reads(database):
    _add_environments(database, "dev", "prod")
    with UnitOfWork(database) as uow:
        uow.connection.execute(
            insert(HOLDS),
            {
                "environment": "dev",
                "owner": "ci-bot",
                "owner_is_ci": True,
                "kind": "work",
                "reason": "migrate",
                "since": NOW,
                "until": NOW + timedelta(minutes=5),
                "lease_seconds": 300,
                "fencing_token": 1,
                "deploy_id": None,
            },
        )
    with UnitOfWork(database) as uow:
        for name in ("dev", "prod"):  # held, and not held (the hold's columns are None)
            expected = uow.connection.execute(HOLD_REQUEST_VIEW.statement, {"name": name}).one()
            row = HOLD_REQUEST_VIEW.first(uow.connection, {"name": name})
            assert tuple(row) == tuple(expected)
            assert row._fields == tuple(expected._fields)
        row = HOLD_REQUEST_VIEW.first(uow.connection, {"name": "dev"})
    assert (row.owner_is_ci, row.until, row.open_incident_id) == (
        True,
        NOW + timedelta(minutes=5),
        None,
    )
    with UnitOfWork(database, read_only=True) as uow:
        assert HOLD_REQUEST_VIEW.first(uow.connection, {"name": "nope"}) is None


@pytest.mark.parametrize("name", ["retired", "nope"])
def test_lock_environment_core_refuses_an_environment_that_is_not_configured(database, name):
    _add_environments(database, "dev", "retired")
    _add_environments(database, "dev")  # retired: its row stays, no longer configured
    with pytest.raises(UnknownEnvironment, match="dev"), UnitOfWork(database) as uow:
        uow.lock_environment_core(name, HOLD_REQUEST_VIEW)
    with UnitOfWork(database) as uow:
        assert uow.lock_environment_core("dev", HOLD_REQUEST_VIEW).name == "dev"

"""Events: every state change writes one, in the transaction that made the change.

``emit`` is the one helper every service calls, with a record declared in the catalogue
(``core.events``); it also advances the environment's ``version``, so a client waiting for
"something changed in dev" can compare one number. Event data must never carry secrets
(tokens, state bodies, sensitive plan values).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from signalbox.core.errors import unknown_environment
from signalbox.core.events import SCHEMA_VERSION, Event, Telling, parse, retold, to_data
from signalbox.storage.repositories.events import advance_version, insert_event
from signalbox.storage.tables import EnvironmentRow, EventRow
from signalbox.storage.uow import UnitOfWork

__all__ = ["EventView", "emit", "event_fields", "list_events", "told"]

MAX_EVENTS = 1000


@dataclass(frozen=True, slots=True)
class EventView:
    id: int
    environment: str | None
    at: datetime
    actor: str
    kind: str
    message: str
    data: dict[str, Any]
    deploy_id: int | None

    @classmethod
    def of(cls, row: EventRow, *, message: str | None = None) -> EventView:
        return cls(
            id=row.id,
            environment=row.environment,
            at=row.at,
            actor=row.actor,
            kind=row.kind,
            message=row.message if message is None else message,
            data=dict(row.data),
            deploy_id=row.deploy_id,
        )


def emit(
    uow: UnitOfWork,
    event: Event,
    *,
    environment: str | None,
    actor: str,
    now: datetime,
) -> None:
    """Write ``event`` (a record declared in ``core.events``; UndeclaredEvent otherwise) in
    ``uow``'s transaction, with its words told in the environment's time zone (UTC for
    global events); it advances the environment's ``version``. A record with a
    ``deploy_id`` field is linked to that deploy. It is stamped with ``uow.now(now)``: the
    time read after the transaction's write lock, so the log never runs backwards."""
    now = uow.now(now)
    if uow.session_started:
        # ORM rows of this transaction may be pending or loaded: keep them coherent
        row = uow.session.get(EnvironmentRow, environment) if environment is not None else None
        if row is not None:
            row.version += 1
        zone = row.timezone if row is not None else None
    else:
        # no Session (the hold requests' hot path): one Core UPDATE ... RETURNING
        zone = advance_version(uow.connection, environment) if environment is not None else None
    fields = event_fields(
        event, environment=environment, timezone=zone or "UTC", actor=actor, now=now
    )
    if uow.session_started:
        uow.events.add(**fields)
    else:
        insert_event(uow.connection, fields)


def event_fields(
    event: Event, *, environment: str | None, timezone: str, actor: str, now: datetime
) -> dict[str, Any]:
    """The columns of ``event``'s row (``EventRepository.add``), its words told in
    ``timezone``. ``emit`` writes it; a hot path that advances the environment's version in
    a statement of its own (the hold requests: ``services.holds``) inserts it itself."""
    data = to_data(event)
    telling = Telling(actor=actor, environment=environment, timezone=timezone, now=now)
    return {
        "environment": environment,
        "at": now,
        "actor": actor,
        "kind": event.kind,
        "message": event.words(telling),
        "data": data,
        "deploy_id": data.get("deploy_id"),
        "schema_version": SCHEMA_VERSION,
    }


def list_events(
    engine: Engine,
    *,
    environment: str | None = None,
    readable: Callable[[str], bool] | None = None,
    include_global: bool = True,
    limit: int = 50,
    before_id: int | None = None,
    now: datetime | None = None,
) -> list[EventView]:
    """Newest first. ``environment`` filters to one (UnknownEnvironment if it is not one);
    otherwise ``readable`` (name -> bool) limits the environments the caller may see. With
    ``now``, each event written from a catalogue record is told again from it in its
    environment's zone, as of ``now`` (``15:30 CET`` today, with the day otherwise);
    without, as stored."""
    limit = max(1, min(limit, MAX_EVENTS))
    with UnitOfWork(engine, read_only=True) as uow:
        rows = uow.environments.all()
        zones = {row.name: row.timezone for row in rows}
        if environment is not None:
            if environment not in zones:
                raise unknown_environment(environment, list(zones))
            scope: list[str] | None = [environment]
            include_global = False
        elif readable is not None:
            scope = [name for name in zones if readable(name)]
        else:
            scope = None
        found = uow.events.newest(
            environments=scope, include_global=include_global, limit=limit, before_id=before_id
        )
        return [
            EventView.of(row, message=told(row, zones.get(row.environment or "", "UTC"), now))
            for row in found
        ]


def told(row: EventRow, timezone: str, now: datetime | None) -> str:
    """The event's words in ``timezone`` as of ``now``, or its stored message: without
    ``now``, for an event written before the catalogue (no ``schema_version``: its data has
    other shapes, e.g. ``state`` was ``dev/network``), or one whose kind or data the
    catalogue no longer reads."""
    if now is None or row.schema_version is None:
        return row.message
    record = parse(row.kind, row.data)
    return retold(record, Telling(row.actor, row.environment, timezone, now), row.message)

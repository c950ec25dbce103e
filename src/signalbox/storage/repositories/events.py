"""Events: append-only, newest first when listed. The notifier reads them as an outbox
(``repositories.outbox``)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from signalbox.storage.compiled import insert_of
from signalbox.storage.tables import EventRow

_EVENTS = EventRow.metadata.tables[EventRow.__tablename__]
_INSERT = insert(_EVENTS)
"""A Core insert on the table: no ORM object, identity map entry or flush bookkeeping for a
row nothing reads back in the transaction that writes it."""

_ENVIRONMENTS = EventRow.metadata.tables["environments"]
_ADVANCE_VERSION = (
    update(_ENVIRONMENTS)
    .where(_ENVIRONMENTS.c.name == bindparam("environment"))
    .values(version=_ENVIRONMENTS.c.version + 1)
    .returning(_ENVIRONMENTS.c.timezone)
)


def advance_version(connection: Connection, environment: str) -> str | None:
    """Add one to ``environment``'s version (an event about it is being written); its time
    zone, or None when there is no such environment. One Core statement, for units of work
    without a Session (``services.events.emit``)."""
    zone = connection.execute(_ADVANCE_VERSION, {"environment": environment}).scalar_one_or_none()
    return None if zone is None else str(zone)


_EVENT_COLUMNS = (
    "environment",
    "at",
    "actor",
    "kind",
    "message",
    "data",
    "deploy_id",
    "schema_version",
)
_INSERT_COMPILED = insert_of(_EVENTS, _EVENT_COLUMNS)


def insert_event(connection: Connection, fields: dict[str, Any]) -> None:
    """Insert an event row (``fields``: the columns of ``EventRepository.add``) on a Core
    connection, for units of work without a Session (compiled once: ``storage.compiled``)."""
    _INSERT_COMPILED.execute(connection, fields)


class EventRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        *,
        environment: str | None,
        at: datetime,
        actor: str,
        kind: str,
        message: str,
        data: dict[str, Any],
        deploy_id: int | None = None,
        schema_version: int | None = None,
    ) -> None:
        """Insert the event now, in the session's transaction (rows it refers to, such as a
        new deploy, have ids, so they are flushed already). ``schema_version`` is the
        catalogue's version of ``data`` (None: data not from a catalogue record)."""
        fields = {
            "environment": environment,
            "at": at,
            "actor": actor,
            "kind": kind,
            "message": message,
            "data": data,
            "deploy_id": deploy_id,
            "schema_version": schema_version,
        }
        self.session.execute(_INSERT, fields)

    def newest(
        self,
        *,
        environments: Collection[str] | None,
        include_global: bool,
        limit: int,
        before_id: int | None = None,
    ) -> list[EventRow]:
        """Newest first. ``environments=None`` means every environment."""
        query = select(EventRow).order_by(EventRow.id.desc()).limit(limit)
        if environments is not None:
            scope: ColumnElement[bool] = EventRow.environment.in_(list(environments))
            if include_global:
                scope = or_(scope, EventRow.environment.is_(None))
            query = query.where(scope)
        if before_id is not None:
            query = query.where(EventRow.id < before_id)
        return list(self.session.scalars(query))

    def since(
        self,
        *,
        environments: Collection[str] | None,
        include_global: bool,
        after_id: int,
        limit: int,
    ) -> list[EventRow]:
        """Events with an id above ``after_id``, oldest first (what a follower of the log
        has not read yet). ``environments=None`` means every environment."""
        query = select(EventRow).where(EventRow.id > after_id).order_by(EventRow.id).limit(limit)
        if environments is not None:
            scope: ColumnElement[bool] = EventRow.environment.in_(list(environments))
            if include_global:
                scope = or_(scope, EventRow.environment.is_(None))
            query = query.where(scope)
        return list(self.session.scalars(query))

    def last_id(self) -> int:
        """The highest event id written and visible now (0 when there is none)."""
        return int(self.session.scalar(select(func.max(EventRow.id))) or 0)

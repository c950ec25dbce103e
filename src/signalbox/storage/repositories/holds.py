"""Holds: the current one per environment (``released_at IS NULL``) and the history.

``HoldRepository`` works on ORM rows (the gate, incidents, states use it inside their unit
of work). The functions below are the hold requests' hot path (``services.holds``): Core
statements compiled once per dialect and run on the transaction's DBAPI cursor
(``storage.compiled``), reading and writing plain rows, no Session; ``hold_view`` reads both
kinds of row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, select, update
from sqlalchemy.orm import Session

from signalbox.core.incidents import IncidentStatus
from signalbox.core.views import HoldKind, HoldView, Principal
from signalbox.storage.compiled import CompiledStatement, insert_of
from signalbox.storage.tables import HoldRow

_CURRENT = select(HoldRow).where(
    HoldRow.environment == bindparam("environment"), HoldRow.released_at.is_(None)
)
"""Built once: every hold request runs it (see environments._BY_NAME)."""

_HOLDS = HoldRow.metadata.tables["holds"]
_CURRENT_FIELDS = select(  # the current hold's columns, for HOLD_REQUEST_VIEW
    _HOLDS.c.id,
    _HOLDS.c.environment,
    _HOLDS.c.owner,
    _HOLDS.c.owner_is_ci,
    _HOLDS.c.kind,
    _HOLDS.c.reason,
    _HOLDS.c.since,
    _HOLDS.c.until,
    _HOLDS.c.lease_seconds,
    _HOLDS.c.fencing_token,
    _HOLDS.c.deploy_id,
).where(_HOLDS.c.environment == bindparam("environment"), _HOLDS.c.released_at.is_(None))
_ENVIRONMENTS = HoldRow.metadata.tables["environments"]
_INCIDENTS = HoldRow.metadata.tables["incidents"]
_OPEN_INCIDENT_ID = (
    select(_INCIDENTS.c.id)
    .where(
        _INCIDENTS.c.environment == _ENVIRONMENTS.c.name,
        _INCIDENTS.c.status != IncidentStatus.RESOLVED.value,
    )
    .scalar_subquery()
    .label("open_incident_id")
)
HOLD_REQUEST_VIEW = CompiledStatement(
    select(
        _ENVIRONMENTS.c.name,
        _ENVIRONMENTS.c.last_fencing_token,
        _ENVIRONMENTS.c.timezone,
        _ENVIRONMENTS.c.configured,
        _OPEN_INCIDENT_ID,
        *(column for column in _CURRENT_FIELDS.selected_columns),
    )
    .select_from(
        _ENVIRONMENTS.outerjoin(
            _HOLDS,
            and_(_HOLDS.c.environment == _ENVIRONMENTS.c.name, _HOLDS.c.released_at.is_(None)),
        )
    )
    .where(_ENVIRONMENTS.c.name == bindparam("name"))
)
"""What a hold request reads once its environment is locked, in one query instead of two:
the environment's fields, its current hold's (``id`` None: no hold) and the id of its open
incident (``open_incident_id``, None: none). Not the locking statement itself on
PostgreSQL: there (READ COMMITTED) a ``FOR UPDATE`` that waited for the lock sees the other
tables as they were when it started, so it would miss the hold its predecessor just granted.
On SQLite the write transaction (``BEGIN IMMEDIATE``) is the lock, and this is the only
read. For ``UnitOfWork.lock_environment_core(name, HOLD_REQUEST_VIEW)`` (a row with
``configured``; the parameter is ``name``)."""
_HOLD_COLUMNS = (
    "environment",
    "owner",
    "owner_is_ci",
    "kind",
    "reason",
    "since",
    "until",
    "lease_seconds",
    "fencing_token",
    "deploy_id",
)
_INSERT = insert_of(_HOLDS, _HOLD_COLUMNS)
_CLOSE = CompiledStatement(
    update(_HOLDS)
    .where(_HOLDS.c.id == bindparam("hold_id"), _HOLDS.c.released_at.is_(None))
    .values(
        released_at=bindparam("at"),
        released_by=bindparam("by"),
        release_reason=bindparam("why"),
    )
)
_RENEW = CompiledStatement(
    update(_HOLDS)
    .where(_HOLDS.c.id == bindparam("hold_id"), _HOLDS.c.released_at.is_(None))
    .values(
        until=bindparam("new_until"),
        reason=bindparam("new_reason"),
        lease_seconds=bindparam("new_lease"),
    )
)
_ADVANCE = CompiledStatement(
    update(_ENVIRONMENTS)
    .where(_ENVIRONMENTS.c.name == bindparam("environment"))
    .values(
        last_fencing_token=_ENVIRONMENTS.c.last_fencing_token + bindparam("tokens"),
        version=_ENVIRONMENTS.c.version + bindparam("events"),
    )
    .returning(_ENVIRONMENTS.c.last_fencing_token)
)
"""The fencing counter and the version of an environment, advanced in one statement."""
_OPEN_INCIDENT = select(_INCIDENTS).where(
    _INCIDENTS.c.environment == bindparam("environment"),
    _INCIDENTS.c.status != IncidentStatus.RESOLVED.value,
)


def hold_view(row: HoldRow | Row[Any]) -> HoldView:
    """The core's view of a hold row (an ORM row, or a Core row of the holds table)."""
    return HoldView(
        environment=row.environment,
        owner=Principal(name=row.owner, is_ci=row.owner_is_ci),
        kind=HoldKind(row.kind),
        reason=row.reason,
        since=row.since,
        until=row.until,
        fencing_token=row.fencing_token,
        deploy_id=row.deploy_id,
    )


class HoldRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def current(self, environment: str) -> HoldRow | None:
        """The environment's unreleased hold (it may have lapsed: check with ``now``)."""
        return self.session.scalars(_CURRENT, {"environment": environment}).one_or_none()

    def lapsed_environments(self, now: datetime) -> list[str]:
        query = select(HoldRow.environment).where(
            HoldRow.released_at.is_(None), HoldRow.until <= now
        )
        return sorted(self.session.scalars(query))

    def grant(self, hold: HoldView, *, lease_seconds: int) -> HoldRow:
        row = HoldRow(
            environment=hold.environment,
            owner=hold.owner.name,
            owner_is_ci=hold.owner.is_ci,
            kind=str(hold.kind),
            reason=hold.reason,
            since=hold.since,
            until=hold.until,
            lease_seconds=lease_seconds,
            fencing_token=hold.fencing_token,
            deploy_id=hold.deploy_id,
        )
        self.session.add(row)
        return row

    def close(self, row: HoldRow, *, at: datetime, by: str, reason: str) -> None:
        row.released_at = at
        row.released_by = by
        row.release_reason = reason


HoldRequestView = Any
"""A row of ``HOLD_REQUEST_VIEW`` (a named tuple: ``row.last_fencing_token``, ``row.id``)."""


def held(row: HoldRequestView) -> HoldView | None:
    """The current hold in a row of ``hold_request_view``, if any."""
    return None if row.id is None else hold_view(row)


def insert_hold(connection: Connection, hold: HoldView, *, lease_seconds: int) -> None:
    """Write ``hold`` (just granted) as the environment's current hold."""
    _INSERT.execute(
        connection,
        {
            "environment": hold.environment,
            "owner": hold.owner.name,
            "owner_is_ci": hold.owner.is_ci,
            "kind": str(hold.kind),
            "reason": hold.reason,
            "since": hold.since,
            "until": hold.until,
            "lease_seconds": lease_seconds,
            "fencing_token": hold.fencing_token,
            "deploy_id": hold.deploy_id,
        },
    )


def close_hold(connection: Connection, hold_id: int, *, at: datetime, by: str, reason: str) -> None:
    """End the current hold ``hold_id`` (released, force-released or lapsed)."""
    closed = _CLOSE.execute(connection, {"hold_id": hold_id, "at": at, "by": by, "why": reason})
    assert closed == 1, "the current hold changed under the environment's lock"


def renew_hold_row(
    connection: Connection, hold_id: int, *, until: datetime, reason: str, lease_seconds: int
) -> None:
    """Extend the current hold ``hold_id`` to ``until`` (with its reason and lease)."""
    values = {"new_until": until, "new_reason": reason, "new_lease": lease_seconds}
    renewed = _RENEW.execute(connection, {"hold_id": hold_id, **values})
    assert renewed == 1, "the current hold changed under the environment's lock"


def advance_environment(
    connection: Connection, environment: str, *, tokens: int, events: int
) -> int:
    """Advance the fencing counter of ``environment`` (locked by the caller) by ``tokens``
    (1: a hold is granted, 0: none) and its version by ``events`` (the events the caller
    writes: ``services.events.write_events``) in one statement; the counter's new value."""
    row = _ADVANCE.one(connection, {"environment": environment, "tokens": tokens, "events": events})
    return int(row.last_fencing_token)


def open_incident(connection: Connection, environment: str) -> Row[Any] | None:
    """The environment's open incident as a Core row of its table (at most one: a unique
    index says so), for the hold requests' freeze check (``IncidentRepository.open_in``
    without a Session)."""
    row: Row[Any] | None = connection.execute(
        _OPEN_INCIDENT, {"environment": environment}
    ).one_or_none()
    return row

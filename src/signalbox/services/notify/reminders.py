"""Reminders: what time alone makes worth telling, written as events (so they reach the
targets like any other, once, in order):

- ``reservation.starting-soon`` when a reservation begins within ``remind_before`` (once per
  reservation; not for one made less than that before it starts: its creation was told);
- ``incident.update-due`` when an open incident had no update for ``incident_update_every``
  (again each period without one).

Candidates are read without a write transaction; each is then marked with a conditional
update (``reminded_at`` still as read), so two servers never remind twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update

from signalbox.core.events import IncidentUpdateDue, ReservationStartsSoon
from signalbox.core.incidents import IncidentStatus
from signalbox.services.events import emit
from signalbox.services.incidents.changes import lock_incident, record
from signalbox.storage.tables import IncidentRow, ReservationRow
from signalbox.storage.uow import UnitOfWork

__all__ = ["remind_once"]

SYSTEM = "signalbox"


def _reservations_due(engine: Engine, *, now: datetime, lead: timedelta) -> list[ReservationRow]:
    with UnitOfWork(engine, read_only=True) as uow:
        query = select(ReservationRow).where(
            ReservationRow.cancelled_at.is_(None),
            ReservationRow.reminded_at.is_(None),
            ReservationRow.starts > now,
            ReservationRow.starts <= now + lead,
        )
        found = list(uow.session.scalars(query))
        uow.session.expunge_all()
    return [row for row in found if row.created_at + lead <= row.starts]


def _remind_reservation(engine: Engine, row: ReservationRow, *, now: datetime) -> bool:
    with UnitOfWork(engine) as uow:
        uow.lock_environment(row.environment)
        now = uow.now(now)  # read after the environment's lock
        marked = uow.session.execute(
            update(ReservationRow)
            .where(
                ReservationRow.id == row.id,
                ReservationRow.reminded_at.is_(None),
                ReservationRow.cancelled_at.is_(None),
            )
            .values(reminded_at=now)
        )
        if not marked.rowcount:  # type: ignore[attr-defined]
            return False
        event = ReservationStartsSoon(
            reservation_id=row.id,
            owner=row.owner,
            reason=row.reason,
            starts=row.starts,
            ends=row.ends,
        )
        emit(uow, event, environment=row.environment, actor=SYSTEM, now=now)
        return True


def _incidents_due(engine: Engine, *, now: datetime, every: timedelta) -> list[int]:
    with UnitOfWork(engine, read_only=True) as uow:
        query = select(
            IncidentRow.id, IncidentRow.updated_at, IncidentRow.update_reminded_at
        ).where(IncidentRow.status != str(IncidentStatus.RESOLVED))
        rows = uow.session.execute(query).all()
    return [
        row.id
        for row in rows
        if max(row.updated_at, row.update_reminded_at or row.updated_at) + every <= now
    ]


def _remind_incident(engine: Engine, incident_id: int, *, now: datetime, every: timedelta) -> bool:
    with UnitOfWork(engine) as uow:
        row, _env = lock_incident(uow, incident_id)
        now = uow.now(now)  # read after the environment's lock
        last = max(row.updated_at, row.update_reminded_at or row.updated_at)
        if row.status == str(IncidentStatus.RESOLVED) or last + every > now:
            return False  # updated, resolved or reminded meanwhile
        row.update_reminded_at = now
        record(
            uow,
            IncidentUpdateDue,
            row,
            actor=SYSTEM,
            note="",
            now=now,
            last_update_at=row.updated_at,
        )
        return True


def remind_once(
    engine: Engine,
    *,
    now: datetime,
    remind_before: timedelta | None,
    update_every: timedelta | None,
) -> int:
    """Write the reminders that are due; how many."""
    told = 0
    if remind_before is not None:
        for row in _reservations_due(engine, now=now, lead=remind_before):
            told += _remind_reservation(engine, row, now=now)
    if update_every is not None:
        for incident_id in _incidents_due(engine, now=now, every=update_every):
            told += _remind_incident(engine, incident_id, now=now, every=update_every)
    return told

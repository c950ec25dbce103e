"""Resolve an incident (the environment works again) and reopen one (it did not).

Resolving unfreezes the environment (the gate reads the open incident, so there is nothing
else to undo) and gives back the holds the freeze suspended (``freeze.return_holds``: with
a new fencing token, or lapsed). ``incident.resolved`` carries how long it lasted, from its
opening. Reopening sets it ``investigating`` again and freezes as at its opening, unless
another incident was opened on the environment meanwhile (IncidentAlreadyOpen: post there).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from signalbox.core.errors import IncidentAlreadyOpen
from signalbox.core.events import IncidentReopened, IncidentResolved
from signalbox.core.incidents import IncidentStatus, check_note, require_open, require_resolved
from signalbox.core.views import Principal
from signalbox.services.incidents.changes import lock_incident, post_update, record
from signalbox.services.incidents.freeze import return_holds, take_effect
from signalbox.services.incidents.reads import Effects, Incident, incident_of
from signalbox.settings import Settings
from signalbox.storage.repositories.incidents import IncidentRepository, incident_view
from signalbox.storage.uow import UnitOfWork

__all__ = ["reopen_incident", "resolve_incident"]


def resolve_incident(
    engine: Engine, *, incident_id: int, caller: Principal, now: datetime, note: str = ""
) -> Incident:
    """Resolve incident ``incident_id``; InvalidTransition if it is resolved already."""
    said = check_note(note)
    with UnitOfWork(engine) as uow:
        row, env = lock_incident(uow, incident_id)
        now = uow.now(now)  # read after the environment's lock
        require_open(incident_view(row), doing="resolved again")
        row.status = str(IncidentStatus.RESOLVED)
        row.resolved_at, row.resolved_by = now, caller.name
        post_update(uow, row, kind="resolved", author=caller.name, note=said, now=now)
        lasted = (now - row.opened_at).total_seconds()
        record(
            uow,
            IncidentResolved,
            row,
            actor=caller.name,
            note=said,
            now=now,
            duration_seconds=lasted,
        )
        back = return_holds(uow, row, env, now=now)
        updates = IncidentRepository(uow.session).updates(row.id)
        effects = Effects(returned_holds=back.returned, lapsed_holds=back.lapsed)
        return incident_of(row, env.timezone, updates=updates, effects=effects)


def reopen_incident(
    engine: Engine,
    settings: Settings,
    *,
    incident_id: int,
    caller: Principal,
    now: datetime,
    note: str = "",
) -> Incident:
    """Open resolved incident ``incident_id`` again (``investigating``), freezing as before."""
    said = check_note(note)
    with UnitOfWork(engine) as uow:
        row, env = lock_incident(uow, incident_id)
        now = uow.now(now)  # read after the environment's lock
        require_resolved(incident_view(row))
        repo = IncidentRepository(uow.session)
        other = repo.open_in(row.environment)
        if other is not None:
            raise IncidentAlreadyOpen(
                f'Incident {other.id} is open on {row.environment} ("{other.title}"); '
                f"incident {row.id} cannot be reopened beside it.",
                hint=f"Post to incident {other.id}: `signalbox incident update {other.id} "
                '--note "..."`.',
                environment=row.environment,
                incident_id=other.id,
                commander=other.commander,
            )
        row.status = str(IncidentStatus.INVESTIGATING)
        row.resolved_at = row.resolved_by = None
        uow.session.flush()
        post_update(uow, row, kind="reopened", author=caller.name, note=said, now=now)
        record(uow, IncidentReopened, row, actor=caller.name, note=said, now=now)
        effects = take_effect(uow, settings, row, env, now=now)
        return incident_of(row, env.timezone, updates=repo.updates(row.id), effects=effects)

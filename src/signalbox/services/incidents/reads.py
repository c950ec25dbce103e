"""Incidents as the API and the CLI read them: the incident, its updates as posted, and what
a change did to the environment (``Effects``). ``list_incidents`` and ``get_incident`` only
read; the use cases that change an incident return the same ``Incident``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine

from signalbox.core.incidents import IncidentStatus, IncidentView
from signalbox.storage.repositories.incidents import IncidentRepository, incident_view
from signalbox.storage.tables import IncidentRow, IncidentUpdateRow
from signalbox.storage.uow import UnitOfWork

__all__ = [
    "Effects",
    "Incident",
    "IncidentUpdate",
    "get_incident",
    "incident_environment",
    "incident_of",
    "list_incidents",
]


@dataclass(frozen=True, slots=True)
class IncidentUpdate:
    """An update as posted: ``kind`` is opened, update, resolved or reopened."""

    kind: str
    at: datetime
    author: str
    status: IncidentStatus
    commander: str
    eta: datetime | None = None
    note: str = ""

    @classmethod
    def of(cls, row: IncidentUpdateRow) -> IncidentUpdate:
        return cls(
            kind=row.kind,
            at=row.at,
            author=row.author,
            status=IncidentStatus(row.status),
            commander=row.commander,
            eta=row.eta,
            note=row.note,
        )


@dataclass(frozen=True, slots=True)
class Effects:
    """What a change of the incident did to its environment, in this transaction: deploys
    refused by the freeze, holds suspended (by owner), holds back or lapsed on resolve, and
    the reservations told they are at risk (ids)."""

    refused_deploys: tuple[int, ...] = ()
    suspended_holds: tuple[str, ...] = ()
    returned_holds: tuple[str, ...] = ()
    lapsed_holds: tuple[str, ...] = ()
    at_risk: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident with what people read of it: its environment's time zone, who resolved
    it, the reservations it put at risk (ids), its updates (oldest first; empty in a
    listing) and, for a change, its ``effects``."""

    view: IncidentView
    timezone: str
    resolved_by: str | None = None
    at_risk: tuple[int, ...] = ()
    updates: tuple[IncidentUpdate, ...] = ()
    effects: Effects = field(default_factory=Effects)


def incident_of(
    row: IncidentRow,
    timezone: str,
    *,
    updates: Collection[IncidentUpdateRow] = (),
    effects: Effects | None = None,
) -> Incident:
    return Incident(
        view=incident_view(row),
        timezone=timezone,
        resolved_by=row.resolved_by,
        at_risk=tuple(int(ident) for ident in row.at_risk or ()),
        updates=tuple(IncidentUpdate.of(update) for update in updates),
        effects=effects or Effects(),
    )


def list_incidents(
    engine: Engine, *, environments: Collection[str] | None, include_resolved: bool = False
) -> list[Incident]:
    """Incidents of ``environments`` (None: every one), newest first: the open ones, or all
    with ``include_resolved``."""
    with UnitOfWork(engine, read_only=True) as uow:
        zones = {row.name: row.timezone for row in uow.environments.all()}
        rows = IncidentRepository(uow.session).listed(
            environments=environments, include_resolved=include_resolved
        )
        return [incident_of(row, zones.get(row.environment, "UTC")) for row in rows]


def incident_environment(engine: Engine, incident_id: int) -> str:
    """The environment of incident ``incident_id`` (UnknownIncident if there is none): what
    a route checks the caller's grant on before it reads or changes the incident."""
    with UnitOfWork(engine, read_only=True) as uow:
        return IncidentRepository(uow.session).get(incident_id).environment


def get_incident(engine: Engine, incident_id: int) -> Incident:
    """Incident ``incident_id`` with its updates (UnknownIncident if there is none)."""
    with UnitOfWork(engine, read_only=True) as uow:
        repo = IncidentRepository(uow.session)
        row = repo.get(incident_id)
        timezone = uow.environments.get(row.environment).timezone
        return incident_of(row, timezone, updates=repo.updates(incident_id))

"""What every use case that changes an incident shares: lock it (its environment first, as
every decider of that environment does), post the update as people read it, and write the
catalogue event with the incident's fields as they are after the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from signalbox.core.errors import InvalidInput
from signalbox.core.events import IncidentEvent
from signalbox.core.incidents import IncidentStatus, Severity
from signalbox.services.events import emit
from signalbox.storage.repositories.incidents import IncidentRepository
from signalbox.storage.tables import EnvironmentRow, IncidentRow, IncidentUpdateRow
from signalbox.storage.uow import UnitOfWork

__all__ = ["lock_incident", "parse_severity", "parse_status", "post_update", "record"]


def lock_incident(uow: UnitOfWork, incident_id: int) -> tuple[IncidentRow, EnvironmentRow]:
    """Incident ``incident_id`` read again once its environment is locked (UnknownIncident
    if there is none), with that environment."""
    row = IncidentRepository(uow.session).get(incident_id)
    env = uow.lock_environment(row.environment)
    uow.session.refresh(row)
    return row, env


def post_update(
    uow: UnitOfWork, row: IncidentRow, *, kind: str, author: str, note: str, now: datetime
) -> None:
    """Keep the update as posted (``kind``: opened, update, resolved, reopened)."""
    row.updated_at = now
    IncidentRepository(uow.session).add_update(
        IncidentUpdateRow(
            incident_id=row.id,
            kind=kind,
            at=now,
            author=author,
            status=row.status,
            eta=row.eta,
            commander=row.commander,
            note=note,
        )
    )


def record(
    uow: UnitOfWork,
    kind: type[IncidentEvent],
    row: IncidentRow,
    *,
    actor: str,
    note: str,
    now: datetime,
    **extra: Any,
) -> None:
    """The ``kind`` event (IncidentOpened, ...) of ``row`` as it is now."""
    event = kind(
        incident_id=row.id,
        title=row.title,
        severity=row.severity,
        status=row.status,
        commander=row.commander,
        freezes=row.freezes,
        eta=row.eta,
        note=note,
        **extra,
    )
    emit(uow, event, environment=row.environment, actor=actor, now=now)


def parse_severity(text: str) -> Severity:
    try:
        return Severity((text or "").strip().lower())
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a severity.",
            hint="Use sev1 (the worst: users cannot work), sev2 or sev3.",
            field="severity",
        ) from None


def parse_status(text: str, *, incident_id: int) -> IncidentStatus:
    """A status an update may set: any open one; ``resolved`` is `incident resolve`."""
    cleaned = (text or "").strip().lower()
    if cleaned == IncidentStatus.RESOLVED:
        raise InvalidInput(
            "An update cannot resolve an incident.",
            hint=f"Run `signalbox incident resolve {incident_id}` (with --note to say how).",
            field="status",
        )
    try:
        return IncidentStatus(cleaned)
    except ValueError:
        choices = ", ".join(status.value for status in IncidentStatus if status.value != "resolved")
        raise InvalidInput(
            f"{text!r} is not an incident status.", hint=f"Use one of {choices}.", field="status"
        ) from None

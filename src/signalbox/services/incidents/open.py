"""Open an incident: the environment is broken.

One transaction: lock the environment, refuse a second open incident there
(IncidentAlreadyOpen, naming it and how to update it), store the incident with its first
update, write ``incident.opened``; when it freezes (sev1 and sev2 unless told otherwise),
suspend other people's work holds and refuse the waiting deploys that are not its hotfix
(``freeze.freeze``); then tell the reservations it puts at risk (``freeze.mark_at_risk``);
both are ``freeze.take_effect``, which a reopening does too.
Everything is decided and written before the commit, so a waiting gate wakes to its refusal.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from signalbox.core.errors import IncidentAlreadyOpen
from signalbox.core.events import IncidentOpened
from signalbox.core.incidents import (
    IncidentStatus,
    check_note,
    check_person,
    check_title,
    freezes_by_default,
    parse_eta,
)
from signalbox.core.views import Principal
from signalbox.services.incidents.changes import parse_severity, post_update, record
from signalbox.services.incidents.freeze import take_effect
from signalbox.services.incidents.reads import Incident, incident_of
from signalbox.settings import Settings
from signalbox.storage.repositories.incidents import IncidentRepository
from signalbox.storage.tables import IncidentRow
from signalbox.storage.uow import UnitOfWork

__all__ = ["open_incident"]


def open_incident(
    engine: Engine,
    settings: Settings,
    *,
    environment: str,
    title: str,
    severity: str,
    opener: Principal,
    now: datetime,
    commander: str | None = None,
    freeze: bool | None = None,
    eta: str | None = None,
    note: str = "",
) -> Incident:
    """Open an incident on ``environment``; ``commander`` defaults to the opener, ``freeze``
    to the severity's default, ``eta`` is ``30m`` or ``15:30`` in the environment's zone."""
    cleaned_title = check_title(title)
    level = parse_severity(severity)
    lead = check_person(commander, field="commander") if commander else opener.name
    said = check_note(note)
    with UnitOfWork(engine) as uow:
        env = uow.lock_environment(environment)
        now = uow.now(now)  # read after the environment's lock
        expected = parse_eta(eta, now=now, timezone=env.timezone) if eta else None
        repo = IncidentRepository(uow.session)
        existing = repo.open_in(environment)
        if existing is not None:
            raise IncidentAlreadyOpen(
                f"Incident {existing.id} is already open on {environment} "
                f'("{existing.title}", {existing.severity}, led by {existing.commander}).',
                hint=(
                    f"Post to it instead: `signalbox incident update {existing.id} --note "
                    '"..."`; one incident per environment at a time.'
                ),
                environment=environment,
                incident_id=existing.id,
                commander=existing.commander,
            )
        row = repo.add(
            IncidentRow(
                environment=environment,
                title=cleaned_title,
                severity=str(level),
                status=str(IncidentStatus.INVESTIGATING),
                commander=lead,
                responders=[],
                freezes=freezes_by_default(level) if freeze is None else freeze,
                eta=expected,
                opened_at=now,
                opened_by=opener.name,
                updated_at=now,
                at_risk=[],
            )
        )
        post_update(uow, row, kind="opened", author=opener.name, note=said, now=now)
        record(uow, IncidentOpened, row, actor=opener.name, note=said, now=now)
        effects = take_effect(uow, settings, row, env, now=now)
        return incident_of(row, env.timezone, updates=repo.updates(row.id), effects=effects)

"""An open incident stored directly (IncidentRepository), for tests of what reads incidents
(the hotfix lane, preflight) that must not depend on how incidents are opened."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine

from signalbox.storage.repositories.incidents import IncidentRepository
from signalbox.storage.tables import IncidentRow
from signalbox.storage.uow import UnitOfWork


def insert_incident(
    engine: Engine,
    *,
    now: datetime,
    environment: str = "dev",
    commander: str = "alice",
    responders: Sequence[str] = (),
    freezes: bool = True,
    status: str = "investigating",
    title: str = "users cannot log in",
    eta: datetime | None = None,
) -> int:
    """Store an incident (open unless ``status`` is ``resolved``); its id."""
    with UnitOfWork(engine) as uow:
        row = IncidentRepository(uow.session).add(
            IncidentRow(
                environment=environment,
                title=title,
                severity="sev1" if freezes else "sev3",
                status=status,
                commander=commander,
                responders=list(responders),
                freezes=freezes,
                eta=eta,
                opened_at=now,
                opened_by=commander,
                updated_at=now,
                resolved_at=now if status == "resolved" else None,
                resolved_by=commander if status == "resolved" else None,
                at_risk=[],
            )
        )
        return row.id

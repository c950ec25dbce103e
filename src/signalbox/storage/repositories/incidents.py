"""Incidents, their updates as posted and their follow-up actions: load, store, and convert
to the core's ``IncidentView`` and ``ActionView``."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from signalbox.core.errors import UnknownAction, UnknownIncident
from signalbox.core.incidents import (
    ActionStatus,
    ActionView,
    IncidentStatus,
    IncidentView,
    Severity,
)
from signalbox.storage.tables import (
    IncidentActionRow,
    IncidentRow,
    IncidentUpdateRow,
)

__all__ = ["IncidentRepository", "action_view", "incident_view"]


def incident_view(row: IncidentRow | Row[Any]) -> IncidentView:
    """The core's view of an incident row (an ORM row, or a Core row of the table)."""
    return IncidentView(
        id=row.id,
        environment=row.environment,
        title=row.title,
        severity=Severity(row.severity),
        status=IncidentStatus(row.status),
        commander=row.commander,
        responders=tuple(row.responders or ()),
        freezes=row.freezes,
        opened_at=row.opened_at,
        opened_by=row.opened_by,
        updated_at=row.updated_at,
        eta=row.eta,
        resolved_at=row.resolved_at,
    )


def action_view(row: IncidentActionRow) -> ActionView:
    return ActionView(
        id=row.id,
        incident_id=row.incident_id,
        text=row.text,
        status=ActionStatus(row.status),
        owner=row.owner,
        due=row.due,
    )


class IncidentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: IncidentRow) -> IncidentRow:
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, incident_id: int) -> IncidentRow:
        row = self.session.get(IncidentRow, incident_id)
        if row is None:
            raise UnknownIncident(
                f"There is no incident {incident_id}.",
                hint="List them with `signalbox incidents --all`.",
                incident_id=incident_id,
            )
        return row

    def open_in(self, environment: str) -> IncidentRow | None:
        """The environment's open incident (at most one: a unique index says so)."""
        query = select(IncidentRow).where(
            IncidentRow.environment == environment,
            IncidentRow.status != IncidentStatus.RESOLVED.value,
        )
        return self.session.scalars(query).one_or_none()

    def listed(
        self, *, environments: Collection[str] | None = None, include_resolved: bool = False
    ) -> list[IncidentRow]:
        """Incidents, newest first: the open ones, or all with ``include_resolved``."""
        query = select(IncidentRow).order_by(IncidentRow.id.desc())
        if environments is not None:
            query = query.where(IncidentRow.environment.in_(sorted(environments)))
        if not include_resolved:
            query = query.where(IncidentRow.status != IncidentStatus.RESOLVED.value)
        return list(self.session.scalars(query))

    def add_update(self, row: IncidentUpdateRow) -> IncidentUpdateRow:
        self.session.add(row)
        self.session.flush()
        return row

    def updates(self, incident_id: int) -> list[IncidentUpdateRow]:
        query = (
            select(IncidentUpdateRow)
            .where(IncidentUpdateRow.incident_id == incident_id)
            .order_by(IncidentUpdateRow.id)
        )
        return list(self.session.scalars(query))

    def add_action(self, row: IncidentActionRow) -> IncidentActionRow:
        self.session.add(row)
        self.session.flush()
        return row

    def action(self, action_id: int) -> IncidentActionRow:
        row = self.session.get(IncidentActionRow, action_id)
        if row is None:
            raise UnknownAction(
                f"There is no action {action_id}.",
                hint="List them with `signalbox actions`.",
                action_id=action_id,
            )
        return row

    def actions(
        self, *, incident_ids: Collection[int] | None = None, open_only: bool = False
    ) -> list[IncidentActionRow]:
        query = select(IncidentActionRow).order_by(IncidentActionRow.id)
        if incident_ids is not None:
            query = query.where(IncidentActionRow.incident_id.in_(sorted(incident_ids)))
        if open_only:
            closed = [ActionStatus.DONE.value, ActionStatus.NOT_DOING.value]
            query = query.where(IncidentActionRow.status.not_in(closed))
        return list(self.session.scalars(query))

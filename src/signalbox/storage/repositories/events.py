"""Events: append-only, newest first when listed."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from signalbox.storage.tables import EventRow


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
    ) -> EventRow:
        row = EventRow(
            environment=environment,
            at=at,
            actor=actor,
            kind=kind,
            message=message,
            data=data,
            deploy_id=deploy_id,
        )
        self.session.add(row)  # written at the next flush or commit
        return row

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

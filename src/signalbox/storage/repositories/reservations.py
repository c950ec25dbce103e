"""Reservations: windows in which someone relies on an environment (cancelled rows stay)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from signalbox.core.errors import NotFound
from signalbox.core.views import ReservationView
from signalbox.storage.tables import ReservationRow

__all__ = ["ReservationRepository", "reservation_view"]


def reservation_view(row: ReservationRow | Row[Any]) -> ReservationView:
    return ReservationView(
        id=row.id,
        environment=row.environment,
        owner=row.owner,
        reason=row.reason,
        starts=row.starts,
        ends=row.ends,
    )


class ReservationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: ReservationRow) -> ReservationRow:
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, reservation_id: int) -> ReservationRow:
        row = self.session.get(ReservationRow, reservation_id)
        if row is None:
            raise NotFound(
                f"There is no reservation #{reservation_id}.",
                hint="List them with `signalbox reservations`.",
                reservation_id=reservation_id,
            )
        return row

    def not_over(
        self, *, environments: Collection[str] | None, now: datetime
    ) -> list[ReservationRow]:
        """Reservations in force now or later (not cancelled), by start."""
        query = (
            select(ReservationRow)
            .where(ReservationRow.ends > now, ReservationRow.cancelled_at.is_(None))
            .order_by(ReservationRow.starts, ReservationRow.id)
        )
        if environments is not None:
            query = query.where(ReservationRow.environment.in_(list(environments)))
        return list(self.session.scalars(query))

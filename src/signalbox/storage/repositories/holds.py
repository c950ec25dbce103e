"""Holds: the current one per environment (``released_at IS NULL``) and the history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from signalbox.core.views import HoldKind, HoldView, Principal
from signalbox.storage.tables import HoldRow

_CURRENT = select(HoldRow).where(
    HoldRow.environment == bindparam("environment"), HoldRow.released_at.is_(None)
)
"""Built once: every hold request runs it (see environments._BY_NAME)."""


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

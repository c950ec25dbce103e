"""What the pictures of many environments are computed from, read with a fixed number of
queries however many environments there are (never one query per environment).

Each method answers for every environment in ``names`` at once, grouped by environment.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, defer

from signalbox.core.queue import ACTIVE_STATES, WAITING_STATES
from signalbox.core.views import DeployState
from signalbox.storage.tables import (
    ApprovalRow,
    DeployRow,
    EnvironmentRow,
    HoldRow,
    ReservationRow,
)
from signalbox.storage.tfstate_tables import TfLockRow, TfStateRow

__all__ = ["EnvironmentFactsRepository"]

_FINISHED_RUNS = (DeployState.SUCCEEDED, DeployState.FAILED)


T = TypeVar("T")


def _grouped(rows: Sequence[tuple[str, T]]) -> dict[str, list[T]]:
    found: dict[str, list[T]] = {}
    for environment, value in rows:
        found.setdefault(environment, []).append(value)
    return found


class EnvironmentFactsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def environments(self, names: Collection[str] | None) -> list[EnvironmentRow]:
        query = select(EnvironmentRow).order_by(EnvironmentRow.name)
        if names is not None:
            query = query.where(EnvironmentRow.name.in_(list(names)))
        return list(self.session.scalars(query))

    def current_holds(self, names: Collection[str]) -> dict[str, HoldRow]:
        """The unreleased hold of each environment (it may have lapsed: check with now)."""
        query = select(HoldRow).where(
            HoldRow.released_at.is_(None), HoldRow.environment.in_(list(names))
        )
        return {row.environment: row for row in self.session.scalars(query)}

    def active_deploys(self, names: Collection[str], now: datetime) -> dict[str, list[DeployRow]]:
        """Running deploys, and waiting ones whose gate is still asking, oldest first."""
        waiting_live = DeployRow.state.in_(list(WAITING_STATES)) & or_(
            DeployRow.wait_deadline.is_(None), DeployRow.wait_deadline > now
        )
        query = (
            select(DeployRow)
            .where(
                DeployRow.environment.in_(list(names)),
                DeployRow.state.in_(list(ACTIVE_STATES)),
                or_(DeployRow.state == DeployState.RUNNING, waiting_live),
            )
            .order_by(DeployRow.id)
        )
        return _grouped([(row.environment, row) for row in self.session.scalars(query)])

    def approval_decisions(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """The latest decision per (environment, plan digest) among ``keys``."""
        if not keys:
            return {}
        digests = sorted({digest for _, digest in keys})
        query = (
            select(ApprovalRow.environment, ApprovalRow.plan_digest, ApprovalRow.decision)
            .where(ApprovalRow.plan_digest.in_(digests))
            .order_by(ApprovalRow.id)
        )
        found: dict[tuple[str, str], str] = {}
        for environment, digest, decision in self.session.execute(query):
            if (environment, digest) in keys:
                found[(environment, digest)] = decision
        return found

    def reservations(
        self, names: Collection[str], now: datetime, horizon: datetime
    ) -> dict[str, list[ReservationRow]]:
        """Reservations not over that start before ``horizon``, and each environment's next
        one even when it starts later, by start."""
        place = (
            func.row_number()
            .over(
                partition_by=ReservationRow.environment,
                order_by=(ReservationRow.starts, ReservationRow.id),
            )
            .label("place")
        )
        ranked = (
            select(ReservationRow.id, place)
            .where(
                ReservationRow.environment.in_(list(names)),
                ReservationRow.ends > now,
                ReservationRow.cancelled_at.is_(None),
            )
            .subquery()
        )
        query = (
            select(ReservationRow)
            .join(ranked, ranked.c.id == ReservationRow.id)
            .where(or_(ranked.c.place == 1, ReservationRow.starts < horizon))
            .order_by(ReservationRow.starts, ReservationRow.id)
        )
        return _grouped([(row.environment, row) for row in self.session.scalars(query)])

    def recent_successful_durations(
        self, names: Collection[str], *, history: int
    ) -> dict[str, list[timedelta]]:
        """The last ``history`` successful durations of each environment, oldest first."""
        place = (
            func.row_number()
            .over(
                partition_by=DeployRow.environment,
                order_by=(DeployRow.finished_at.desc(), DeployRow.id.desc()),
            )
            .label("place")
        )
        ranked = (
            select(DeployRow.environment, DeployRow.duration_seconds, place)
            .where(
                DeployRow.environment.in_(list(names)),
                DeployRow.state == DeployState.SUCCEEDED,
                DeployRow.duration_seconds.is_not(None),
            )
            .subquery()
        )
        query = (
            select(ranked.c.environment, ranked.c.duration_seconds)
            .where(ranked.c.place <= history)
            .order_by(ranked.c.environment, ranked.c.place.desc())
        )
        rows = [(env, timedelta(seconds=seconds)) for env, seconds in self.session.execute(query)]
        return _grouped(rows)

    def last_finished(self, names: Collection[str]) -> dict[str, DeployRow]:
        """The most recently requested deploy of each environment that ran to an end
        (succeeded or failed)."""
        newest = (
            select(func.max(DeployRow.id))
            .where(
                DeployRow.environment.in_(list(names)),
                DeployRow.state.in_(list(_FINISHED_RUNS)),
            )
            .group_by(DeployRow.environment)
        )
        query = select(DeployRow).where(DeployRow.id.in_(newest)).options(defer(DeployRow.analysis))
        return {row.environment: row for row in self.session.scalars(query)}

    def terraform_locks(
        self, names: Collection[str]
    ) -> dict[str, list[tuple[TfLockRow, TfStateRow]]]:
        query = (
            select(TfLockRow, TfStateRow)
            .join(TfStateRow, TfStateRow.id == TfLockRow.state_id)
            .where(TfStateRow.environment.in_(list(names)))
            .order_by(TfStateRow.name)
        )
        rows = [(state.environment, (lock, state)) for lock, state in self.session.execute(query)]
        return _grouped(rows)

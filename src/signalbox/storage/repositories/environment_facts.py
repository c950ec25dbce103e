"""What the pictures of many environments are computed from, read with a fixed number of
queries however many environments there are (never one query per environment).

Plain Core queries on one read-only connection (no Session): the rows are read once and
turned into the core's values, so there is no identity map to fill and expire. Each method
answers for every environment in ``names`` at once (None: every environment, unfiltered).
The figures that would need a scan of the deploy history (the durations of the last
successful deploys, the last deploy that ran to an end) are kept on the environment's row
by the deploys' outcomes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, FromClause, Row, Select, func, or_, select

from signalbox.core.incidents import IncidentStatus
from signalbox.core.queue import ACTIVE_STATES, WAITING_STATES
from signalbox.core.views import DeployState
from signalbox.storage.tables import (
    ApprovalRow,
    DeployRow,
    EnvironmentRow,
    HoldRow,
    IncidentRow,
    ReservationRow,
)
from signalbox.storage.tfstate_tables import TfLockRow, TfStateRow

__all__ = ["EnvironmentFactsRepository"]

T = TypeVar("T")

_ENVIRONMENTS = EnvironmentRow.__table__
_HOLDS = HoldRow.__table__
_DEPLOYS = DeployRow.__table__
_RESERVATIONS = ReservationRow.__table__
_INCIDENTS = IncidentRow.__table__
_SUMMARY_COLUMNS = [column for column in _DEPLOYS.c if column.name != "analysis"]


def _grouped(rows: Sequence[tuple[str, T]]) -> dict[str, list[T]]:
    found: dict[str, list[T]] = {}
    for environment, value in rows:
        found.setdefault(environment, []).append(value)
    return found


def _among(query: Select[Any], table: FromClause, names: Collection[str] | None) -> Select[Any]:
    """``query`` limited to the environments ``names`` (None: every environment, no filter)."""
    return query if names is None else query.where(table.c.environment.in_(list(names)))


class EnvironmentFactsRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def environments(self) -> list[Row[Any]]:
        """Every configured environment, by name (with its kept deploy figures), and the
        ``until`` of its unreleased hold, of which there is at most one, as ``hold_until``
        (None: no hold)."""
        current = (_HOLDS.c.environment == _ENVIRONMENTS.c.name) & _HOLDS.c.released_at.is_(None)
        query = (
            select(_ENVIRONMENTS, _HOLDS.c.until.label("hold_until"))
            .select_from(_ENVIRONMENTS.outerjoin(_HOLDS, current))
            .where(_ENVIRONMENTS.c.configured)
            .order_by(_ENVIRONMENTS.c.name)
        )
        return list(self.connection.execute(query))

    def current_holds(self, names: Collection[str] | None) -> dict[str, Row[Any]]:
        """The unreleased hold of each environment (it may have lapsed: check with now)."""
        query = _among(select(_HOLDS).where(_HOLDS.c.released_at.is_(None)), _HOLDS, names)
        return {row.environment: row for row in self.connection.execute(query)}

    def active_deploys(
        self, names: Collection[str] | None, now: datetime
    ) -> dict[str, list[Row[Any]]]:
        """Running deploys, and waiting ones whose gate is still asking, oldest first."""
        waiting_live = _DEPLOYS.c.state.in_(list(WAITING_STATES)) & or_(
            _DEPLOYS.c.wait_deadline.is_(None), _DEPLOYS.c.wait_deadline > now
        )
        query = select(_DEPLOYS).where(
            _DEPLOYS.c.state.in_(list(ACTIVE_STATES)),
            or_(_DEPLOYS.c.state == DeployState.RUNNING, waiting_live),
        )
        query = _among(query, _DEPLOYS, names).order_by(_DEPLOYS.c.id)
        return _grouped([(row.environment, row) for row in self.connection.execute(query)])

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
        for environment, digest, decision in self.connection.execute(query):
            if (environment, digest) in keys:
                found[(environment, digest)] = decision
        return found

    def reservations(
        self, names: Collection[str] | None, now: datetime, horizon: datetime
    ) -> dict[str, list[Row[Any]]]:
        """Reservations not over that start before ``horizon``, and each environment's next
        one even when it starts later, by start."""
        place = (
            func.row_number()
            .over(
                partition_by=_RESERVATIONS.c.environment,
                order_by=(_RESERVATIONS.c.starts, _RESERVATIONS.c.id),
            )
            .label("place")
        )
        not_over = select(_RESERVATIONS, place).where(
            _RESERVATIONS.c.ends > now, _RESERVATIONS.c.cancelled_at.is_(None)
        )
        ranked = _among(not_over, _RESERVATIONS, names).subquery()
        query = (
            select(ranked)
            .where(or_(ranked.c.place == 1, ranked.c.starts < horizon))
            .order_by(ranked.c.starts, ranked.c.id)
        )
        return _grouped([(row.environment, row) for row in self.connection.execute(query)])

    def open_incidents(self, names: Collection[str] | None) -> dict[str, Row[Any]]:
        """Each environment's open incident (at most one: a partial unique index says so)."""
        query = select(_INCIDENTS).where(_INCIDENTS.c.status != IncidentStatus.RESOLVED.value)
        return {
            row.environment: row
            for row in self.connection.execute(_among(query, _INCIDENTS, names))
        }

    def deploys(self, ids: Collection[int]) -> dict[int, Row[Any]]:
        """Deploys by id, without their plan analyses."""
        if not ids:
            return {}
        query = select(*_SUMMARY_COLUMNS).where(_DEPLOYS.c.id.in_(list(ids)))
        return {row.id: row for row in self.connection.execute(query)}

    def terraform_locks(
        self, names: Collection[str] | None
    ) -> dict[str, list[tuple[TfLockRow, TfStateRow]]]:
        """Each environment's Terraform locks with their states, by state name."""
        locks, states = TfLockRow.__table__, TfStateRow.__table__
        query = select(locks, states.c.environment, states.c.name).join(
            states, states.c.id == locks.c.state_id
        )
        query = _among(query, states, names).order_by(states.c.name)
        found = []
        for row in self.connection.execute(query):
            lock = TfLockRow(
                state_id=row.state_id,
                lock_id=row.lock_id,
                info=row.info,
                owner=row.owner,
                owner_is_ci=row.owner_is_ci,
                created_at=row.created_at,
            )
            found.append(
                (row.environment, (lock, TfStateRow(environment=row.environment, name=row.name)))
            )
        return _grouped(found)

"""What ``GET /metrics`` reports from the database, read when it is scraped.

Counts that live in the database are read from it at every scrape, never counted in one
server's memory: several servers sharing one database report the same figures. Each family
is one aggregate query, all in one read-only transaction; ``api.metrics`` turns the result
into Prometheus families. Holds, waiting gates and the notification backlog read few rows;
the deploy-duration histogram and the state-write totals aggregate every deploy and state
version ever kept, so their cost grows with history (milliseconds for thousands of rows;
running totals kept by the writes would make it constant, not done yet).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, Select, case, func, select, union_all

from signalbox.storage.tables import (
    OPEN_DELIVERY_STATES,
    DeliveryState,
    DeployRow,
    EventDeliveryRow,
    EventRow,
    HoldRow,
)
from signalbox.storage.tfstate_tables import TfStateRow, TfStateVersionRow
from signalbox.storage.uow import UnitOfWork

__all__ = [
    "DURATION_BUCKETS",
    "DeployDurations",
    "MetricsSnapshot",
    "read_snapshot",
]

DURATION_BUCKETS: tuple[float, ...] = (10, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200)
"""Upper bounds (seconds) of the deploy-duration histogram's buckets; +Inf is added."""


@dataclass(frozen=True)
class DeployDurations:
    """The finished deploys of one environment with one outcome: how many, their summed
    duration, and how many took at most each of ``DURATION_BUCKETS``."""

    environment: str
    outcome: str
    count: int
    total_seconds: float
    at_most: tuple[int, ...]


@dataclass(frozen=True)
class MetricsSnapshot:
    holds: Sequence[tuple[str, str, str, int]]
    """(environment, kind, state, count) of the current holds: state held, or lapsed (its
    lease ran out and the sweeper has not ended it yet)."""
    deploys: Sequence[tuple[str, str, int]]
    """(environment, state, count) of every deploy ever requested."""
    durations: Sequence[DeployDurations]
    state_writes: Sequence[tuple[str, int, int]]
    """(environment, versions written, bytes written) of the Terraform states."""
    deliveries: Sequence[tuple[str, str, int]]
    """(target, state, count) of the deliveries not delivered: pending, sending, failed or
    given-up."""
    events_to_fan_out: int
    """Events the notifier has not yet turned into deliveries."""


def _holds(uow: UnitOfWork, now: datetime) -> list[tuple[str, str, str, int]]:
    state = case((HoldRow.until > now, "held"), else_="lapsed")
    rows = uow.session.execute(
        select(HoldRow.environment, HoldRow.kind, state, func.count())
        .where(HoldRow.released_at.is_(None))
        .group_by(HoldRow.environment, HoldRow.kind, state)
    )
    return [(env, kind, held, int(count)) for env, kind, held, count in rows]


def _deploys(uow: UnitOfWork) -> list[tuple[str, str, int]]:
    rows = uow.session.execute(
        select(DeployRow.environment, DeployRow.state, func.count()).group_by(
            DeployRow.environment, DeployRow.state
        )
    )
    return [(env, state, int(count)) for env, state, count in rows]


def _durations(uow: UnitOfWork) -> list[DeployDurations]:
    seconds = DeployRow.duration_seconds
    buckets = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in DURATION_BUCKETS]
    outcome = func.coalesce(DeployRow.outcome, "")
    rows = uow.session.execute(
        select(DeployRow.environment, outcome, func.count(), func.sum(seconds), *buckets)
        .where(seconds.is_not(None))
        .group_by(DeployRow.environment, outcome)
    )
    return [
        DeployDurations(
            environment=row[0],
            outcome=row[1],
            count=int(row[2]),
            total_seconds=float(row[3] or 0.0),
            at_most=tuple(int(n or 0) for n in row[4:]),
        )
        for row in rows
    ]


def _state_writes(uow: UnitOfWork) -> list[tuple[str, int, int]]:
    rows = uow.session.execute(
        select(
            TfStateRow.environment, func.count(), func.coalesce(func.sum(TfStateVersionRow.size), 0)
        )
        .join(TfStateRow, TfStateRow.id == TfStateVersionRow.state_id)
        .group_by(TfStateRow.environment)
    )
    return [(env, int(count), int(size)) for env, count, size in rows]


def _deliveries(uow: UnitOfWork) -> list[tuple[str, str, int]]:
    def counted(*states: str) -> Select[str, str, int]:
        table = EventDeliveryRow
        return (
            select(table.target, table.state, func.count())
            .where(table.state.in_(states))
            .group_by(table.target, table.state)
        )

    # one statement, each half read from its partial index (never the delivered history)
    rows = uow.session.execute(
        union_all(counted(*OPEN_DELIVERY_STATES), counted(DeliveryState.GIVEN_UP))
    )
    return [(row[0], row[1], int(row[2])) for row in rows]


def _events_to_fan_out(uow: UnitOfWork) -> int:
    query = select(func.count()).select_from(EventRow).where(EventRow.fanned_out_at.is_(None))
    return int(uow.session.execute(query).scalar_one())


def read_snapshot(engine: Engine, *, now: datetime, notifying: bool) -> MetricsSnapshot:
    """Every database figure of ``/metrics`` as of ``now``, in one read-only transaction.
    ``notifying``: notification targets are configured (without them nothing fans events
    out, and the outbox figures are not read)."""
    with UnitOfWork(engine, read_only=True) as uow:
        return MetricsSnapshot(
            holds=_holds(uow, now),
            deploys=_deploys(uow),
            durations=_durations(uow),
            state_writes=_state_writes(uow),
            deliveries=_deliveries(uow) if notifying else [],
            events_to_fan_out=_events_to_fan_out(uow) if notifying else 0,
        )

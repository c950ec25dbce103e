"""What the gate decides over: one environment's snapshot, read inside the deciding transaction.

``load_snapshot`` first tidies what time has ended (in the same transaction, each with its
event): a running deploy whose lease lapsed is failed (its runner died), and a waiting
deploy whose gate stopped asking (``wait_deadline`` passed) is expired, so neither blocks
the queue. Then it reads the hold, the active deploys (with their approval state), the
reservations and freeze windows ahead, and the expected duration from recent deploys.

``recheck_at`` is the next instant at which time alone could change a decision (a lease
lapses, a reservation comes within reach or ends): waiting gates are woken then.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from signalbox.core.deploy_stats import DEFAULT_HISTORY, expected_duration
from signalbox.core.gate import EnvironmentSnapshot
from signalbox.core.holds import is_live
from signalbox.core.views import DeployState, DeployView
from signalbox.services.events import record_event
from signalbox.services.reservations import freeze_windows_between
from signalbox.settings import Settings
from signalbox.storage.repositories import hold_view
from signalbox.storage.repositories.deploys import (
    ApprovalRepository,
    DeployRepository,
    approval_key,
    deploy_view,
)
from signalbox.storage.repositories.reservations import (
    ReservationRepository,
    reservation_view,
)
from signalbox.storage.tables import DeployRow
from signalbox.storage.uow import UnitOfWork

__all__ = [
    "WAITING_LEASE",
    "expire_stale_deploys",
    "load_snapshot",
    "recheck_at",
    "tidy_deploys",
    "view_of",
    "views_of",
]

WAITING_LEASE = timedelta(seconds=90)
"""A waiting deploy whose gate has not asked again for this long is expired."""

_RESERVATION_HORIZON = timedelta(days=2)


def view_of(uow: UnitOfWork, row: DeployRow) -> DeployView:
    """The core's view of ``row``, with the latest approval decision on its plan."""
    latest = ApprovalRepository(uow.session).latest(row.environment, approval_key(row))
    return deploy_view(row, approval=latest.decision if latest is not None else None)


def views_of(uow: UnitOfWork, environment: str, rows: list[DeployRow]) -> tuple[DeployView, ...]:
    """The core's views of ``rows`` (one environment), approvals read in one query."""
    digests = [approval_key(row) for row in rows]
    decisions = ApprovalRepository(uow.session).latest_by_digest(environment, digests)
    return tuple(deploy_view(row, approval=decisions.get(approval_key(row))) for row in rows)


def _fail_lapsed_running(uow: UnitOfWork, row: DeployRow, now: datetime) -> None:
    row.state = DeployState.FAILED
    row.outcome = "lease-lapsed"
    row.finished_at = now
    record_event(
        uow,
        environment=row.environment,
        actor="signalbox",
        kind="deploy.lapsed",
        message=f"Deploy {row.id} to {row.environment} stopped renewing its lease (its runner "
        f"died or lost the network); it is counted as failed and {row.environment} is free.",
        now=now,
        data={"deploy_id": row.id, "branch": row.branch, "commit": row.commit},
        deploy_id=row.id,
    )


def _expire_abandoned(uow: UnitOfWork, row: DeployRow, now: datetime) -> None:
    row.state = DeployState.EXPIRED
    row.refusal_reason = "wait-expired"
    row.refusal_message = (
        f"The gate of deploy {row.id} stopped asking while it waited; run the pipeline again."
    )
    row.finished_at = now
    record_event(
        uow,
        environment=row.environment,
        actor="signalbox",
        kind="deploy.abandoned",
        message=f"Deploy {row.id} to {row.environment} was waiting but its gate went away; "
        "it left the queue.",
        now=now,
        data={"deploy_id": row.id, "branch": row.branch, "commit": row.commit},
        deploy_id=row.id,
    )


def tidy_deploys(uow: UnitOfWork, environment: str, now: datetime) -> list[DeployRow]:
    """Fail running deploys without a live lease, expire abandoned waiting ones."""
    hold_row = uow.holds.current(environment)
    hold = hold_view(hold_row) if hold_row is not None else None
    active = []
    for row in DeployRepository(uow.session).active(environment):
        if row.state == DeployState.RUNNING:
            if not (is_live(hold, now) and hold is not None and hold.deploy_id == row.id):
                _fail_lapsed_running(uow, row, now)
                continue
        elif row.wait_deadline is not None and row.wait_deadline <= now:
            _expire_abandoned(uow, row, now)
            continue
        active.append(row)
    return active


def _expected(uow: UnitOfWork, settings: Settings, environment: str) -> timedelta:
    config = settings.environments.get(environment)
    configured = timedelta(seconds=config.expected_deploy_seconds if config else 600)
    recent = DeployRepository(uow.session).recent_successful_durations(
        environment, limit=DEFAULT_HISTORY
    )
    return expected_duration(recent, configured)


def load_snapshot(
    uow: UnitOfWork, settings: Settings, environment: str, *, timezone: str, now: datetime
) -> EnvironmentSnapshot:
    """The snapshot of ``environment`` (whose row the caller has locked)."""
    active = tidy_deploys(uow, environment, now)
    hold_row = uow.holds.current(environment)
    expected = _expected(uow, settings, environment)
    rows = ReservationRepository(uow.session).not_over(environments=[environment], now=now)
    horizon = now + expected + _RESERVATION_HORIZON
    windows = [reservation_view(row) for row in rows if row.starts < horizon]
    windows.extend(freeze_windows_between(settings, environment, now, horizon))
    return EnvironmentSnapshot(
        name=environment,
        hold=hold_view(hold_row) if hold_row is not None else None,
        deploys=views_of(uow, environment, active),
        reservations=tuple(sorted(windows, key=lambda w: (w.starts, w.ends))),
        expected_duration=expected,
        timezone=timezone,
    )


def recheck_at(snapshot: EnvironmentSnapshot, *, now: datetime) -> datetime | None:
    """The next instant at which time alone may change a decision, or None."""
    moments = []
    if snapshot.hold is not None:
        moments.append(snapshot.hold.until)
    for window in snapshot.reservations:
        moments.extend((window.starts - snapshot.expected_duration, window.ends))
    future = [moment for moment in moments if moment > now]
    return min(future, default=None)


def expire_stale_deploys(engine: Engine, *, now: datetime) -> list[str]:
    """Tidy every environment with a running deploy whose lease is gone or a waiting deploy
    whose gate went away (the server's housekeeping, every few seconds, so that `deploys`
    and `status` are right even when no gate is asking). Returns those environments."""
    with UnitOfWork(engine, read_only=True) as uow:
        stale = DeployRepository(uow.session).environments_with_stale_deploys(now)
    for environment in stale:
        with UnitOfWork(engine) as uow:
            uow.lock_environment(environment)
            tidy_deploys(uow, environment, now)
    return stale

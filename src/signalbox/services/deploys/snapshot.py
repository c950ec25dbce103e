"""What the gate decides over: one environment's snapshot, read inside the deciding transaction.

``load_snapshot`` reads the environment's hold and its open incident once, tidies what time
has ended (``tidy.tidy_deploys``: lapsed running deploys are failed, abandoned waiting ones
expired), then reads the active deploys (with their approval state), the reservations and freeze
windows ahead, and the expected duration (``core.deploy_stats``: the larger of the configured
one and the p90 of the recent deploys kept on the environment's row).

``read_snapshot`` is the same picture for a read-only transaction (a preflight): it writes
nothing, so what tidying would end (a lapsed running deploy, an abandoned waiting one) is
left out in memory, exactly as the next decision will record it.

``recheck_at`` is the next instant at which time alone could change a decision (a lease
lapses, a reservation comes within reach or ends): waiting gates are woken then.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row

from signalbox.core.deploy_stats import DeployEstimate, estimate_duration
from signalbox.core.gate import EnvironmentSnapshot
from signalbox.core.views import DeployView, HoldView
from signalbox.services.deploys.tidy import ended_by_time, tidy_deploys
from signalbox.services.reservations import freeze_windows_between
from signalbox.settings import Settings
from signalbox.storage.repositories import hold_view
from signalbox.storage.repositories.deploys import (
    ApprovalRepository,
    DeployRepository,
    approval_key,
    deploy_view,
)
from signalbox.storage.repositories.incidents import IncidentRepository, incident_view
from signalbox.storage.repositories.reservations import (
    ReservationRepository,
    reservation_view,
)
from signalbox.storage.tables import DeployRow, EnvironmentRow
from signalbox.storage.uow import UnitOfWork

__all__ = [
    "estimate_for",
    "expected_for",
    "load_snapshot",
    "read_snapshot",
    "recheck_at",
    "view_in",
    "view_of",
    "views_of",
]

_RESERVATION_HORIZON = timedelta(days=2)


def view_of(uow: UnitOfWork, row: DeployRow) -> DeployView:
    """The core's view of ``row``, with the latest approval decision on its plan."""
    latest = ApprovalRepository(uow.session).latest(row.environment, approval_key(row))
    return deploy_view(row, approval=latest.decision if latest is not None else None)


def views_of(
    uow: UnitOfWork, environment: str, rows: Sequence[DeployRow | Row[Any]]
) -> tuple[DeployView, ...]:
    """The core's views of ``rows`` (one environment), approvals read in one query."""
    digests = [approval_key(row) for row in rows]
    decisions = ApprovalRepository(uow.session).latest_by_digest(environment, digests)
    return tuple(deploy_view(row, approval=decisions.get(approval_key(row))) for row in rows)


def view_in(uow: UnitOfWork, snapshot: EnvironmentSnapshot, row: DeployRow) -> DeployView:
    """The view of waiting ``row`` that ``snapshot`` holds (read with the others), or read
    anew when it is not there."""
    return snapshot.waiting_deploy(row.id) or view_of(uow, row)


def estimate_for(settings: Settings, environment: EnvironmentRow | Row[Any]) -> DeployEstimate:
    """How long a deploy to ``environment`` is expected to take, and why: the larger of its
    configured ``expected_deploy`` and the p90 of its last successful deploys (kept on its
    row)."""
    config = settings.environments.get(environment.name)
    configured = timedelta(seconds=config.expected_deploy_seconds if config else 600)
    recent = [timedelta(seconds=seconds) for seconds in environment.recent_deploy_seconds or ()]
    return estimate_duration(recent, configured)


def expected_for(settings: Settings, environment: EnvironmentRow | Row[Any]) -> timedelta:
    """The figure of ``estimate_for`` alone."""
    return estimate_for(settings, environment).duration


def load_snapshot(
    uow: UnitOfWork, settings: Settings, environment: str, *, timezone: str, now: datetime
) -> EnvironmentSnapshot:
    """The snapshot of ``environment`` (whose row the caller has locked)."""
    current = uow.holds.current(environment)
    hold = hold_view(current) if current is not None else None
    tidy_deploys(uow, environment, hold, now=now)
    active = DeployRepository(uow.session).active_facts(environment)
    env = uow.environments.locked(environment)
    return _snapshot(uow, settings, env, hold, active, timezone=timezone, now=now)


def read_snapshot(
    uow: UnitOfWork, settings: Settings, environment: str, *, now: datetime
) -> EnvironmentSnapshot:
    """The snapshot of ``environment`` read without writing (``uow`` may be read-only): a
    running deploy whose lease lapsed and a waiting one whose gate went away are left out,
    as ``tidy_deploys`` would end them."""
    env = uow.environments.get(environment)
    current = uow.holds.current(environment)
    hold = hold_view(current) if current is not None else None
    rows = DeployRepository(uow.session).active_facts(environment)
    active = [row for row in rows if not ended_by_time(row, hold, now=now)]
    return _snapshot(uow, settings, env, hold, active, timezone=env.timezone, now=now)


def _snapshot(
    uow: UnitOfWork,
    settings: Settings,
    env: EnvironmentRow,
    hold: HoldView | None,
    active: Sequence[DeployRow | Row[Any]],
    *,
    timezone: str,
    now: datetime,
) -> EnvironmentSnapshot:
    environment = env.name
    estimate = estimate_for(settings, env)
    expected = estimate.duration
    rows = ReservationRepository(uow.session).not_over(environments=[environment], now=now)
    horizon = now + expected + _RESERVATION_HORIZON
    windows = [reservation_view(row) for row in rows if row.starts < horizon]
    windows.extend(freeze_windows_between(settings, environment, now, horizon))
    incident = IncidentRepository(uow.session).open_in(environment)
    return EnvironmentSnapshot(
        name=environment,
        hold=hold,
        deploys=views_of(uow, environment, active),
        reservations=tuple(sorted(windows, key=lambda w: (w.starts, w.ends))),
        expected_duration=expected,
        estimate=estimate,
        incident=incident_view(incident) if incident is not None else None,
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

"""Small builders of core values for the core tests (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from signalbox.core.incidents import IncidentStatus, IncidentView, Severity
from signalbox.core.views import (
    DeployState,
    DeployView,
    HoldKind,
    HoldView,
    Principal,
    ReservationView,
)

T0 = datetime(2026, 11, 26, 13, 44, tzinfo=UTC)  # 14:44 in Berlin, the story's apply
ENGINEER = Principal("platform-eng", is_ci=False)
CI = Principal("ci-dev", is_ci=True)
COO = Principal("coo", is_ci=False)


def at(minutes: float) -> datetime:
    """T0 plus ``minutes``."""
    return T0 + timedelta(minutes=minutes)


def deploy(
    ident: int,
    *,
    branch: str = "main",
    state: DeployState = DeployState.QUEUED,
    priority: int = 0,
    requested: float = 0,
    environment: str = "dev",
    requester: Principal = CI,
    verdict: str = "routine",
    approved: bool = False,
    denied: bool = False,
    incident_id: int | None = None,
) -> DeployView:
    return DeployView(
        id=ident,
        environment=environment,
        requester=requester,
        branch=branch,
        commit=f"c0ffee{ident:04d}",
        state=state,
        priority=priority,
        requested_at=at(requested),
        plan_verdict=verdict,
        plan_digest=None if verdict == "none" else f"sha256:{ident}",
        approved=approved,
        denied=denied,
        started_at=at(requested) if state is DeployState.RUNNING else None,
        incident_id=incident_id,
    )


def hold(
    owner: Principal = ENGINEER,
    *,
    since: float = -104,
    until: float = 136,
    kind: HoldKind = HoldKind.WORK,
    reason: str = "renaming cognito pool",
    token: int = 7,
    deploy_id: int | None = None,
    environment: str = "dev",
) -> HoldView:
    return HoldView(
        environment=environment,
        owner=owner,
        kind=kind,
        reason=reason,
        since=at(since),
        until=at(until),
        fencing_token=token,
        deploy_id=deploy_id,
    )


def reservation(
    starts: float,
    ends: float,
    *,
    ident: int | None = 1,
    owner: str = "coo",
    reason: str = "investor demo",
    kind: str = "reservation",
) -> ReservationView:
    return ReservationView(
        id=ident,
        environment="dev",
        owner=owner,
        reason=reason,
        starts=at(starts),
        ends=at(ends),
        kind=kind,
    )


def incident(
    ident: int = 3,
    *,
    commander: str = "alice",
    responders: tuple[str, ...] = (),
    severity: Severity = Severity.SEV1,
    status: IncidentStatus = IncidentStatus.INVESTIGATING,
    freezes: bool = True,
    opened: float = 1,
    eta: float | None = None,
    environment: str = "dev",
) -> IncidentView:
    """Incident ``ident`` on dev, opened ``opened`` minutes after T0 (14:45 in Berlin)."""
    return IncidentView(
        id=ident,
        environment=environment,
        title="users cannot log in",
        severity=severity,
        status=status,
        commander=commander,
        responders=responders,
        freezes=freezes,
        opened_at=at(opened),
        opened_by=commander,
        updated_at=at(opened),
        eta=at(eta) if eta is not None else None,
        resolved_at=at(opened + 40) if status is IncidentStatus.RESOLVED else None,
    )

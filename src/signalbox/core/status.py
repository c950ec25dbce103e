"""The picture of one environment, computed once: what is going on there, now.

``picture(facts, now=...)`` takes what the database knows about an environment (its gate
snapshot, the details of its active deploys, its last finished deploy and its Terraform
locks) and returns an ``EnvironmentPicture``: the state in one word, who holds it and why,
the next reservation and whether a deploy started now would overlap it, the queue with
positions, the running deploy with its plan summary, the last deploy, the Terraform locks,
and **every** reason that stops a deploy from going now (not only the first one the gate
would tell). `signalbox status`, ``GET /api/environments``, the board and the notifier
all read this one picture; none of them derives a state of its own.

The open incident is part of the picture (title, severity, commander, status, ETA, when it
was last updated), with the reservations it puts at risk.

States, the first that applies: ``deploying`` (a deploy runs), ``frozen`` (an open incident
freezes it), ``held`` (a person's work hold), ``frozen`` (a freeze window is in force),
``reserved-now`` (a reservation is in force), ``queued`` (deploys wait, none runs: e.g.
for an approval), ``reserved-soon`` (a deploy started now would still run when a window
begins), ``free``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from signalbox.core.gate import EnvironmentSnapshot, frozen_by, held_by, reserved_by
from signalbox.core.holds import is_live
from signalbox.core.incidents import AT_RISK_WITHOUT_ETA, IncidentView, at_risk
from signalbox.core.reservations import active_at, next_reservation, overlaps
from signalbox.core.tfstate.model import TerraformLock
from signalbox.core.times import require_utc, to_zone
from signalbox.core.views import DeployView, HoldKind, HoldView, ReservationView

__all__ = [
    "Blocker",
    "DeployDetails",
    "EnvironmentFacts",
    "EnvironmentPicture",
    "EnvironmentState",
    "FinishedDeploy",
    "PictureDeploy",
    "PlanSummary",
    "changes_at",
    "picture",
    "plan_summary",
]


class EnvironmentState(StrEnum):
    FREE = "free"
    HELD = "held"
    DEPLOYING = "deploying"
    QUEUED = "queued"
    RESERVED_NOW = "reserved-now"
    RESERVED_SOON = "reserved-soon"
    FROZEN = "frozen"


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """A plan in a line: its verdict, what it does by action, and the stateful resources
    it destroys or replaces (addresses only, never values)."""

    verdict: str
    counts: Mapping[str, int] = field(default_factory=dict)
    destroys: tuple[str, ...] = ()

    @property
    def line(self) -> str:
        """``destroys aws_cognito_user_pool.main; 1 to create, 1 to delete (needs-approval)``."""
        parts = []
        if self.destroys:
            parts.append("destroys " + ", ".join(self.destroys))
        changes = [f"{count} to {action}" for action, count in self.counts.items() if count]
        if changes:
            parts.append(", ".join(changes))
        said = "; ".join(parts) or "no changes"
        return f"{said} ({self.verdict})"


_COUNTED = ("create", "update", "replace", "delete", "import", "moved", "forget")
_DESTROY_FINDINGS = frozenset({"stateful-destroy", "stateful-replace"})


def plan_summary(verdict: str, analysis: Mapping[str, Any] | None) -> PlanSummary | None:
    """The summary of a stored plan analysis (schema ``signalbox.check/1``), or None when the
    deploy came without a plan."""
    if analysis is None:
        return None if verdict == "none" else PlanSummary(verdict)
    counts = dict.fromkeys(_COUNTED, 0)
    destroys: list[str] = []
    for plan in analysis.get("plans") or ():
        for action, count in (plan.get("counts") or {}).items():
            if action in counts and isinstance(count, int):
                counts[action] += count
        for finding in plan.get("findings") or ():
            address = finding.get("address")
            if finding.get("id") in _DESTROY_FINDINGS and address and address not in destroys:
                destroys.append(str(address))
    return PlanSummary(verdict, counts, tuple(destroys))


@dataclass(frozen=True, slots=True)
class DeployDetails:
    """What the picture shows of a deploy beyond the gate's view of it."""

    actor: str = ""
    run_url: str = ""
    plan: PlanSummary | None = None


@dataclass(frozen=True, slots=True)
class PictureDeploy:
    """A running or waiting deploy; ``position`` 1 is next to go (None: running)."""

    id: int
    requester: str
    actor: str
    branch: str
    commit: str
    state: str
    requested_at: datetime
    started_at: datetime | None
    position: int | None
    plan: PlanSummary | None
    run_url: str = ""
    hotfix_for: int | None = None


@dataclass(frozen=True, slots=True)
class FinishedDeploy:
    """The last deploy that ran to an end: succeeded, or failed (a lapsed lease included);
    refused, cancelled and expired deploys never ran."""

    id: int
    requester: str
    branch: str
    commit: str
    state: str
    outcome: str | None
    finished_at: datetime
    duration_seconds: float | None


@dataclass(frozen=True, slots=True)
class Blocker:
    """One reason a deploy cannot go now. ``effect`` is ``refused`` (the gate stops it) or
    ``waits`` (the gate queues it); ``whom`` to ask, ``until`` when it ends if known."""

    reason: str
    effect: str
    message: str
    whom: str | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class EnvironmentFacts:
    """Everything the picture is computed from, read in one go."""

    snapshot: EnvironmentSnapshot
    version: int = 0
    last_fencing_token: int = 0
    details: Mapping[int, DeployDetails] = field(default_factory=dict)
    last_finished: FinishedDeploy | None = None
    terraform_locks: Sequence[TerraformLock] = ()
    wait_deadlines: Mapping[int, datetime] = field(default_factory=dict)
    """When each waiting deploy leaves the queue unless its gate asks again."""


@dataclass(frozen=True, slots=True)
class EnvironmentPicture:
    name: str
    timezone: str
    state: EnvironmentState
    hold: HoldView | None
    running: PictureDeploy | None
    queue: tuple[PictureDeploy, ...]
    reservation_now: ReservationView | None
    next_reservation: ReservationView | None
    next_reservation_overlaps_deploy: bool
    expected_deploy: timedelta
    last_deploy: FinishedDeploy | None
    terraform_locks: tuple[TerraformLock, ...]
    blocking: tuple[Blocker, ...]
    version: int
    last_fencing_token: int
    incident: IncidentView | None = None
    """The environment's open incident, if any."""
    at_risk: tuple[ReservationView, ...] = ()
    """The reservations the open incident puts at risk."""


def picture(facts: EnvironmentFacts, *, now: datetime) -> EnvironmentPicture:
    """The picture of ``facts``' environment at ``now``."""
    now = require_utc(now)
    snapshot = facts.snapshot
    hold = snapshot.hold if is_live(snapshot.hold, now) else None
    running = _running(snapshot, hold, facts.details)
    queue = tuple(
        _shown(deploy, facts.details, position)
        for position, deploy in enumerate(snapshot.queue, start=1)
    )
    in_force = active_at(snapshot.reservations, now)
    upcoming = next_reservation(snapshot.reservations, now)
    deploy_end = now + snapshot.expected_duration
    blocking = _blockers(snapshot, hold, running, queue, now)
    return EnvironmentPicture(
        name=snapshot.name,
        timezone=snapshot.timezone or "UTC",
        state=_state(hold, running, in_force, queue, blocking, snapshot.frozen),
        hold=hold,
        running=running,
        queue=queue,
        reservation_now=in_force,
        next_reservation=upcoming,
        next_reservation_overlaps_deploy=upcoming is not None
        and overlaps(upcoming, now, deploy_end),
        expected_deploy=snapshot.expected_duration,
        last_deploy=facts.last_finished,
        terraform_locks=tuple(facts.terraform_locks),
        blocking=blocking,
        version=facts.version,
        last_fencing_token=facts.last_fencing_token,
        incident=snapshot.incident,
        at_risk=at_risk(snapshot.incident, snapshot.reservations, now=now)
        if snapshot.incident is not None
        else (),
    )


def changes_at(facts: EnvironmentFacts, *, now: datetime) -> datetime | None:
    """The next instant after ``now`` at which time alone may change the picture of
    ``facts`` (a lease lapses, a waiting gate's deadline passes, a window comes within a
    deploy's reach, begins or ends, the day changes in the environment's zone); None if
    nothing would. Until then, ``picture(facts, now=t)`` is the same for every ``t``."""
    now = require_utc(now)
    snapshot = facts.snapshot
    moments = [*facts.wait_deadlines.values(), _next_midnight(now, snapshot.timezone or "UTC")]
    if snapshot.hold is not None:
        moments.append(snapshot.hold.until)
    for window in snapshot.reservations:
        # a deploy started at t overlaps the window once t > starts - expected: the first
        # instant that differs is one tick (a microsecond) after that
        within_reach = window.starts - snapshot.expected_duration + _TICK
        moments.extend((within_reach, window.starts, window.ends))
    incident = snapshot.incident
    if incident is not None and incident.is_open:  # a window comes within the risk horizon
        if incident.eta is not None:
            moments.append(incident.eta)
        else:
            moments.extend(w.starts - AT_RISK_WITHOUT_ETA + _TICK for w in snapshot.reservations)
    return min((moment for moment in moments if moment > now), default=None)


_TICK = timedelta(microseconds=1)
"""The resolution of a datetime: the first instant after another."""


def _next_midnight(now: datetime, timezone: str) -> datetime:
    """The next start of a day in ``timezone`` (times in sentences name the day when it is
    not today)."""
    local = to_zone(now, timezone)
    tomorrow = datetime.combine(local.date() + timedelta(days=1), time(), tzinfo=local.tzinfo)
    return tomorrow.astimezone(UTC)


def _shown(
    deploy: DeployView, details: Mapping[int, DeployDetails], position: int | None
) -> PictureDeploy:
    more = details.get(deploy.id, DeployDetails())
    return PictureDeploy(
        id=deploy.id,
        requester=deploy.requester.name,
        actor=more.actor,
        branch=deploy.branch,
        commit=deploy.commit,
        state=str(deploy.state),
        requested_at=deploy.requested_at,
        started_at=deploy.started_at,
        position=position,
        plan=more.plan,
        run_url=more.run_url,
        hotfix_for=deploy.incident_id,
    )


def _running(
    snapshot: EnvironmentSnapshot, hold: HoldView | None, details: Mapping[int, DeployDetails]
) -> PictureDeploy | None:
    """The running deploy while its deploy hold is live (a lapsed one is no longer running:
    its runner died, and the next decision records it as failed)."""
    deploy = snapshot.running
    if deploy is None or hold is None or hold.deploy_id != deploy.id:
        return None
    return _shown(deploy, details, None)


def _state(
    hold: HoldView | None,
    running: PictureDeploy | None,
    in_force: ReservationView | None,
    queue: tuple[PictureDeploy, ...],
    blocking: tuple[Blocker, ...],
    frozen: bool,
) -> EnvironmentState:
    if running is not None or (hold is not None and hold.kind is HoldKind.DEPLOY):
        return EnvironmentState.DEPLOYING
    if frozen:
        return EnvironmentState.FROZEN
    if hold is not None:
        return EnvironmentState.HELD
    if in_force is not None:
        return (
            EnvironmentState.FROZEN if in_force.kind == "freeze" else EnvironmentState.RESERVED_NOW
        )
    if queue:
        return EnvironmentState.QUEUED
    if any(blocker.reason in ("reserved", "freeze") for blocker in blocking):
        return EnvironmentState.RESERVED_SOON
    return EnvironmentState.FREE


def _blockers(
    snapshot: EnvironmentSnapshot,
    hold: HoldView | None,
    running: PictureDeploy | None,
    queue: tuple[PictureDeploy, ...],
    now: datetime,
) -> tuple[Blocker, ...]:
    """Every reason a deploy requested now would not go: refusals first, in the gate's order
    (frozen, held, reserved), then what it would wait for (a running deploy, the queue)."""
    env = snapshot.name
    found: list[Blocker] = []
    if snapshot.incident is not None and snapshot.frozen:
        incident = snapshot.incident
        message = frozen_by(snapshot, now=now)
        found.append(Blocker("frozen", "refused", message, incident.commander, incident.eta))
    if hold is not None and hold.kind is HoldKind.WORK:
        found.append(_held(snapshot, hold, now))
    end = now + snapshot.expected_duration
    for window in snapshot.reservations:
        if overlaps(window, now, end):
            found.append(_reserved(snapshot, window, now))
    if running is not None or (hold is not None and hold.kind is HoldKind.DEPLOY):
        found.append(_busy(env, running, hold))
    if queue:
        found.append(_queued(env, queue))
    return tuple(found)


def _held(snapshot: EnvironmentSnapshot, hold: HoldView, now: datetime) -> Blocker:
    return Blocker("held", "refused", *held_by(snapshot, hold, now=now))


def _reserved(snapshot: EnvironmentSnapshot, window: ReservationView, now: datetime) -> Blocker:
    reason = "freeze" if window.kind == "freeze" else "reserved"
    return Blocker(reason, "refused", *reserved_by(snapshot, window, now=now))


def _busy(env: str, running: PictureDeploy | None, hold: HoldView | None) -> Blocker:
    if running is None:
        assert hold is not None
        message = f"A deploy holds {env} until its lease lapses; a new deploy waits for it."
        return Blocker("deploying", "waits", message, hold.owner.name, hold.until)
    ref = " @ ".join(part for part in (running.branch, running.commit[:7]) if part)
    what = f" ({ref})" if ref else ""
    message = (
        f"Deploy {running.id}{what} by {running.requester} is running on {env}; "
        "a new deploy waits for it."
    )
    return Blocker("deploying", "waits", message, running.requester)


def _queued(env: str, queue: tuple[PictureDeploy, ...]) -> Blocker:
    count = len(queue)
    deploys = "deploy is" if count == 1 else "deploys are"
    first = queue[0]
    message = (
        f"{count} {deploys} queued for {env} (next: deploy {first.id} by {first.requester}); "
        "a new deploy goes after them."
    )
    return Blocker("queued", "waits", message, first.requester)

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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from signalbox.core.events import commit_ref
from signalbox.core.gate import (
    EnvironmentSnapshot,
    approvers,
    blocked_by,
    denied_by,
    deploy_hold_of_another,
    environment_reasons,
    is_hotfix,
    needs_approval,
    plan_lacking,
)
from signalbox.core.holds import is_live
from signalbox.core.incidents import AT_RISK_WITHOUT_ETA, IncidentView, at_risk
from signalbox.core.queue import places, queue_order
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
    "approval_wanted",
    "changes_at",
    "every_reason",
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
    now_running = _running_now(snapshot, now)
    running = _shown(now_running, facts.details, None) if now_running is not None else None
    queue = tuple(
        _shown(deploy, facts.details, position)
        for position, deploy in enumerate(snapshot.queue, start=1)
    )
    in_force = active_at(snapshot.reservations, now)
    upcoming = next_reservation(snapshot.reservations, now)
    deploy_end = now + snapshot.expected_duration
    blocking = every_reason(_without_lapsed(snapshot, now_running), now=now)
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


def _without_lapsed(
    snapshot: EnvironmentSnapshot, running: DeployView | None
) -> EnvironmentSnapshot:
    """``snapshot`` without a running deploy whose lease lapsed (``running`` is the one still
    running, if any): the picture is read without tidying, and the gate's next decision
    ends it, so nobody would wait for it."""
    if snapshot.running is None or snapshot.running is running:
        return snapshot
    lapsed = snapshot.running.id
    return replace(snapshot, deploys=tuple(d for d in snapshot.deploys if d.id != lapsed))


def _running_now(snapshot: EnvironmentSnapshot, now: datetime) -> DeployView | None:
    """The running deploy while its deploy hold is live (a lapsed one is no longer running:
    its runner died, and the next decision records it as failed)."""
    deploy, hold = snapshot.running, snapshot.hold
    if deploy is None or hold is None or not is_live(hold, now) or hold.deploy_id != deploy.id:
        return None
    return deploy


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


def every_reason(
    snapshot: EnvironmentSnapshot, deploy: DeployView | None = None, *, now: datetime
) -> tuple[Blocker, ...]:
    """Every reason a deploy requested now would not go, not only the first one the gate
    would tell: refusals first, in the gate's order (its plan denied or blocked, frozen,
    held, each reservation or freeze window it would run into), then what it would wait for
    (an approval, the running deploy, the deploys ahead of it).

    ``deploy`` None: a deploy anyone might request (the picture's "a deploy started now
    would not go"). A given ``deploy`` (preflight's, not stored) is judged as itself: its
    plan and approval, its requester's own hold, its place in the queue, and for a hotfix of
    the open incident no freeze and no windows (the incident puts those at risk).
    """
    now = require_utc(now)
    env, found = snapshot.name, []
    hotfix = deploy is not None and is_hotfix(snapshot, deploy)
    if deploy is not None and deploy.denied:
        found.append(Blocker("denied", "refused", denied_by(env, f"this plan for {env}")))
    if deploy is not None and deploy.plan_verdict == "blocked":
        found.append(Blocker("blocked", "refused", blocked_by(env, "this plan")))
    found += [
        Blocker(str(reason.reason), "refused", reason.message, reason.whom, reason.until)
        for reason in environment_reasons(snapshot, deploy, now)
    ]
    incident = snapshot.incident
    if deploy is not None and needs_approval(snapshot, deploy):
        whom = incident.commander if incident is not None and hotfix else None
        found.append(Blocker("needs-approval", "waits", approval_wanted(snapshot, deploy), whom))
    what = "the hotfix" if hotfix else "a new deploy"
    busy = _busy(snapshot, deploy, what, now)
    if busy is not None:
        found.append(busy)
    ahead = _ahead(snapshot, deploy)
    if ahead:
        first, count = ahead[0], len(ahead)
        deploys = "deploy is" if count == 1 else "deploys are"
        message = (
            f"{count} {deploys} queued for {env} (next: deploy {first.id} by "
            f"{first.requester.name}); {what} goes after them."
        )
        found.append(Blocker("queued", "waits", message, first.requester.name))
    return tuple(found)


def approval_wanted(snapshot: EnvironmentSnapshot, deploy: DeployView) -> str:
    """What a deploy requested now waits for when its plan needs an approval, and whom."""
    return (
        f"A deploy to {snapshot.name} now {plan_lacking(deploy)}; it would wait for "
        f"{approvers(snapshot, deploy)} to run `signalbox approve ID`."
    )


def _busy(
    snapshot: EnvironmentSnapshot, deploy: DeployView | None, what: str, now: datetime
) -> Blocker | None:
    """The deploy running, or a deploy hold whose lease has not lapsed yet: one deploy at a
    time (as the gate waits, ``core.gate``'s step 8)."""
    env, hold = snapshot.name, snapshot.hold
    running = snapshot.running
    if running is not None and (deploy is None or running.id != deploy.id):
        ref = commit_ref(running.branch, running.commit)
        message = (
            f"Deploy {running.id}{f' ({ref})' if ref else ''} by {running.requester.name} "
            f"is running on {env}; {what} waits for it."
        )
        return Blocker("deploying", "waits", message, running.requester.name)
    if deploy_hold_of_another(snapshot, deploy.id if deploy else None, now=now):
        assert hold is not None
        message = f"A deploy holds {env} until its lease lapses; {what} waits for it."
        return Blocker("deploying", "waits", message, hold.owner.name, hold.until)
    return None


def _ahead(snapshot: EnvironmentSnapshot, deploy: DeployView | None) -> Sequence[DeployView]:
    """The waiting deploys that would go before ``deploy`` (None: one requested last)."""
    if deploy is None:
        return snapshot.queue
    queue = queue_order([*(d for d in snapshot.deploys if d.id != deploy.id), deploy])
    return queue[: places(queue)[deploy.id] - 1]

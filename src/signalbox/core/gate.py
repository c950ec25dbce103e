"""The gate: "may this deploy go now?", decided in exactly one function, ``decide_gate``.

The answer is a value, never an exception: ``Go``, ``Wait`` (queued, with a position),
``NeedsApproval`` or ``Refused``. A refusal tells every reason that applies, not only the
first (held, and a reservation it would run into, and a plan that needs approval: each a
``Reason`` with its one-sentence message naming whom to ask); the first is the primary
``reason``, with whom to ask and until when, and ``message`` holds every sentence.

``decide_wait_expiry`` turns a wait that ran out into its refusal: a queue wait that
expired (``wait-expired``, "refused for now") is told apart from an approval that never
came (``approval-expired``).

Times in messages are UTC ISO (``2026-11-26T13:00Z``) unless the snapshot names the
environment's time zone, in which case they are local (``15:30 CET``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from signalbox.core.deploy_stats import DeployEstimate
from signalbox.core.durations import format_duration
from signalbox.core.errors import InvalidInput, InvalidTransition
from signalbox.core.holds import is_live
from signalbox.core.incidents import IncidentView, frozen_message
from signalbox.core.queue import (
    WAITING_STATES,
    expected_wait,
    places,
    queue_order,
    running_deploy,
    superseded_message,
)
from signalbox.core.reservations import conflicts, next_free_start
from signalbox.core.times import format_for, require_utc
from signalbox.core.views import (
    DeployState,
    DeployView,
    HoldKind,
    HoldView,
    ReservationView,
)

__all__ = [
    "VERDICTS",
    "EnvironmentSnapshot",
    "GateDecision",
    "Go",
    "NeedsApproval",
    "Reason",
    "RefusalReason",
    "Refused",
    "Wait",
    "approvers",
    "blocked_by",
    "decide_gate",
    "decide_wait_expiry",
    "denied_by",
    "deploy_hold_of_another",
    "environment_reasons",
    "frozen_by",
    "held_by",
    "is_hotfix",
    "needs_approval",
    "plan_lacking",
    "reserved_by",
]

VERDICTS = frozenset({"routine", "needs-approval", "blocked", "none"})
_FINISHED = frozenset(
    {DeployState.SUCCEEDED, DeployState.FAILED, DeployState.REFUSED, DeployState.CANCELLED}
)


@dataclass(frozen=True, slots=True)
class EnvironmentSnapshot:
    """What the gate needs to know about one environment, read in the deciding transaction.

    ``deploys`` are its active deploys (queued, awaiting approval, running); ``reservations``
    the current and upcoming windows including materialised freezes. ``incident`` is the
    environment's open incident: while it freezes the environment only its hotfixes go, and
    its hotfixes go even into a reservation (which the incident puts at risk).
    ``unplanned_needs_approval``: a deploy without a plan (verdict ``none``) needs an
    approval, as only routine plans go without one. ``timezone`` (IANA name), when given,
    renders times in messages as local times. ``estimate``, when given, is how
    ``expected_duration`` was found (``core.deploy_stats``): a refusal for a window ahead
    says which figure it used and why.

    ``queue`` (derived, not passed) is the waiting deploys in queue order and ``running``
    the running one, found once per snapshot so that deciding many deploys against it does
    not sort the queue again for each.
    """

    name: str
    hold: HoldView | None
    deploys: tuple[DeployView, ...]
    reservations: tuple[ReservationView, ...]
    expected_duration: timedelta
    incident: IncidentView | None = None
    unplanned_needs_approval: bool = True
    timezone: str | None = None
    estimate: DeployEstimate | None = None
    queue: tuple[DeployView, ...] = field(init=False, repr=False, compare=False)
    running: DeployView | None = field(init=False, repr=False, compare=False)
    _places: dict[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        queue = tuple(queue_order(self.deploys))
        known = places(queue)
        if len({deploy.id for deploy in self.deploys}) != len(self.deploys):
            known = {}  # ids repeat: no place can be told from the snapshot alone
        object.__setattr__(self, "queue", queue)
        object.__setattr__(self, "running", running_deploy(self.deploys))
        object.__setattr__(self, "_places", known)

    @property
    def frozen(self) -> bool:
        """An open incident freezes the environment: only its hotfixes deploy."""
        return self.incident is not None and self.incident.is_freezing

    def place_in_queue(self, deploy: DeployView) -> int | None:
        """``deploy``'s 1-based place in ``queue`` when the snapshot holds this very view of
        it; None otherwise (then the queue with ``deploy`` as given must be sorted anew)."""
        place = self._places.get(deploy.id)
        if place is None or self.queue[place - 1] != deploy:
            return None
        return place

    def waiting_deploy(self, deploy_id: int) -> DeployView | None:
        """The view of ``deploy_id`` in ``queue``; None if it is not there (or ids repeat)."""
        place = self._places.get(deploy_id)
        return None if place is None else self.queue[place - 1]


@dataclass(frozen=True, slots=True)
class Go:
    deploy_id: int


@dataclass(frozen=True, slots=True)
class Wait:
    """Queued: ``position`` 1 is next; ``behind`` is the deploy directly ahead (or running).
    ``estimate``: about how long until it goes (``core.queue.expected_wait``; zero when
    nothing can be told, e.g. the deploy ahead already overran its expected time)."""

    deploy_id: int
    position: int
    behind: DeployView | None
    message: str = ""
    estimate: timedelta = timedelta(0)


@dataclass(frozen=True, slots=True)
class NeedsApproval:
    deploy_id: int
    verdict: str
    message: str = ""


class RefusalReason(StrEnum):
    HELD = "held"
    RESERVED = "reserved"
    FROZEN = "frozen"
    SUPERSEDED = "superseded"
    BLOCKED = "blocked"
    DENIED = "denied"
    WAIT_EXPIRED = "wait-expired"
    APPROVAL_EXPIRED = "approval-expired"


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason a deploy does not go: ``reason`` (a ``RefusalReason``, or
    ``needs-approval`` beside a refusal), its sentence naming whom to ask, ``whom`` (None:
    nobody in particular) and ``until`` when it ends (None: not by waiting)."""

    reason: str
    message: str
    whom: str | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    """No, with ``reason`` (the primary one); ``whom`` to ask about it (None: nobody in
    particular); ``until``: the earliest time it could go (None: not by waiting).
    ``reasons`` is every reason that applies, the primary first; ``message`` every one's
    sentence. Made without ``reasons``, the primary is the only one."""

    deploy_id: int
    reason: RefusalReason
    message: str
    whom: str | None
    until: datetime | None
    reasons: tuple[Reason, ...] = ()

    def __post_init__(self) -> None:
        if not self.reasons:
            only = Reason(str(self.reason), self.message, self.whom, self.until)
            object.__setattr__(self, "reasons", (only,))


GateDecision = Go | Wait | NeedsApproval | Refused


def decide_gate(
    snapshot: EnvironmentSnapshot, deploy: DeployView, *, now: datetime
) -> GateDecision:
    """May ``deploy`` go now? The checks, in this order, the first that applies answers
    (a refusal in steps 2-6 also lists every later reason of steps 2-7 that applies):

    0. the deploy is already running: Go (asking again is harmless). A finished deploy
       (succeeded, failed, refused, cancelled) raises InvalidTransition: it cannot go again.
    1. superseded by a newer request of the same branch: Refused(superseded);
    2. its approval was denied: Refused(denied); an expired one: Refused(wait-expired);
    3. the plan verdict is ``blocked``: Refused(blocked);
    4. the environment is frozen by an incident and this is not its hotfix: Refused(frozen),
       naming the incident's commander and ETA;
    5. a live work hold by someone other than the requester: Refused(held);
    6. a reservation or freeze window in force now, or starting before
       ``now + expected_duration``: Refused(reserved), ``until`` the first free start (not
       for a hotfix of the open incident: the incident puts those windows at risk), one
       reason for each such window;
    7. verdict ``needs-approval`` (or ``none``, unless the snapshot says otherwise) and not
       approved: NeedsApproval;
    8. another deploy is running, a live deploy hold belongs to another deploy, or a deploy
       is ahead in queue order (priority, then arrival, then id): Wait(position);
    9. otherwise Go.
    """
    now = require_utc(now)
    _check_belongs(snapshot, deploy)
    if deploy.state is DeployState.RUNNING:
        return Go(deploy.id)
    return (
        _refuse_as_over(snapshot, deploy)
        or _refuse(snapshot, deploy, now)
        or _needs_approval(snapshot, deploy)
        or _wait_in_queue(snapshot, deploy, now)
        or Go(deploy.id)
    )


def decide_wait_expiry(
    pending: Wait | NeedsApproval,
    *,
    wait_deadline: datetime,
    now: datetime,
    timezone: str | None = None,
) -> Refused | None:
    """None while ``now`` is before ``wait_deadline``; after it, the refusal to report.

    A deploy still waiting in the queue gets ``wait-expired`` (refused for now: run the
    pipeline again later); one still waiting for an approval gets ``approval-expired``
    (nobody approved in time). Both stop the CI job so that it frees its runner.
    """
    now, wait_deadline = require_utc(now), require_utc(wait_deadline)
    if now < wait_deadline:
        return None
    deadline = format_for(wait_deadline, timezone, now=now)
    ident = pending.deploy_id
    if isinstance(pending, NeedsApproval):
        message = (
            f"Nobody approved deploy {ident} by {deadline}, so it stopped waiting; ask an "
            f"approver to run `signalbox approve {ident}` and run the pipeline again."
        )
        return Refused(ident, RefusalReason.APPROVAL_EXPIRED, message, None, None)
    ahead = pending.behind
    whom = ahead.requester.name if ahead is not None else None
    behind = f", behind deploy {ahead.id} by {whom}" if ahead is not None else ""
    message = (
        f"Deploy {ident} was still number {pending.position} in the queue at {deadline}"
        f"{behind}, so it stopped waiting to free the runner; run the pipeline again later "
        "or give it a longer --wait."
    )
    return Refused(ident, RefusalReason.WAIT_EXPIRED, message, whom, None)


def _check_belongs(snapshot: EnvironmentSnapshot, deploy: DeployView) -> None:
    if deploy.environment != snapshot.name:
        raise InvalidInput(
            f"Deploy {deploy.id} is for {deploy.environment}, not {snapshot.name}.",
            hint="Decide a deploy against the snapshot of its own environment.",
        )
    if deploy.plan_verdict not in VERDICTS:
        raise InvalidInput(
            f"Deploy {deploy.id} has an unknown plan verdict {deploy.plan_verdict!r}.",
            hint=f"Use one of {', '.join(sorted(VERDICTS))}.",
        )
    if deploy.state in _FINISHED:
        raise InvalidTransition(
            f"Deploy {deploy.id} is {deploy.state.value}: a finished deploy cannot go again.",
            hint="Run the pipeline again to request a new deploy.",
        )


def _refuse_as_over(snapshot: EnvironmentSnapshot, deploy: DeployView) -> Refused | None:
    """Step 1, and a deploy that stopped waiting: it is over, no other reason matters."""
    ident, env = deploy.id, snapshot.name
    if deploy.state is DeployState.SUPERSEDED:
        message = superseded_message(deploy, _newest_of_branch(snapshot, deploy))
        return Refused(ident, RefusalReason.SUPERSEDED, message, None, None)
    if deploy.state is DeployState.EXPIRED:
        message = f"Deploy {ident} to {env} stopped waiting earlier; run the pipeline again."
        return Refused(ident, RefusalReason.WAIT_EXPIRED, message, None, None)
    return None


def _refuse(snapshot: EnvironmentSnapshot, deploy: DeployView, now: datetime) -> Refused | None:
    """Steps 2-6, every one that applies, and then step 7 as one more reason; None when no
    refusal applies (an approval alone makes it wait, not refused)."""
    found = [*_deploy_reasons(snapshot, deploy)]
    for reason in environment_reasons(snapshot, deploy, now):  # the protocol's word is reserved
        found.append(
            replace(reason, reason=RefusalReason.RESERVED) if reason.reason == "freeze" else reason
        )
    if not found:
        return None
    if not (deploy.denied or deploy.state is DeployState.DENIED):
        wanted = _needs_approval(snapshot, deploy)
        if wanted is not None:
            incident = snapshot.incident
            whom = (
                incident.commander if incident is not None and is_hotfix(snapshot, deploy) else None
            )
            found.append(Reason("needs-approval", wanted.message, whom))
    refusing = [reason for reason in found if reason.reason != "needs-approval"]
    primary = refusing[0]
    untils = [reason.until for reason in refusing]
    until = None if any(moment is None for moment in untils) else max(filter(None, untils))
    return Refused(
        deploy.id,
        RefusalReason(primary.reason),
        " ".join(reason.message for reason in found),
        primary.whom,
        until,
        tuple(found),
    )


def _deploy_reasons(snapshot: EnvironmentSnapshot, deploy: DeployView) -> list[Reason]:
    """Steps 2-3: reasons that belong to this deploy and that waiting will not change."""
    ident, env = deploy.id, snapshot.name
    found = []
    if deploy.denied or deploy.state is DeployState.DENIED:
        found.append(
            Reason(RefusalReason.DENIED, denied_by(env, f"the plan of deploy {ident} to {env}"))
        )
    if deploy.plan_verdict == "blocked":
        found.append(Reason(RefusalReason.BLOCKED, blocked_by(env, f"the plan of deploy {ident}")))
    return found


def environment_reasons(
    snapshot: EnvironmentSnapshot, deploy: DeployView | None, now: datetime
) -> list[Reason]:
    """Steps 4-6, every one that applies: the environment is not available to ``deploy``
    now (None: a deploy anyone might request, as the picture asks). Frozen (not for a hotfix
    of the open incident), held by someone other than its requester (a deploy hold makes
    others wait, step 8), and each reservation or freeze window a deploy started now would
    run into, earliest first (not for a hotfix): a freeze window's reason is ``freeze``."""
    found = []
    hotfix = deploy is not None and is_hotfix(snapshot, deploy)
    incident = snapshot.incident
    if incident is not None and snapshot.frozen and not hotfix:
        message = frozen_by(snapshot, now=now)
        found.append(Reason(RefusalReason.FROZEN, message, incident.commander, incident.eta))
    hold = snapshot.hold
    requester = deploy.requester.name if deploy is not None else None
    if (
        hold is not None
        and is_live(hold, now)
        and hold.kind is HoldKind.WORK
        and hold.owner.name != requester
    ):
        found.append(Reason(RefusalReason.HELD, *held_by(snapshot, hold, now=now)))
    if not hotfix:
        for window in conflicts(snapshot.reservations, now, now + snapshot.expected_duration):
            reason = "freeze" if window.kind == "freeze" else RefusalReason.RESERVED
            found.append(Reason(reason, *reserved_by(snapshot, window, now=now)))
    return found


def denied_by(env: str, plan: str) -> str:
    """Why a deploy whose ``plan`` (``the plan of deploy 7 to dev``, ``this plan for dev``)
    an approver denied cannot go."""
    return (
        f"An approver denied {plan}; ask them why (`signalbox deploys --env {env}`), change "
        "the plan and run the pipeline again."
    )


def blocked_by(env: str, plan: str) -> str:
    """Why a deploy whose ``plan`` (``the plan of deploy 7``, ``this plan``) the policy
    blocks cannot go, whatever an approver says."""
    return (
        f"{env}'s policy blocks {plan}, and no approval can let it through; change the plan "
        f"(`signalbox check plan.json --env {env}` shows why)."
    )


def is_hotfix(snapshot: EnvironmentSnapshot, deploy: DeployView) -> bool:
    """``deploy`` was asked for as a hotfix of the environment's open incident."""
    incident = snapshot.incident
    return incident is not None and incident.is_open and deploy.incident_id == incident.id


def frozen_by(snapshot: EnvironmentSnapshot, *, now: datetime) -> str:
    """Why a deploy that is not a hotfix cannot go while an incident freezes the environment."""
    if snapshot.incident is None:
        return f"{snapshot.name} is frozen by an open incident; only its hotfixes deploy."
    return frozen_message(snapshot.incident, timezone=snapshot.timezone, now=now)


def held_by(
    snapshot: EnvironmentSnapshot, hold: HoldView, *, now: datetime
) -> tuple[str, str, datetime]:
    """Why a deploy cannot go while ``hold`` (someone's live work hold) stands: the sentence,
    whom to ask and until when."""
    env, holder = snapshot.name, hold.owner.name
    since, until = (
        format_for(hold.since, snapshot.timezone, now=now),
        format_for(hold.until, snapshot.timezone, now=now),
    )
    message = (
        f"{env} is held by {holder} since {since} until {until}: {hold.reason.rstrip('.')}. "
        f"Ask {holder}, or wait for `signalbox release {env}`."
    )
    return message, holder, hold.until


def reserved_by(
    snapshot: EnvironmentSnapshot, window: ReservationView, *, now: datetime
) -> tuple[str, str, datetime]:
    """Why a deploy started now cannot go while ``window`` is in force or begins before the
    deploy would end: the sentence, whom to ask and the first time a deploy could go."""
    env, tz, owner = snapshot.name, snapshot.timezone, window.owner
    free = next_free_start(snapshot.reservations, now, snapshot.expected_duration)
    starts, ends = format_for(window.starts, tz, now=now), format_for(window.ends, tz, now=now)
    freeze = window.kind == "freeze"
    reason = window.reason.rstrip(".")
    if window.starts <= now:
        what = "in a freeze window" if freeze else f"reserved by {owner}"
        situation = f"{env} is {what} from {starts} until {ends}: {reason}"
    else:
        what = "a freeze window" if freeze else f"{owner}'s reservation"
        expected = _takes(snapshot)
        situation = (
            f"A deploy to {env} now would still be running at {starts} (it takes about "
            f"{expected}), when {what} begins, until {ends}: {reason}"
        )
    message = f"{situation}. Ask {owner}, or deploy after {format_for(free, tz, now=now)}."
    return message, owner, free


def _takes(snapshot: EnvironmentSnapshot) -> str:
    """How long a deploy takes, and why that figure when the snapshot knows."""
    estimate = snapshot.estimate
    if estimate is not None and estimate.duration == snapshot.expected_duration:
        return estimate.explain()
    return format_duration(snapshot.expected_duration)


def needs_approval(snapshot: EnvironmentSnapshot, deploy: DeployView) -> bool:
    """Only routine plans go without an approval (and, unless the snapshot says otherwise,
    a deploy without a plan needs one): true while it has not been given."""
    needs = deploy.plan_verdict == "needs-approval" or (
        deploy.plan_verdict == "none" and snapshot.unplanned_needs_approval
    )
    return needs and not deploy.approved


def plan_lacking(deploy: DeployView) -> str:
    """What a deploy that waits for an approval lacks: ``has no plan`` or ``has a plan that
    needs approval``."""
    return "has no plan" if deploy.plan_verdict == "none" else "has a plan that needs approval"


def approvers(snapshot: EnvironmentSnapshot, deploy: DeployView) -> str:
    """Who may approve ``deploy``: an approver other than its requester, and for a hotfix
    also the incident's commander (when that is not the requester)."""
    who = f"an approver other than {deploy.requester.name}"
    incident = snapshot.incident
    hotfix = incident is not None and is_hotfix(snapshot, deploy)
    if incident is not None and hotfix and incident.commander != deploy.requester.name:
        return f"{incident.commander} (the commander of incident {incident.id}) or {who}"
    return who


def _needs_approval(snapshot: EnvironmentSnapshot, deploy: DeployView) -> NeedsApproval | None:
    """Step 7: only routine plans go without an approval."""
    if not needs_approval(snapshot, deploy):
        return None
    message = (
        f"Deploy {deploy.id} to {snapshot.name} {plan_lacking(deploy)}; ask "
        f"{approvers(snapshot, deploy)} to run `signalbox approve {deploy.id}`."
    )
    return NeedsApproval(deploy.id, deploy.plan_verdict, message)


def deploy_hold_of_another(
    snapshot: EnvironmentSnapshot, deploy_id: int | None, *, now: datetime
) -> bool:
    """A live deploy hold of another deploy than ``deploy_id`` (None: of any deploy) stands:
    a deploy that may otherwise go waits for it (its lease may outlive a finished run)."""
    hold = snapshot.hold
    return (
        hold is not None
        and is_live(hold, now)
        and hold.kind is HoldKind.DEPLOY
        and hold.deploy_id != deploy_id
    )


def _wait_in_queue(snapshot: EnvironmentSnapshot, deploy: DeployView, now: datetime) -> Wait | None:
    """Step 8: one deploy at a time, in queue order."""
    held_by_deploy = deploy_hold_of_another(snapshot, deploy.id, now=now)
    queue, position, running = _place_in_queue(snapshot, deploy)
    if running is None and position == 1 and not held_by_deploy:
        return None
    ahead = queue[position - 2] if position > 1 else running
    if ahead is not None:
        who = f"deploy {ahead.id} ({ahead.branch} @ {ahead.commit[:7]} by {ahead.requester.name})"
    else:
        who = "a deploy whose lease has not lapsed yet"
    message = (
        f"Deploy {deploy.id} is number {position} in the queue for {snapshot.name}, behind {who}."
    )
    since: datetime | None = None
    if running is not None:
        since = running.started_at or now
    elif held_by_deploy and snapshot.hold is not None:
        since = snapshot.hold.since
    estimate = expected_wait(
        position - 1, running_since=since, expected=snapshot.expected_duration, now=now
    )
    return Wait(deploy.id, position, ahead, message, estimate)


def _place_in_queue(
    snapshot: EnvironmentSnapshot, deploy: DeployView
) -> tuple[Sequence[DeployView], int, DeployView | None]:
    """The queue with ``deploy`` as given in it, its place (1 if it is not waiting) and the
    running deploy other than ``deploy``.

    The snapshot's own queue serves when it holds this very view of ``deploy`` (as when a
    batch decides the deploys of one snapshot); otherwise the queue is sorted anew.
    """
    place = snapshot.place_in_queue(deploy)
    if place is not None and deploy.state in WAITING_STATES:
        return snapshot.queue, place, snapshot.running
    others = [d for d in snapshot.deploys if d.id != deploy.id]
    running = running_deploy(others)
    if deploy.state not in WAITING_STATES:
        return (), 1, running
    queue = queue_order([*others, deploy])
    return queue, places(queue)[deploy.id], running


def _newest_of_branch(snapshot: EnvironmentSnapshot, deploy: DeployView) -> DeployView | None:
    newer = [
        d
        for d in snapshot.deploys
        if d.branch == deploy.branch
        and d.id != deploy.id
        and (d.requested_at, d.id) > (deploy.requested_at, deploy.id)
    ]
    return max(newer, key=lambda d: (d.requested_at, d.id), default=None)

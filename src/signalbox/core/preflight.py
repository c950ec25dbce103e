"""Preflight: would a gate started now go, wait, or be refused? Pure; nothing is stored.

A pipeline's first step asks this so that a job bound for a frozen, held or reserved
environment ends before it builds anything. ``preflight`` judges a deploy that does not exist
yet (the caller builds its ``DeployView``: requested now, with the plan's verdict, and the
incident it is a hotfix of) with the gate's own rule, ``core.gate.decide_gate``, so the
answer is the one a gate would get, and adds what the gate alone does not say:

- **every** reason that would stop or delay it, not only the first one the gate tells:
  refusals first, in the gate's order (plan blocked, frozen, held, each reservation or
  freeze window it would run into), then what it would wait for (an approval, the running
  deploy, the deploys ahead of it);
- its place in the queue and the expected wait (``core.queue.expected_wait``).

Older waiting deploys of the same branch are left out first: the real request would
supersede them (``core.queue.superseded_by``), so they are not ahead of it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from signalbox.core.gate import (
    EnvironmentSnapshot,
    Go,
    NeedsApproval,
    Refused,
    Wait,
    decide_gate,
    frozen_by,
    held_by,
    is_hotfix,
    reserved_by,
)
from signalbox.core.holds import is_live
from signalbox.core.queue import (
    expected_wait,
    places,
    queue_order,
    running_deploy,
    superseded_by,
)
from signalbox.core.reservations import overlaps
from signalbox.core.status import Blocker
from signalbox.core.times import require_utc
from signalbox.core.views import DeployView, HoldKind

__all__ = ["Preflight", "PreflightVerdict", "every_reason", "preflight"]


class PreflightVerdict(StrEnum):
    GO = "go"
    WAIT = "wait"
    NEEDS_APPROVAL = "needs-approval"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Preflight:
    """What a gate started now would be told.

    ``reason`` is the gate's refusal reason (None unless refused); ``message`` the gate's
    answer in a sentence. ``position`` is the place it would take in the queue (1: next to
    go) and ``expected_wait`` how long it would wait there; ``reasons`` every reason that
    would stop (``effect`` refused) or delay it (``effect`` waits)."""

    environment: str
    verdict: PreflightVerdict
    reason: str | None
    message: str
    position: int
    expected_wait: timedelta
    plan_verdict: str
    reasons: tuple[Blocker, ...]
    hotfix_for: int | None = None
    superseding: tuple[int, ...] = ()
    """Waiting deploys of the same branch that the real request would supersede."""


def preflight(snapshot: EnvironmentSnapshot, deploy: DeployView, *, now: datetime) -> Preflight:
    """Judge ``deploy`` (not stored: requested ``now``, an id no stored deploy has) against
    ``snapshot`` as the gate would, with every reason and the expected wait."""
    now = require_utc(now)
    superseding = tuple(superseded_by(snapshot.deploys, deploy))
    if superseding:
        left = tuple(d for d in snapshot.deploys if d.id not in superseding)
        snapshot = replace(snapshot, deploys=left)
    decision = decide_gate(snapshot, deploy, now=now)
    position, wait = _place_and_wait(snapshot, deploy, now)
    reasons = every_reason(snapshot, deploy, now=now)
    if isinstance(decision, Refused):
        verdict, reason, message = PreflightVerdict.REFUSED, str(decision.reason), decision.message
    elif isinstance(decision, NeedsApproval):
        verdict, reason = PreflightVerdict.NEEDS_APPROVAL, None
        message = _approval_sentence(snapshot, deploy)
    elif isinstance(decision, Wait):
        verdict, reason = PreflightVerdict.WAIT, None
        message = f"A deploy to {snapshot.name} now would wait as number {position} in the queue."
    else:
        assert isinstance(decision, Go)
        verdict, reason, message = (
            PreflightVerdict.GO,
            None,
            f"A deploy to {snapshot.name} now would go.",
        )
    return Preflight(
        environment=snapshot.name,
        verdict=verdict,
        reason=reason,
        message=message,
        position=position,
        expected_wait=wait,
        plan_verdict=deploy.plan_verdict,
        reasons=reasons,
        hotfix_for=deploy.incident_id,
        superseding=superseding,
    )


def _place_and_wait(
    snapshot: EnvironmentSnapshot, deploy: DeployView, now: datetime
) -> tuple[int, timedelta]:
    others = [d for d in snapshot.deploys if d.id != deploy.id]
    position = places(queue_order([*others, deploy]))[deploy.id]
    running = running_deploy(others)
    since: datetime | None = None
    if running is not None:
        since = running.started_at or now
    elif _deploy_hold_of_another(snapshot, deploy, now):
        assert snapshot.hold is not None
        since = snapshot.hold.since
    wait = expected_wait(
        position - 1, running_since=since, expected=snapshot.expected_duration, now=now
    )
    return position, wait


def _deploy_hold_of_another(
    snapshot: EnvironmentSnapshot, deploy: DeployView, now: datetime
) -> bool:
    hold = snapshot.hold
    return (
        hold is not None
        and is_live(hold, now)
        and hold.kind is HoldKind.DEPLOY
        and hold.deploy_id != deploy.id
    )


def every_reason(
    snapshot: EnvironmentSnapshot, deploy: DeployView, *, now: datetime
) -> tuple[Blocker, ...]:
    """Every reason ``deploy`` would not go now: refusals first, in the gate's order (plan
    denied or blocked, frozen, held, each window it would run into), then what it would wait for (an
    approval, the running deploy, the deploys ahead). A hotfix of the open incident is not
    frozen out nor stopped by windows (the incident puts those at risk), but a hold, the
    plan, an approval and the deploy already running still count for it."""
    now = require_utc(now)
    env, found = snapshot.name, []
    if deploy.denied:
        message = (
            f"An approver denied this plan for {env}; ask them why (`signalbox deploys --env "
            f"{env}`), change the plan and run the pipeline again."
        )
        found.append(Blocker("denied", "refused", message))
    if deploy.plan_verdict == "blocked":
        message = (
            f"{env}'s policy blocks this plan, and no approval can let it through; change the "
            f"plan (`signalbox check plan.json --env {env}` shows why)."
        )
        found.append(Blocker("blocked", "refused", message))
    hotfix = is_hotfix(snapshot, deploy)
    incident = snapshot.incident
    if incident is not None and snapshot.frozen and not hotfix:
        message = frozen_by(snapshot, now=now)
        found.append(Blocker("frozen", "refused", message, incident.commander, incident.eta))
    hold = snapshot.hold
    if (
        hold is not None
        and is_live(hold, now)
        and hold.kind is HoldKind.WORK
        and hold.owner.name != deploy.requester.name
    ):
        found.append(Blocker("held", "refused", *held_by(snapshot, hold, now=now)))
    if not hotfix:
        end = now + snapshot.expected_duration
        for window in snapshot.reservations:
            if overlaps(window, now, end):
                reason = "freeze" if window.kind == "freeze" else "reserved"
                found.append(Blocker(reason, "refused", *reserved_by(snapshot, window, now=now)))
    found.extend(_waits(snapshot, deploy, now))
    return tuple(found)


def _waits(snapshot: EnvironmentSnapshot, deploy: DeployView, now: datetime) -> list[Blocker]:
    env, found = snapshot.name, []
    needs = deploy.plan_verdict == "needs-approval" or (
        deploy.plan_verdict == "none" and snapshot.unplanned_needs_approval
    )
    if needs and not deploy.approved:
        whom = (
            snapshot.incident.commander
            if is_hotfix(snapshot, deploy) and snapshot.incident
            else None
        )
        found.append(Blocker("needs-approval", "waits", _approval_sentence(snapshot, deploy), whom))
    others = [d for d in snapshot.deploys if d.id != deploy.id]
    running = running_deploy(others)
    what = "the hotfix" if is_hotfix(snapshot, deploy) else "a new deploy"
    if running is not None:
        ref = " @ ".join(part for part in (running.branch, running.commit[:7]) if part)
        message = (
            f"Deploy {running.id}{f' ({ref})' if ref else ''} by {running.requester.name} is "
            f"running on {env}; {what} waits for it (one deploy at a time)."
        )
        found.append(Blocker("deploying", "waits", message, running.requester.name))
    elif _deploy_hold_of_another(snapshot, deploy, now):
        assert snapshot.hold is not None
        message = f"A deploy holds {env} until its lease lapses; {what} waits for it."
        found.append(
            Blocker("deploying", "waits", message, snapshot.hold.owner.name, snapshot.hold.until)
        )
    queue = queue_order([*others, deploy])
    ahead = queue[: places(queue)[deploy.id] - 1]
    if ahead:
        first = ahead[0]
        count = "1 deploy is" if len(ahead) == 1 else f"{len(ahead)} deploys are"
        message = (
            f"{count} queued ahead of it on {env} (next: deploy {first.id} by "
            f"{first.requester.name}); it goes after them."
        )
        found.append(Blocker("queued", "waits", message, first.requester.name))
    return found


def _approval_sentence(snapshot: EnvironmentSnapshot, deploy: DeployView) -> str:
    what = "has no plan" if deploy.plan_verdict == "none" else "has a plan that needs approval"
    who = f"an approver other than {deploy.requester.name}"
    incident = snapshot.incident
    if is_hotfix(snapshot, deploy) and incident is not None:
        who = (
            f"{incident.commander} (the commander of incident {incident.id}) or {who}"
            if incident.commander != deploy.requester.name
            else who
        )
    return (
        f"A deploy to {snapshot.name} now {what}; it would wait for {who} to run "
        "`signalbox approve ID`."
    )

"""Preflight: would a gate started now go, wait, or be refused? Pure; nothing is stored.

A pipeline's first step asks this so that a job bound for a frozen, held or reserved
environment ends before it builds anything. ``preflight`` judges a deploy that does not exist
yet (the caller builds its ``DeployView``: requested now, with the plan's verdict, and the
incident it is a hotfix of) with the gate's own rule, ``core.gate.decide_gate``, so the
answer is the one a gate would get, and adds what the gate alone does not say:

- **every** reason that would stop or delay it, not only the first one the gate tells
  (``core.status.every_reason``, which the picture shows for a deploy anyone requests
  now): refusals first, in the gate's order, then what it would wait for;
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
    deploy_hold_of_another,
)
from signalbox.core.queue import (
    expected_wait,
    places,
    queue_order,
    running_deploy,
    superseded_by,
)
from signalbox.core.status import Blocker, approval_wanted, every_reason
from signalbox.core.times import require_utc
from signalbox.core.views import DeployView

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
        message = approval_wanted(snapshot, deploy)
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
    elif deploy_hold_of_another(snapshot, deploy.id, now=now):
        assert snapshot.hold is not None
        since = snapshot.hold.since
    wait = expected_wait(
        position - 1, running_since=since, expected=snapshot.expected_duration, now=now
    )
    return position, wait

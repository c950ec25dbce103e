"""The deploy queue of one environment: who goes next, who is superseded, who left.

One deploy runs per environment. The others wait in queue order: higher ``priority``
first, then earlier ``requested_at``, then lower ``id`` (a total order, so two servers
always agree). A newer request for the same environment and branch supersedes the older
ones still waiting, so that their CI jobs exit at once and free their runners.

Time ends a place in the queue two ways: a waiting deploy whose gate stopped asking for
``WAITING_LEASE`` is abandoned (``is_abandoned``), and a running deploy whose lease on the
environment is gone has lapsed (``has_lapsed``: its runner died). The sentences that tell a
gate so are here too, next to the rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from signalbox.core.holds import is_live
from signalbox.core.views import DeployState, DeployView, HoldView

__all__ = [
    "ACTIVE_STATES",
    "WAITING_LEASE",
    "WAITING_STATES",
    "abandoned_message",
    "expected_wait",
    "has_lapsed",
    "is_abandoned",
    "lapsed_message",
    "places",
    "position_of",
    "queue_key",
    "queue_order",
    "running_deploy",
    "superseded_by",
    "superseded_message",
]

WAITING_STATES = frozenset({DeployState.QUEUED, DeployState.AWAITING_APPROVAL})
"""A deploy in one of these states waits in the queue (the one definition of "waiting")."""
ACTIVE_STATES = WAITING_STATES | {DeployState.RUNNING}
"""Waiting or running: the deploys that count for an environment now."""

WAITING_LEASE = timedelta(seconds=90)
"""A waiting deploy whose gate has not asked again for this long leaves the queue."""


def queue_key(deploy: DeployView) -> tuple[int, datetime, int]:
    """Sort key of the queue: priority descending, then arrival, then id."""
    return (-deploy.priority, deploy.requested_at, deploy.id)


def queue_order(deploys: Iterable[DeployView]) -> list[DeployView]:
    """The waiting deploys (queued or awaiting approval) in the order they will go.

    Running and finished deploys are left out: they are not in the queue.
    """
    return sorted((d for d in deploys if d.state in WAITING_STATES), key=queue_key)


def running_deploy(deploys: Iterable[DeployView]) -> DeployView | None:
    """The running deploy among ``deploys`` (the earliest started if, wrongly, several)."""
    running = [d for d in deploys if d.state is DeployState.RUNNING]
    return min(running, key=queue_key, default=None)


def places(queue: Iterable[DeployView]) -> dict[int, int]:
    """Each deploy's 1-based place in ``queue`` (already in queue order: 1 = next to go):
    the one definition of a position, for the gate's snapshot and the picture alike."""
    return {deploy.id: place for place, deploy in enumerate(queue, start=1)}


def position_of(deploys: Iterable[DeployView], deploy_id: int) -> int | None:
    """1-based place of ``deploy_id`` in queue order (1 = next to go), None if not waiting."""
    return places(queue_order(deploys)).get(deploy_id)


def superseded_by(deploys: Iterable[DeployView], newer: DeployView) -> list[int]:
    """Ids of the deploys that ``newer`` supersedes, in queue order.

    Those are the deploys still waiting (queued or awaiting approval) for the same
    environment and branch that arrived before ``newer`` (earlier ``requested_at``, or the
    same instant and a lower id). Running and finished deploys, other branches and other
    environments are never touched; neither is ``newer`` itself. A hotfix is superseded only
    by a newer hotfix of the same incident: a routine pipeline of the fix's branch must not
    take the fix out of the hotfix lane.
    """
    arrival = (newer.requested_at, newer.id)
    return [
        deploy.id
        for deploy in queue_order(deploys)
        if deploy.environment == newer.environment
        and deploy.branch == newer.branch
        and deploy.id != newer.id
        and (deploy.requested_at, deploy.id) < arrival
        and deploy.incident_id in (None, newer.incident_id)
    ]


def superseded_message(deploy: DeployView, newer: DeployView | None) -> str:
    """What the gate of ``deploy`` is told once ``newer`` (None: not known) superseded it."""
    by = f"deploy {newer.id} ({newer.commit[:7]})" if newer is not None else "a newer request"
    return (
        f"Deploy {deploy.id} ({deploy.branch} @ {deploy.commit[:7]}) to {deploy.environment} "
        f"was superseded by {by} of the same branch; this job can stop, the newer one will "
        "deploy."
    )


def is_abandoned(wait_deadline: datetime | None, *, now: datetime) -> bool:
    """A waiting deploy whose gate stopped asking before ``wait_deadline`` (its last ask plus
    ``WAITING_LEASE``) has left the queue."""
    return wait_deadline is not None and wait_deadline <= now


def abandoned_message(deploy_id: int) -> str:
    """What an abandoned deploy's gate is told, should it ever ask again."""
    return f"The gate of deploy {deploy_id} stopped asking while it waited; run the pipeline again."


def has_lapsed(deploy_id: int, hold: HoldView | None, *, now: datetime) -> bool:
    """A running deploy has lapsed when the environment's live hold is not its own (its
    runner stopped renewing the lease, or the hold is gone)."""
    return not (hold is not None and is_live(hold, now) and hold.deploy_id == deploy_id)


def lapsed_message(deploy_id: int, environment: str) -> str:
    """What a lapsed deploy's gate is told when it reports at last."""
    return (
        f"Deploy {deploy_id} lost its lease on {environment} before it reported; it is "
        "recorded as failed."
    )


def expected_wait(
    ahead: int, *, running_since: datetime | None, expected: timedelta, now: datetime
) -> timedelta:
    """How long a deploy that joins the queue now behind ``ahead`` waiting deploys should
    expect to wait: what is left of the running deploy's expected time (it started at
    ``running_since``; None: none runs; nothing is left once it overran: it may end any
    moment), then ``expected`` for each deploy ahead. An estimate from the environment's
    expected duration (``core.deploy_stats``), never a promise."""
    if ahead < 0:
        raise ValueError(f"ahead must not be negative, not {ahead}")
    remaining = timedelta(0)
    if running_since is not None:
        remaining = max(timedelta(0), min(expected, running_since + expected - now))
    return remaining + expected * ahead

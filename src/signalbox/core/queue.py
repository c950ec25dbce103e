"""The deploy queue of one environment: who goes next, and who is superseded.

One deploy runs per environment. The others wait in queue order: higher ``priority``
first, then earlier ``requested_at``, then lower ``id`` (a total order, so two servers
always agree). A newer request for the same environment and branch supersedes the older
ones still waiting, so that their CI jobs exit at once and free their runners.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from signalbox.core.views import DeployState, DeployView

__all__ = [
    "ACTIVE_STATES",
    "WAITING_STATES",
    "position_of",
    "queue_key",
    "queue_order",
    "running_deploy",
    "superseded_by",
]

WAITING_STATES = frozenset({DeployState.QUEUED, DeployState.AWAITING_APPROVAL})
ACTIVE_STATES = WAITING_STATES | {DeployState.RUNNING}


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


def position_of(deploys: Iterable[DeployView], deploy_id: int) -> int | None:
    """1-based place of ``deploy_id`` in queue order (1 = next to go), None if not waiting."""
    for place, deploy in enumerate(queue_order(deploys), start=1):
        if deploy.id == deploy_id:
            return place
    return None


def superseded_by(deploys: Iterable[DeployView], newer: DeployView) -> list[int]:
    """Ids of the deploys that ``newer`` supersedes, in queue order.

    Those are the deploys still waiting (queued or awaiting approval) for the same
    environment and branch that arrived before ``newer`` (earlier ``requested_at``, or the
    same instant and a lower id). Running and finished deploys, other branches and other
    environments are never touched; neither is ``newer`` itself.
    """
    arrival = (newer.requested_at, newer.id)
    return [
        deploy.id
        for deploy in queue_order(deploys)
        if deploy.environment == newer.environment
        and deploy.branch == newer.branch
        and deploy.id != newer.id
        and (deploy.requested_at, deploy.id) < arrival
    ]

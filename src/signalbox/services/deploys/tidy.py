"""What time ends: a running deploy whose lease lapsed, a waiting deploy whose gate went away.

A waiting deploy keeps its place while its gate asks: each ask (and ``touch_waiting``, for
the gates parked in a long-poll) pushes its ``wait_deadline`` ``WAITING_LEASE`` ahead. A
running deploy keeps its environment while it renews its deploy hold. ``tidy_deploys``
applies both rules (``core.queue.is_abandoned``, ``has_lapsed``) inside the deciding
transaction, each change with its event (``deploy.abandoned``, ``deploy.lapsed``), so that
neither blocks the queue; ``expire_stale_deploys`` is the server's housekeeping that does it
when no gate is asking.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row

from signalbox.core.events import DeployAbandoned, DeployLapsed
from signalbox.core.queue import (
    WAITING_LEASE,
    abandoned_message,
    has_lapsed,
    is_abandoned,
)
from signalbox.core.views import DeployState, HoldView
from signalbox.services.deploys.events import deploy_fields
from signalbox.services.events import emit
from signalbox.storage.repositories import hold_view
from signalbox.storage.repositories.deploys import DeployRepository
from signalbox.storage.tables import DeployRow
from signalbox.storage.uow import UnitOfWork

__all__ = ["ended_by_time", "expire_stale_deploys", "tidy_deploys", "touch_waiting"]


def touch_waiting(engine: Engine, deploy_ids: Collection[int], *, now: datetime) -> int:
    """Keep the given waiting deploys in the queue: their gates are still connected."""
    with UnitOfWork(engine) as uow:
        until = uow.now(now) + WAITING_LEASE
        return DeployRepository(uow.session).extend_waiting(deploy_ids, until=until)


def _fail_lapsed(uow: UnitOfWork, row: DeployRow, now: datetime) -> None:
    row.state = DeployState.FAILED
    row.outcome = "lease-lapsed"
    row.finished_at = now
    uow.environments.keep_deploy_figures(uow.environments.locked(row.environment), row)
    event = DeployLapsed(**deploy_fields(row))
    emit(uow, event, environment=row.environment, actor="signalbox", now=now)


def _expire_abandoned(uow: UnitOfWork, row: DeployRow, now: datetime) -> None:
    row.state = DeployState.EXPIRED
    row.refusal_reason = "wait-expired"
    row.refusal_message = abandoned_message(row.id)
    row.finished_at = now
    event = DeployAbandoned(**deploy_fields(row))
    emit(uow, event, environment=row.environment, actor="signalbox", now=now)


def ended_by_time(row: DeployRow | Row[Any], hold: HoldView | None, *, now: datetime) -> bool:
    """Time has ended active deploy ``row``: it runs without its live lease (``hold`` is the
    environment's current one), or it waits and its gate went away."""
    if row.state == DeployState.RUNNING:
        return has_lapsed(row.id, hold, now=now)
    return is_abandoned(row.wait_deadline, now=now)


def tidy_deploys(
    uow: UnitOfWork, environment: str, hold: HoldView | None, *, now: datetime
) -> None:
    """Fail the running deploys of ``environment`` without their live lease (``hold`` is its
    current one, read by the caller) and expire the abandoned waiting ones. Reads only
    those time may have ended (``may_have_ended``), not the whole queue."""
    for row in DeployRepository(uow.session).may_have_ended(environment, now=now):
        if not ended_by_time(row, hold, now=now):
            continue
        if row.state == DeployState.RUNNING:
            _fail_lapsed(uow, row, now)
        else:
            _expire_abandoned(uow, row, now)


def expire_stale_deploys(engine: Engine, *, now: datetime) -> list[str]:
    """Tidy every environment with a running deploy whose lease is gone or a waiting deploy
    whose gate went away (the server's housekeeping, every few seconds, so that `deploys`
    and `status` are right even when no gate is asking). Returns those environments."""
    with UnitOfWork(engine, read_only=True) as uow:
        stale = DeployRepository(uow.session).environments_with_stale_deploys(now)
    for environment in stale:
        with UnitOfWork(engine) as uow:
            uow.lock_environment(environment)
            current = uow.holds.current(environment)
            hold = hold_view(current) if current is not None else None
            tidy_deploys(uow, environment, hold, now=uow.now(now))
    return stale

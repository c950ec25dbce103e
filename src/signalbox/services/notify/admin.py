"""What people ask of the notifier: how the targets fare, which messages failed, send one
again, and a test message through one target. Answers name targets, never their URLs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from signalbox.core.errors import DeliverySending, UnknownDelivery, UnknownTarget
from signalbox.core.notify import Message
from signalbox.services.notify.targets import Sent, Target
from signalbox.storage.repositories.outbox import (
    DeliveryView,
    OutboxEvent,
    OutboxRepository,
    TargetHealth,
)
from signalbox.storage.tables import DeliveryState
from signalbox.storage.uow import UnitOfWork

__all__ = [
    "DeliveryRead",
    "DeliveryView",
    "TargetStatus",
    "list_deliveries",
    "require_target",
    "retry_delivery",
    "retry_target",
    "send_test",
    "target_statuses",
    "test_message",
]

MAX_LISTED = 500


@dataclass(frozen=True, slots=True)
class DeliveryRead:
    delivery: DeliveryView
    event: OutboxEvent


@dataclass(frozen=True, slots=True)
class TargetStatus:
    """A configured target (or one that has deliveries but is no longer configured)."""

    name: str
    configured: bool
    environments: tuple[str, ...] | None
    events: tuple[str, ...]
    health: TargetHealth | None

    @property
    def failing(self) -> bool:
        return self.health is not None and self.health.failing is not None


def target_statuses(engine: Engine, targets: Mapping[str, Target]) -> list[TargetStatus]:
    """Every target, configured ones first, with how its deliveries fare."""
    with UnitOfWork(engine, read_only=True) as uow:
        health = OutboxRepository(uow.session).health(list(targets))
    found = [
        TargetStatus(t.name, True, t.environments, t.events, health.get(t.name))
        for t in targets.values()
    ]
    found += [
        TargetStatus(name, False, None, (), known)
        for name, known in sorted(health.items())
        if name not in targets and known.open
    ]
    return found


def list_deliveries(
    engine: Engine,
    *,
    failed_only: bool = False,
    target: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[DeliveryRead]:
    """Deliveries, newest first: ``failed_only`` keeps those failing or given up (the
    caller keeps those of environments it may read: ``api.routes.notifications``)."""
    states = (DeliveryState.FAILED, DeliveryState.GIVEN_UP) if failed_only else None
    limit = max(1, min(limit, MAX_LISTED))
    with UnitOfWork(engine, read_only=True) as uow:
        rows = OutboxRepository(uow.session).listed(
            states=states,
            targets=None if target is None else [target],
            limit=limit,
            before_id=before_id,
        )
    return [DeliveryRead(d, e) for d, e in rows]


def retry_delivery(engine: Engine, delivery_id: int, *, now: datetime) -> DeliveryRead:
    """Send delivery ``delivery_id`` again (UnknownDelivery; DeliverySending while it is
    being sent): the delivery as queued again, with its event."""
    with UnitOfWork(engine) as uow:
        outbox = OutboxRepository(uow.session)
        known = outbox.get(delivery_id)
        if known is None:
            raise UnknownDelivery(
                f"There is no notification delivery {delivery_id}.",
                hint="`signalbox notifications --failed` lists the failed ones with their ids.",
                delivery_id=delivery_id,
            )
        if known.state == DeliveryState.SENDING:
            raise DeliverySending(
                f"Delivery {delivery_id} (event {known.event_id} to {known.target}) is being "
                "sent right now.",
                hint="Wait for its outcome (`signalbox notifications`), then retry if it failed.",
                delivery_id=delivery_id,
            )
        again = outbox.retry_one(delivery_id, now=now)
        assert again is not None  # locked and not sending
        return DeliveryRead(again, outbox.event(again.event_id))


def retry_target(engine: Engine, targets: Mapping[str, Target], name: str, *, now: datetime) -> int:
    """Queue every failed and given-up delivery of target ``name`` again; how many."""
    require_target(targets, name)
    with UnitOfWork(engine) as uow:
        return OutboxRepository(uow.session).retry(target=name, now=now)


def require_target(targets: Mapping[str, Target], name: str) -> Target:
    target = targets.get(name)
    if target is None:
        known = ", ".join(sorted(targets)) or "(none configured)"
        raise UnknownTarget(
            f"There is no notification target {name!r}. Configured targets: {known}.",
            hint="Check the name, or add a [[notify]] table to signalbox.toml and restart.",
            target=name,
        )
    return target


def test_message(name: str, base_url: str, actor: str) -> Message:
    return Message(
        title=f"signalbox: test message for {name}",
        body=(
            f"{actor} sent this test through the notification target {name} of "
            f"{base_url.rstrip('/')}/. If you read it, signalbox's messages reach you here."
        ),
    )


def send_test(targets: Mapping[str, Target], name: str, *, base_url: str, actor: str) -> Sent:
    """Send a test message through target ``name`` now; what Apprise answered."""
    target = require_target(targets, name)
    return target.send(test_message(name, base_url, actor), fresh=True)

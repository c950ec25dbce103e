"""Notifications as the API shows them: targets by name (never their URLs) and how their
deliveries fare."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from signalbox.services.notify.admin import DeliveryRead as Delivery
from signalbox.services.notify.admin import DeliveryView, TargetStatus

__all__ = [
    "DeliveryRead",
    "FailingRead",
    "NotificationsRead",
    "RetriedRead",
    "TargetRead",
    "TargetRetriedRead",
    "TestSentRead",
]


class FailingRead(BaseModel):
    """The delivery that holds a target's queue: its last attempt failed and it is tried
    again at ``next_attempt_at``."""

    delivery_id: int
    event_id: int
    since: datetime = Field(description="When the delivery was queued (or queued again).")
    attempts: int
    next_attempt_at: datetime
    last_error: str | None

    @classmethod
    def of(cls, status: TargetStatus) -> FailingRead | None:
        """The failing delivery of ``status``'s target, if any."""
        delivery = status.health.failing if status.health is not None else None
        if delivery is None:
            return None
        return cls.of_delivery(delivery)

    @classmethod
    def of_delivery(cls, delivery: DeliveryView) -> FailingRead:
        return cls(
            delivery_id=delivery.id,
            event_id=delivery.event_id,
            since=delivery.queued_at,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
            last_error=delivery.last_error,
        )


class TargetRead(BaseModel):
    """A notification target by name. ``configured`` is false for a target that is no
    longer in the settings but still has deliveries waiting."""

    name: str
    configured: bool
    environments: list[str] | None = Field(description="null: every environment.")
    events: list[str] = Field(description="The event kinds (globs) it hears of.")
    open: int = Field(description="Deliveries not finished: pending, sending or failed.")
    given_up: int
    failing: FailingRead | None = Field(description="null unless its queue is failing.")
    gave_up: FailingRead | None = Field(
        None,
        description="Its newest given-up delivery when nothing was delivered to it since "
        "(null otherwise): it gave up and has not been heard to work again.",
    )
    last_delivered_at: datetime | None

    @classmethod
    def of(cls, status: TargetStatus) -> TargetRead:
        health = status.health
        return cls(
            name=status.name,
            configured=status.configured,
            environments=None if status.environments is None else list(status.environments),
            events=list(status.events),
            open=health.open if health else 0,
            given_up=health.given_up if health else 0,
            failing=FailingRead.of(status),
            gave_up=FailingRead.of_delivery(health.gave_up) if health and health.gave_up else None,
            last_delivered_at=health.last_delivered_at if health else None,
        )


class DeliveryRead(BaseModel):
    """One event to one target: ``state`` is pending, sending, delivered, failed (tried
    again at ``next_attempt_at``) or given-up."""

    id: int
    event_id: int
    kind: str
    environment: str | None
    timezone: str = Field(description="The zone to show it in (UTC for global events).")
    message: str = Field(description="The event in words, as stored.")
    target: str
    state: str
    attempts: int
    queued_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None

    @classmethod
    def of(cls, found: Delivery, timezone: str) -> DeliveryRead:
        delivery, event = found.delivery, found.event
        return cls(
            id=delivery.id,
            event_id=delivery.event_id,
            kind=event.kind,
            environment=event.environment,
            timezone=timezone,
            message=event.message,
            target=delivery.target,
            state=str(delivery.state),
            attempts=delivery.attempts,
            queued_at=delivery.queued_at,
            next_attempt_at=delivery.next_attempt_at,
            delivered_at=delivery.delivered_at,
            last_error=delivery.last_error,
        )


class NotificationsRead(BaseModel):
    """The targets, then the deliveries, newest first. ``next_before``: pass it as
    ``before`` for the next page (null: there is none)."""

    timezone: str = Field(description="The server's zone, to show the targets' times in.")
    targets: list[TargetRead]
    deliveries: list[DeliveryRead]
    next_before: int | None


class RetriedRead(BaseModel):
    """The delivery, queued again: due now, attempts counted afresh."""

    delivery: DeliveryRead


class TargetRetriedRead(BaseModel):
    target: str
    requeued: int = Field(description="How many failed and given-up deliveries were queued.")


class TestSentRead(BaseModel):
    """What sending a test message through one target came to: ``answer`` is what Apprise
    said (the target's URLs and secrets left out)."""

    target: str
    sent: bool
    answer: str

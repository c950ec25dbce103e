"""The event log: one event as the API shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from signalbox.services.events import EventView

__all__ = ["EventListRead", "EventRead"]


class EventRead(BaseModel):
    """One change: ``kind`` is declared in the catalogue (docs/events.md), ``message`` says
    it in words in the environment's time zone, ``data`` holds the kind's fields."""

    id: int
    environment: str | None
    at: datetime
    timezone: str = Field(description="The zone to show the event in (UTC for global ones).")
    actor: str
    kind: str
    message: str
    data: dict[str, Any]
    deploy_id: int | None

    @classmethod
    def of(cls, event: EventView, timezone: str) -> EventRead:
        return cls(
            id=event.id,
            environment=event.environment,
            at=event.at,
            timezone=timezone,
            actor=event.actor,
            kind=event.kind,
            message=event.message,
            data=event.data,
            deploy_id=event.deploy_id,
        )


class EventListRead(BaseModel):
    events: list[EventRead]

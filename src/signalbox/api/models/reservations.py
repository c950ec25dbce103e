"""Reservations and freeze windows: the request body and the one shape of a window."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from signalbox.api.models.bounds import WhenText
from signalbox.core.views import ReservationView

__all__ = [
    "ReservationCancelRead",
    "ReservationCreate",
    "ReservationCreatedRead",
    "ReservationListRead",
    "ReservationRead",
]


class ReservationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    starts: WhenText = Field(
        description="15:30 (today, environment's zone), 2026-11-26 15:30, ISO; years 2000-2099."
    )
    ends: WhenText
    reason: str


class ReservationRead(BaseModel):
    """A window in which someone relies on the environment; ``kind`` is ``reservation`` or
    ``freeze`` (a recurring freeze window from the configuration: no id)."""

    id: int | None
    environment: str
    owner: str
    reason: str
    starts: datetime
    ends: datetime
    kind: str
    timezone: str

    @classmethod
    def of(cls, view: ReservationView, timezone: str) -> ReservationRead:
        return cls(
            id=view.id,
            environment=view.environment,
            owner=view.owner,
            reason=view.reason,
            starts=view.starts,
            ends=view.ends,
            kind=view.kind,
            timezone=timezone,
        )


class ReservationCreatedRead(BaseModel):
    reservation: ReservationRead


class ReservationCancelRead(BaseModel):
    cancelled: ReservationRead


class ReservationListRead(BaseModel):
    reservations: list[ReservationRead]

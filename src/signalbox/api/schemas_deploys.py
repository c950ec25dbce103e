"""Request body and answer shape of the reservation routes (the deploy and approval shapes
are in ``api.models.deploys``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from signalbox.core.views import ReservationView

__all__ = ["ReservationCreateBody", "reservation_read"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReservationCreateBody(_Body):
    starts: str = Field(description="15:30 (today, environment's zone), 2026-11-26 15:30, ISO.")
    ends: str
    reason: str


def reservation_read(view: ReservationView, timezone: str) -> dict[str, Any]:
    return {
        "id": view.id,
        "environment": view.environment,
        "owner": view.owner,
        "reason": view.reason,
        "starts": view.starts.isoformat(),
        "ends": view.ends.isoformat(),
        "kind": view.kind,
        "timezone": timezone,
    }

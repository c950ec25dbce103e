"""Request bodies (``XCreate``) and the JSON shapes of answers (``x_read``) of the API.

Times are ISO 8601 UTC; each environment answer carries its ``timezone`` so clients show
times the way people there read them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from signalbox.core.views import HoldView
from signalbox.services.environments import EnvironmentStatus
from signalbox.services.events import EventView
from signalbox.services.tokens import TokenInfo

__all__ = [
    "ForceReleaseCreate",
    "HoldCreate",
    "HoldRenew",
    "TokenCreate",
    "environment_read",
    "event_read",
    "hold_read",
    "token_read",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HoldCreate(_Body):
    reason: str = Field(description="Why you hold the environment; shown to everyone.")
    duration: str = Field("4h", description="The lease, e.g. 30m, 4h, 1h30m.")


class HoldRenew(_Body):
    duration: str | None = Field(None, description="New lease from now (default: the last).")
    fencing_token: int | None = Field(None, description="Refuse if this is not the current.")


class ForceReleaseCreate(_Body):
    reason: str = Field(description="Why; the holder reads it in the event.")


class TokenCreate(_Body):
    name: str
    grants: list[str] = Field(description="ROLE:ENV, e.g. developer:dev or viewer:*")
    ci: bool = Field(False, description="A machine identity (a CI pipeline), not a person.")


def hold_read(hold: HoldView | None, timezone: str = "UTC") -> dict[str, Any] | None:
    if hold is None:
        return None
    return {
        "environment": hold.environment,
        "owner": hold.owner.name,
        "owner_is_ci": hold.owner.is_ci,
        "kind": str(hold.kind),
        "reason": hold.reason,
        "since": hold.since.isoformat(),
        "until": hold.until.isoformat(),
        "fencing_token": hold.fencing_token,
        "deploy_id": hold.deploy_id,
        "timezone": timezone,
    }


def environment_read(status: EnvironmentStatus) -> dict[str, Any]:
    return {
        "name": status.name,
        "state": status.state,
        "timezone": status.timezone,
        "hold": hold_read(status.hold, status.timezone),
        "version": status.version,
    }


def event_read(event: EventView, timezone: str = "UTC") -> dict[str, Any]:
    """``timezone``: the zone to show the event in (its environment's; UTC for global ones)."""
    return {
        "id": event.id,
        "environment": event.environment,
        "at": event.at.isoformat(),
        "timezone": timezone,
        "actor": event.actor,
        "kind": event.kind,
        "message": event.message,
        "data": event.data,
        "deploy_id": event.deploy_id,
    }


def token_read(info: TokenInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "ci": info.is_ci,
        "grants": list(info.grants),
        "created_at": info.created_at.isoformat(),
        "created_by": info.created_by,
        "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None,
        "last_used_at": info.last_used_at.isoformat() if info.last_used_at else None,
    }

"""Holds: the request bodies and the one shape of a hold in every answer."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from signalbox.api.models.bounds import Counter
from signalbox.core.views import HoldView

__all__ = [
    "ForceReleaseCreate",
    "HoldCreate",
    "HoldGrantRead",
    "HoldRead",
    "HoldReleaseRead",
    "HoldRenew",
    "HoldRenewRead",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HoldCreate(_Body):
    reason: str = Field(description="Why you hold the environment; shown to everyone.")
    duration: str = Field("4h", description="The lease, e.g. 30m, 4h, 1h30m (at most 14d).")


class HoldRenew(_Body):
    duration: str | None = Field(None, description="New lease from now (default: the last).")
    fencing_token: Counter | None = Field(None, description="Refuse if this is not the current.")


class ForceReleaseCreate(_Body):
    reason: str = Field(description="Why; the holder reads it in the event.")


class HoldRead(BaseModel):
    """An exclusive claim on an environment: who, why, since and until when (UTC), and the
    fencing token of its grant. ``kind`` is ``work`` (a person) or ``deploy`` (a gate)."""

    environment: str
    owner: str
    owner_is_ci: bool
    kind: str
    reason: str
    since: datetime
    until: datetime
    fencing_token: int
    deploy_id: int | None
    timezone: str = Field(description="The environment's time zone, to show times in.")

    @classmethod
    def of(cls, hold: HoldView, timezone: str) -> HoldRead:
        return cls(
            environment=hold.environment,
            owner=hold.owner.name,
            owner_is_ci=hold.owner.is_ci,
            kind=str(hold.kind),
            reason=hold.reason,
            since=hold.since,
            until=hold.until,
            fencing_token=hold.fencing_token,
            deploy_id=hold.deploy_id,
            timezone=timezone,
        )


class HoldGrantRead(BaseModel):
    granted: bool
    renewed: bool
    hold: HoldRead


class HoldRenewRead(BaseModel):
    hold: HoldRead


class HoldReleaseRead(BaseModel):
    released: HoldRead

"""Request bodies and answer shapes of the deploy, approval and reservation routes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from signalbox.core.views import ReservationView
from signalbox.services.approvals import ApprovalRead

__all__ = [
    "ApprovalCreate",
    "DeployCancel",
    "DeployCreate",
    "DeployFinish",
    "DeployHeartbeat",
    "ReservationCreateBody",
    "approval_read",
    "reservation_read",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeployCreate(_Body):
    environment: str
    branch: str = Field("", description="A newer request of the same branch supersedes.")
    commit: str = ""
    actor: str = Field("", description="Who triggered the CI run (e.g. GITHUB_ACTOR).")
    run_url: str = Field("", description="Link to the CI run.")
    plan: str | None = Field(None, description="The plan JSON bytes, base64-encoded.")
    plan_source: str = Field("", description="The plan's file name, for messages.")


class DeployHeartbeat(_Body):
    fencing_token: int


class DeployFinish(_Body):
    fencing_token: int
    exit_code: int = Field(description="The command's exit code (128+N: killed by signal N).")
    duration_seconds: float = Field(ge=0)


class DeployCancel(_Body):
    reason: str = Field(description="wait-expired, approval-expired or interrupted.")


class ApprovalCreate(_Body):
    reason: str = Field("", description="Why (required to deny).")


class ReservationCreateBody(_Body):
    starts: str = Field(description="15:30 (today, environment's zone), 2026-11-26 15:30, ISO.")
    ends: str
    reason: str


def approval_read(approval: ApprovalRead) -> dict[str, Any]:
    return {
        "id": approval.id,
        "deploy": approval.deploy.to_json(),
        "approver": approval.approver,
        "decision": approval.decision,
        "reason": approval.reason,
        "at": approval.at.isoformat(),
    }


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

"""Deploys and approvals: the request bodies, and what the gate and people are told.

``GateAnswerRead`` is the gate's wire format (docs/gate.md, "Protocol"): every deploy route
that a gate calls answers it, and ``signalbox gate`` reads its fields by name, null ones
included. A long-poll that saw no change answers ``UnchangedRead`` instead.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from signalbox.api.models.bounds import MAX_DEPLOY_SECONDS, Counter, ExitCode, RowId
from signalbox.services.deploys import Approval, Deploy, GateAnswer

__all__ = [
    "ApprovalCreate",
    "ApprovalRead",
    "DeployCancel",
    "DeployCreate",
    "DeployFinish",
    "DeployHeartbeat",
    "DeployListRead",
    "DeployRead",
    "GateAnswerRead",
    "ListedDeployRead",
    "RefusalReasonRead",
    "UnchangedDeployRead",
    "UnchangedRead",
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
    hotfix: RowId | None = Field(
        None,
        description="The open incident this deploy is a hotfix of (`gate --hotfix N`): it "
        "goes ahead of every queued deploy; only the incident's commander and responders may.",
    )


class DeployHeartbeat(_Body):
    fencing_token: Counter


class DeployFinish(_Body):
    fencing_token: Counter
    exit_code: ExitCode = Field(description="The command's exit code (128+N: killed by signal N).")
    duration_seconds: float = Field(ge=0, le=MAX_DEPLOY_SECONDS, allow_inf_nan=False)


class DeployCancel(_Body):
    reason: str = Field(description="wait-expired, approval-expired or interrupted.")


class ApprovalCreate(_Body):
    reason: str = Field("", description="Why (required to deny).")


def _fields(deploy: Deploy) -> dict[str, Any]:
    return {field.name: getattr(deploy, field.name) for field in dataclasses.fields(deploy)}


class DeployRead(BaseModel):
    """One deploy: who asked, what (branch, commit, the plan's verdict and digest), where it
    is in its life (``state``) and how it ended. ``analysis`` (the plan's findings, never
    attribute values) is given when one deploy is asked for, and null in lists."""

    id: int
    environment: str
    state: str = Field(
        description="queued, awaiting-approval, running, succeeded, failed, refused, "
        "superseded, denied, expired or cancelled."
    )
    requester: str = Field(description="The token that asked.")
    requester_is_ci: bool
    actor: str = Field(description="Who triggered the CI run.")
    branch: str
    commit: str
    run_url: str
    priority: int
    plan_verdict: str = Field(description="routine, needs-approval, blocked or none.")
    plan_digest: str | None
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    outcome: str | None = Field(description="succeeded, failed or lease-lapsed.")
    exit_code: int | None
    duration_seconds: float | None
    refusal_reason: str | None
    refusal_message: str | None
    superseded_by: int | None
    analysis: dict[str, Any] | None
    hotfix_for: int | None = Field(
        None, description="The incident this deploy is a hotfix of (priority 1)."
    )

    @classmethod
    def of(cls, deploy: Deploy) -> DeployRead:
        return cls(**_fields(deploy))


class ListedDeployRead(DeployRead):
    """A deploy in a list, with its environment's time zone to show its times in."""

    timezone: str

    @classmethod
    def listed(cls, deploy: Deploy, timezone: str) -> ListedDeployRead:
        return cls(**_fields(deploy), timezone=timezone)


class DeployListRead(BaseModel):
    deploys: list[ListedDeployRead]


class RefusalReasonRead(BaseModel):
    """One reason a deploy is refused (or, beside a refusal, ``needs-approval``)."""

    reason: str = Field(description="held, reserved, frozen, blocked, denied, needs-approval, ...")
    message: str = Field(description="One sentence, naming whom to ask.")
    whom: str | None = Field(None, description="Whom to ask; null: nobody in particular.")
    until: datetime | None = Field(None, description="When this reason ends, if it does.")


class GateAnswerRead(BaseModel):
    """What the gate is told about its deploy: ``decision`` go (with ``fencing_token`` and
    the lease), wait (with ``position``), needs-approval, refused (with ``reason``, ``whom``
    to ask, ``until`` when it could go) or finished. ``version`` and ``recheck_at`` are what
    the gate sends back when it long-polls."""

    deploy: DeployRead
    decision: str = Field(description="go, wait, needs-approval, refused or finished.")
    message: str
    version: int = Field(description="The environment's change counter.")
    reason: str | None
    whom: str | None
    until: datetime | None
    position: int | None = Field(description="1: next to go.")
    link: str
    fencing_token: int | None
    lease_seconds: int | None
    lease_until: datetime | None
    recheck_at: datetime | None = Field(
        description="When time alone may change the answer (a lease lapses, a window nears)."
    )
    ahead: int | None = Field(
        None, description="While waiting: the deploy directly ahead in the queue (or running)."
    )
    reasons: list[RefusalReasonRead] = Field(
        default_factory=list,
        description="When refused: every reason that applies, the primary `reason` first "
        "(`message` holds every sentence); empty otherwise.",
    )
    expected_wait_seconds: int | None = Field(
        None,
        description="While waiting: about how long until it goes (the expected deploy "
        "duration for each deploy ahead); null when it cannot be told. An estimate.",
    )

    @classmethod
    def of(cls, answer: GateAnswer) -> GateAnswerRead:
        return cls(
            deploy=DeployRead.of(answer.deploy),
            decision=answer.decision,
            message=answer.message,
            version=answer.version,
            reason=answer.reason,
            whom=answer.whom,
            until=answer.until,
            position=answer.position,
            link=answer.link,
            fencing_token=answer.fencing_token,
            lease_seconds=answer.lease_seconds,
            lease_until=answer.lease_until,
            recheck_at=answer.recheck_at,
            ahead=answer.ahead,
            expected_wait_seconds=answer.expected_wait_seconds,
            reasons=[
                RefusalReasonRead(
                    reason=str(r.reason), message=r.message, whom=r.whom, until=r.until
                )
                for r in answer.reasons
            ],
        )


class UnchangedDeployRead(BaseModel):
    id: int


class UnchangedRead(BaseModel):
    """A long-poll that saw no change: the gate's last answer still holds."""

    unchanged: Literal[True] = True
    version: int
    deploy: UnchangedDeployRead


class ApprovalRead(BaseModel):
    """An approver's decision on a deploy's plan (``approve`` or ``deny``)."""

    id: int
    deploy: DeployRead
    approver: str
    decision: str
    reason: str
    at: datetime
    as_commander_of: int | None = Field(
        None,
        description="Given by the commander of this incident for its hotfix, not by an approver.",
    )

    @classmethod
    def of(cls, approval: Approval) -> ApprovalRead:
        return cls(
            id=approval.id,
            deploy=DeployRead.of(approval.deploy),
            approver=approval.approver,
            decision=approval.decision,
            reason=approval.reason,
            at=approval.at,
            as_commander_of=approval.as_commander_of,
        )

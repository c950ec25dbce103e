"""Preflight: the request (what a gate started now would send) and the judgement.

``PreflightRead`` is what `signalbox preflight` reads: the verdict a gate would get, its
place in the queue and the expected wait, the plan's verdict and analysis, and every reason
that would stop or delay it (refusals first). Nothing is stored by asking.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from signalbox.api.models.bounds import RowId
from signalbox.api.models.environments import BlockerRead
from signalbox.services.deploys.preflight import PreflightAnswer

__all__ = ["PreflightCreate", "PreflightRead", "PreflightReasonRead"]


class PreflightCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    environment: str
    branch: str = Field("", description="The real request would supersede older ones of it.")
    commit: str = ""
    actor: str = Field("", description="Who triggered the CI run (e.g. GITHUB_ACTOR).")
    plan: str | None = Field(None, description="The plan JSON bytes, base64-encoded.")
    plan_source: str = Field("", description="The plan's file name, for messages.")
    hotfix: RowId | None = Field(
        None, description="The open incident the deploy would be a hotfix of (`--hotfix N`)."
    )


class PreflightReasonRead(BlockerRead):
    """One reason a gate started now would be stopped (``effect`` ``refused``) or delayed
    (``waits``): ``whom`` to ask, ``until`` when it ends if known. The picture's blocker,
    with the reasons that belong to one deploy besides (its plan, its approval)."""

    reason: str = Field(
        description="denied, blocked, frozen, held, reserved, freeze, needs-approval, "
        "deploying or queued."
    )


class PreflightRead(BaseModel):
    """What a gate started now would be told, without asking it."""

    environment: str
    verdict: str = Field(description="go, wait, needs-approval or refused.")
    reason: str | None = Field(description="The gate's refusal reason (null unless refused).")
    message: str
    position: int = Field(description="The place it would take in the queue (1: next).")
    expected_wait_seconds: float = Field(
        description="What is left of the running deploy plus the expected duration of each "
        "deploy ahead."
    )
    expected_deploy_seconds: float = Field(description="How long a deploy here usually takes.")
    plan_verdict: str = Field(description="routine, needs-approval, blocked or none.")
    analysis: dict[str, Any] | None = Field(description="The plan's analysis (no values).")
    reasons: list[PreflightReasonRead] = Field(description="Every reason: refusals first.")
    hotfix_for: int | None
    superseding: list[int] = Field(
        description="Waiting deploys of the same branch the real request would supersede."
    )
    version: int = Field(description="The environment's change counter (unchanged by this).")
    timezone: str = Field(description="The environment's time zone, for showing times.")

    @classmethod
    def of(cls, answer: PreflightAnswer) -> PreflightRead:
        judged = answer.preflight
        return cls(
            environment=judged.environment,
            verdict=str(judged.verdict),
            reason=judged.reason,
            message=judged.message,
            position=judged.position,
            expected_wait_seconds=judged.expected_wait.total_seconds(),
            expected_deploy_seconds=answer.expected_deploy.total_seconds(),
            plan_verdict=judged.plan_verdict,
            analysis=answer.analysis,
            reasons=[PreflightReasonRead.of(reason) for reason in judged.reasons],
            hotfix_for=judged.hotfix_for,
            superseding=list(judged.superseding),
            version=answer.version,
            timezone=answer.timezone,
        )

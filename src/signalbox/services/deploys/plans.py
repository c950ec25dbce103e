"""What a gate sends (``DeployRequest``: the environment, the CI context, the plan, the
incident it is a hotfix of) and the plan's analysis with the environment's policy (the same
code as `signalbox check`), for a deploy request and for a preflight alike: both must judge
a request the same way."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from signalbox.core.errors import PlanTooLarge
from signalbox.settings import Settings

__all__ = ["DeployRequest", "PlanAnalysis", "analyse_plan"]


@dataclass(frozen=True, slots=True)
class DeployRequest:
    environment: str
    branch: str = ""
    commit: str = ""
    actor: str = ""
    run_url: str = ""
    plan: bytes | None = None
    plan_source: str = "plan.json"
    hotfix: int | None = None
    """The open incident of the environment this deploy is a hotfix of (`gate --hotfix N`)."""


@dataclass(frozen=True, slots=True)
class PlanAnalysis:
    """``verdict`` routine, needs-approval, blocked, or none without a plan; ``digest`` the
    plan's SHA-256 (what an approval is bound to); ``document`` the analysis as stored."""

    verdict: str
    digest: str | None
    document: dict[str, Any] | None


def analyse_plan(
    settings: Settings, *, environment: str, plan: bytes | None, source: str
) -> PlanAnalysis:
    """``plan``'s analysis for ``environment`` (PlanTooLarge above ``max_plan_bytes``)."""
    if plan is None:
        return PlanAnalysis("none", None, None)
    if len(plan) > settings.max_plan_bytes:
        raise PlanTooLarge(
            f"The plan is {len(plan)} bytes, above the server's limit of "
            f"{settings.max_plan_bytes}.",
            hint="Ask the server's admin to raise max_plan_bytes, or split the plan.",
        )
    from signalbox.services.plan_check import check_plan_bytes

    result = check_plan_bytes(
        plan, source=source or "plan.json", environment=environment, document=settings.document
    )
    return PlanAnalysis(str(result.verdict), hashlib.sha256(plan).hexdigest(), result.document)

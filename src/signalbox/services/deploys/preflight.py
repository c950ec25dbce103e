"""Preflight: would a gate started now go, wait, or be refused? Nothing is written.

A pipeline's first step (``signalbox preflight``), so that a job bound for a frozen, held
or reserved environment ends before it builds anything. The plan (when given) is analysed
with the same code as a deploy request (``plans.analyse_plan``); then, in one read-only
transaction, a ``--hotfix N`` is checked as a request would check it (``hotfix.
hotfix_incident``: a caller outside the incident's team is Forbidden), the snapshot is read
without tidying (``snapshot.read_snapshot``) and ``core.preflight.preflight`` judges a
deploy that is not stored: requested now, with an id above every stored one (it arrives
last), priority 1 and the incident for a hotfix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from signalbox.core.preflight import Preflight, preflight
from signalbox.core.views import DeployState, DeployView, Principal
from signalbox.services.deploys.hotfix import HOTFIX_PRIORITY, hotfix_incident
from signalbox.services.deploys.plans import DeployRequest, analyse_plan
from signalbox.services.deploys.snapshot import read_snapshot
from signalbox.settings import Settings
from signalbox.storage.repositories.deploys import ApprovalRepository
from signalbox.storage.uow import UnitOfWork

__all__ = ["PreflightAnswer", "PreflightRequest", "preflight_deploy"]


PreflightRequest = DeployRequest
"""A preflight is asked with what a gate started now would send: the environment, the CI
context (the branch decides which older deploys it would supersede; the actor, whom a CI
token speaks for), the plan and the incident it would be a hotfix of."""


@dataclass(frozen=True, slots=True)
class PreflightAnswer:
    """``preflight`` is the judgement; ``version`` the environment's change counter it was
    read at (a preflight leaves it as it was); ``timezone`` the environment's zone, for the
    times in its sentences."""

    preflight: Preflight
    version: int
    timezone: str
    now: datetime
    expected_deploy: timedelta = timedelta(0)
    """How long a deploy to the environment is expected to take."""
    analysis: dict[str, Any] | None = None
    """The plan's analysis (schema ``signalbox.check/1``; never attribute values)."""


def preflight_deploy(
    engine: Engine,
    settings: Settings,
    *,
    request: DeployRequest,
    requester: Principal,
    now: datetime,
) -> PreflightAnswer:
    """Judge a deploy requested now by ``requester`` without storing anything."""
    with UnitOfWork(engine, read_only=True) as uow:
        uow.environments.get(request.environment)  # unknown environment: before the analysis
    analysis = analyse_plan(
        settings, environment=request.environment, plan=request.plan, source=request.plan_source
    )
    with UnitOfWork(engine, read_only=True) as uow:
        env = uow.environments.get(request.environment)
        if request.hotfix is not None:
            hotfix_incident(
                uow,
                request.hotfix,
                environment=request.environment,
                requester=requester,
                actor=request.actor,
            )
        snapshot = read_snapshot(uow, settings, request.environment, now=now)
        decision = None
        if analysis.digest is not None:  # the same plan approved before goes without another
            latest = ApprovalRepository(uow.session).latest(request.environment, analysis.digest)
            decision = latest.decision if latest is not None else None
        version = env.version
        timezone = env.timezone
    stored = max((deploy.id for deploy in snapshot.deploys), default=0)
    deploy = DeployView(
        id=stored + 1,
        environment=request.environment,
        requester=requester,
        branch=request.branch,
        commit=request.commit,
        state=DeployState.QUEUED,
        priority=HOTFIX_PRIORITY if request.hotfix is not None else 0,
        requested_at=now,
        plan_verdict=analysis.verdict,
        plan_digest=analysis.digest,
        approved=decision == "approve",
        denied=decision == "deny",
        incident_id=request.hotfix,
    )
    judged = preflight(snapshot, deploy, now=now)
    return PreflightAnswer(
        judged, version, timezone, now, snapshot.expected_duration, analysis.document
    )

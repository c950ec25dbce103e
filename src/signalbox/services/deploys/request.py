"""Request a deploy: store it with its plan's analysis, supersede older ones, decide.

The plan is analysed with the environment's policy (the same code as `signalbox check`,
``plans.analyse_plan``) before the transaction; then, with the environment locked, the
deploy is stored (``deploy.requested``), older waiting deploys of the same branch leave the
queue (``deploy.superseded``: their gates stop at once) and the gate decides
(``outcomes.decide_row``). The answer carries the plan's analysis, once. A deploy queued
behind every other, whose request was the transaction's only event, changes no waiting
gate's answer: its answer says so (``wakes_waiters``), and the long-poll leaves them parked.

A hotfix (``hotfix=N``) is checked with the environment locked (``hotfix.hotfix_incident``:
the incident exists, is this environment's, is open, and the requester is in its team) and
stored with priority 1 and ``incident_id`` N: it goes ahead of every queued deploy, still
one deploy at a time, its plan still judged (needs-approval waits for an approval).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import Engine

from signalbox.core.errors import InvalidInput
from signalbox.core.events import DeployRequested, DeploySuperseded
from signalbox.core.queue import WAITING_LEASE, superseded_by, superseded_message
from signalbox.core.views import DeployState, Principal
from signalbox.services.deploys.answers import Deploy, GateAnswer
from signalbox.services.deploys.events import deploy_fields
from signalbox.services.deploys.hotfix import HOTFIX_PRIORITY, hotfix_incident
from signalbox.services.deploys.outcomes import decide_row_in, last_in_queue
from signalbox.services.deploys.plans import DeployRequest, analyse_plan
from signalbox.services.deploys.snapshot import views_of
from signalbox.services.events import emit
from signalbox.settings import Settings
from signalbox.storage.repositories.deploys import DeployRepository
from signalbox.storage.tables import DeployRow
from signalbox.storage.uow import UnitOfWork

__all__ = ["DeployRequest", "request_deploy"]


def _validate(request: DeployRequest) -> None:
    for name, value, limit in (
        ("branch", request.branch, 255),
        ("commit", request.commit, 64),
        ("actor", request.actor, 128),
    ):
        if len(value) > limit:
            raise InvalidInput(
                f"The {name} is longer than {limit} characters.",
                hint=f"Pass the {name} as CI gives it (--{name}).",
                field=name,
            )


def request_deploy(
    engine: Engine,
    settings: Settings,
    *,
    request: DeployRequest,
    requester: Principal,
    now: datetime,
) -> GateAnswer:
    """Store the deploy request with its plan analysis, supersede older ones, decide."""
    _validate(request)
    with UnitOfWork(engine, read_only=True) as uow:
        uow.environments.get(request.environment)  # unknown environment: before the analysis
    analysis = analyse_plan(
        settings, environment=request.environment, plan=request.plan, source=request.plan_source
    )
    with UnitOfWork(engine) as uow:
        env = uow.lock_environment(request.environment)
        version_before = env.version
        now = uow.now(now)
        if request.hotfix is not None:  # checked with the environment locked: no race
            hotfix_incident(
                uow,
                request.hotfix,
                environment=request.environment,
                requester=requester,
                actor=request.actor,
            )
        row = DeployRepository(uow.session).add(
            DeployRow(
                environment=request.environment,
                requester=requester.name,
                requester_is_ci=requester.is_ci,
                actor=request.actor,
                branch=request.branch,
                commit=request.commit,
                run_url=request.run_url,
                state=DeployState.QUEUED,
                priority=HOTFIX_PRIORITY if request.hotfix is not None else 0,
                incident_id=request.hotfix,
                plan_verdict=analysis.verdict,
                plan_digest=analysis.digest,
                analysis=analysis.document,
                requested_at=now,
                wait_deadline=now + WAITING_LEASE,
            )
        )
        event = DeployRequested(**deploy_fields(row))
        emit(uow, event, environment=row.environment, actor=requester.name, now=now)
        _supersede_older(uow, row, now)
        answer, snapshot = decide_row_in(uow, settings, row, env, now=now)
        # its request was the only event (nothing superseded, tidied or started) and it
        # queues behind everyone: no waiting gate's answer changes, none is woken
        alone = env.version == version_before + 1
        quiet = alone and answer.decision != "go" and last_in_queue(snapshot, row.id)
        return replace(answer, deploy=Deploy.of(row), wakes_waiters=not quiet)


def _supersede_older(uow: UnitOfWork, newer: DeployRow, now: datetime) -> None:
    """Older waiting deploys of the same branch leave the queue (not without a branch: two
    deploys requested by hand without CI context are not versions of one another). Only
    that branch's waiting deploys are read, not the whole queue."""
    if not newer.branch:
        return
    repository = DeployRepository(uow.session)
    same_branch = repository.waiting_of_branch(newer.environment, newer.branch)
    rows = {row.id: row for row in same_branch}
    views = {view.id: view for view in views_of(uow, newer.environment, same_branch)}
    newer_view = views[newer.id]
    for deploy_id in superseded_by(views.values(), newer_view):
        old = rows[deploy_id]
        old.state = DeployState.SUPERSEDED
        old.superseded_by = newer.id
        old.finished_at = now
        old.refusal_reason = "superseded"
        old.refusal_message = superseded_message(views[deploy_id], newer_view)
        event = DeploySuperseded(**deploy_fields(old), superseded_by=newer.id)
        emit(uow, event, environment=old.environment, actor="signalbox", now=now)

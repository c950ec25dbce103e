"""Deploys: request (with the plan's analysis), decide, heartbeat, finish, cancel.

Each use case is one transaction that locks the environment, loads its snapshot
(``deploy_snapshot.load_snapshot``), asks ``core.gate.decide_gate``, writes the outcome and
its event. On Go the deploy takes the environment's DEPLOY hold (``holds.acquire_hold_in``:
a new fencing token) and is marked running; the gate renews that lease by heartbeat and
releases it when it reports the outcome. Refusals are answers (``GateAnswer``), not errors.

Event kinds: deploy.requested, deploy.superseded, deploy.awaiting-approval, deploy.started,
deploy.refused, deploy.finished, deploy.cancelled, deploy.expired (and, from the snapshot,
deploy.lapsed and deploy.abandoned). Lease renewals by heartbeat are not events.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from signalbox.core.errors import InvalidInput, InvalidTransition, PlanTooLarge
from signalbox.core.gate import (
    EnvironmentSnapshot,
    GateDecision,
    Go,
    NeedsApproval,
    RefusalReason,
    Refused,
    Wait,
    decide_gate,
    decide_wait_expiry,
)
from signalbox.core.holds import Denied, HoldRequest
from signalbox.core.queue import superseded_by
from signalbox.core.views import DeployState, HoldKind, Principal
from signalbox.services.deploy_answers import (
    DeployRead,
    GateAnswer,
    answer_for_row,
    final_answer,
    settled_answer,
)
from signalbox.services.deploy_events import environment_version, record_deploy_event
from signalbox.services.deploy_snapshot import (
    WAITING_LEASE,
    load_snapshot,
    recheck_at,
    view_of,
    views_of,
)
from signalbox.services.holds import acquire_hold_in, describe_denial
from signalbox.settings import Settings
from signalbox.storage.repositories.deploys import DeployRepository
from signalbox.storage.tables import DeployRow
from signalbox.storage.uow import UnitOfWork

__all__ = [
    "DeployRequest",
    "apply_decision",
    "cancel_deploy",
    "decide_deploy",
    "request_deploy",
    "touch_waiting",
]

CANCEL_REASONS = ("wait-expired", "approval-expired", "interrupted")
_REFUSED_STATE = {
    "superseded": DeployState.SUPERSEDED,
    "denied": DeployState.DENIED,
    "wait-expired": DeployState.EXPIRED,
    "approval-expired": DeployState.EXPIRED,
}


@dataclass(frozen=True, slots=True)
class DeployRequest:
    environment: str
    branch: str = ""
    commit: str = ""
    actor: str = ""
    run_url: str = ""
    plan: bytes | None = None
    plan_source: str = "plan.json"


@dataclass(frozen=True, slots=True)
class _Analysis:
    verdict: str
    digest: str | None
    document: dict[str, Any] | None


def _analyse(settings: Settings, request: DeployRequest) -> _Analysis:
    """The plan's analysis with the environment's policy (the same code as `check`)."""
    if request.plan is None:
        return _Analysis("none", None, None)
    if len(request.plan) > settings.max_plan_bytes:
        raise PlanTooLarge(
            f"The plan is {len(request.plan)} bytes, above the server's limit of "
            f"{settings.max_plan_bytes}.",
            hint="Ask the server's admin to raise max_plan_bytes, or split the plan.",
        )
    from signalbox.services.plan_check import check_plan_bytes

    result = check_plan_bytes(
        request.plan,
        source=request.plan_source or "plan.json",
        environment=request.environment,
        document=settings.document,
    )
    digest = hashlib.sha256(request.plan).hexdigest()
    return _Analysis(str(result.verdict), digest, result.document)


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
    request: DeployRequest,
    *,
    requester: Principal,
    now: datetime,
) -> GateAnswer:
    """Store the deploy request with its plan analysis, supersede older ones, decide."""
    _validate(request)
    with UnitOfWork(engine, read_only=True) as uow:
        uow.environments.get(request.environment)  # unknown environment: before the analysis
    analysis = _analyse(settings, request)
    with UnitOfWork(engine) as uow:
        env = uow.lock_environment(request.environment)
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
                priority=0,
                plan_verdict=analysis.verdict,
                plan_digest=analysis.digest,
                analysis=analysis.document,
                requested_at=now,
                wait_deadline=now + WAITING_LEASE,
            )
        )
        who = request.actor or requester.name
        message = (
            f"{who} asked to deploy {request.branch or '?'} @ {request.commit[:12] or '?'} "
            f"to {request.environment} (plan: {analysis.verdict})."
        )
        record_deploy_event(
            uow, row, "deploy.requested", actor=requester.name, message=message, now=now
        )
        _supersede_older(uow, row, now)
        answer = _decide_row(uow, settings, row, timezone=env.timezone, now=now)
        return replace(answer, deploy=DeployRead.of(row))  # with the plan analysis, once


def decide_deploy(
    engine: Engine, settings: Settings, deploy_id: int, *, now: datetime
) -> GateAnswer:
    """Decide again (a waiting gate asks): may deploy ``deploy_id`` go now?"""
    with UnitOfWork(engine) as uow:
        row, env = uow.lock_deploy(deploy_id)
        if row.state not in (DeployState.QUEUED, DeployState.AWAITING_APPROVAL):
            return settled_answer(uow, settings, row)
        row.wait_deadline = now + WAITING_LEASE
        return _decide_row(uow, settings, row, timezone=env.timezone, now=now)


def touch_waiting(engine: Engine, deploy_ids: list[int], *, now: datetime) -> int:
    """Keep the given waiting deploys in the queue: their gates are still connected."""
    with UnitOfWork(engine) as uow:
        return DeployRepository(uow.session).extend_waiting(deploy_ids, until=now + WAITING_LEASE)


def _supersede_older(uow: UnitOfWork, newer: DeployRow, now: datetime) -> None:
    """Older waiting deploys of the same branch leave the queue (not without a branch: two
    deploys requested by hand without CI context are not versions of one another)."""
    if not newer.branch:
        return
    repository = DeployRepository(uow.session)
    active = repository.active(newer.environment)
    views = list(views_of(uow, newer.environment, active))
    newer_view = next(view for view in views if view.id == newer.id)
    for deploy_id in superseded_by(views, newer_view):
        old = repository.get(deploy_id)
        old.state = DeployState.SUPERSEDED
        old.superseded_by = newer.id
        old.finished_at = now
        old.refusal_reason = "superseded"
        old.refusal_message = (
            f"Deploy {old.id} ({old.branch} @ {old.commit[:7]}) to {old.environment} was "
            f"superseded by deploy {newer.id} ({newer.commit[:7]}) of the same branch; this "
            "job can stop, the newer one will deploy."
        )
        record_deploy_event(
            uow,
            old,
            "deploy.superseded",
            actor="signalbox",
            message=old.refusal_message,
            now=now,
            superseded_by=newer.id,
        )


def _decide_row(
    uow: UnitOfWork, settings: Settings, row: DeployRow, *, timezone: str, now: datetime
) -> GateAnswer:
    snapshot = load_snapshot(uow, settings, row.environment, timezone=timezone, now=now)
    if row.state not in (DeployState.QUEUED, DeployState.AWAITING_APPROVAL):
        return settled_answer(uow, settings, row)
    decision: GateDecision = decide_gate(snapshot, view_of(uow, row), now=now)
    answer = apply_decision(uow, settings, row, decision, timezone=timezone, now=now)
    return replace(
        answer, version=environment_version(uow, row), recheck_at=_recheck(answer, snapshot, now)
    )


def _recheck(answer: GateAnswer, snapshot: EnvironmentSnapshot, now: datetime) -> datetime | None:
    return recheck_at(snapshot, now=now) if answer.decision in ("wait", "needs-approval") else None


def apply_decision(
    uow: UnitOfWork,
    settings: Settings,
    row: DeployRow,
    decision: GateDecision,
    *,
    timezone: str,
    now: datetime,
) -> GateAnswer:
    """Write what ``decision`` means for waiting deploy ``row`` (take the hold and run,
    refuse, await approval) with its event; the answer's ``version`` is left to the caller
    (0 here), as is ``recheck_at``."""
    if isinstance(decision, Go):
        decision = _start(uow, settings, row, now=now, timezone=timezone) or decision
    if isinstance(decision, Refused):
        _refuse(uow, row, decision, now=now)
        return replace(final_answer(row, version=0), whom=decision.whom, until=decision.until)
    if isinstance(decision, NeedsApproval) and row.state != DeployState.AWAITING_APPROVAL:
        row.state = DeployState.AWAITING_APPROVAL
        record_deploy_event(
            uow,
            row,
            "deploy.awaiting-approval",
            actor="signalbox",
            message=decision.message,
            now=now,
        )
    return answer_for_row(uow, row, decision, settings=settings, version=0, recheck=None)


def _start(
    uow: UnitOfWork, settings: Settings, row: DeployRow, *, now: datetime, timezone: str
) -> Refused | None:
    """Take the DEPLOY hold and mark the deploy running; a Refused if the hold is denied."""
    lease = timedelta(seconds=settings.deploy_lease_seconds)
    requester = Principal(name=row.requester, is_ci=row.requester_is_ci)
    reason = f"deploy {row.id} ({row.branch or '?'} @ {row.commit[:7] or '?'})"
    request = HoldRequest(row.environment, requester, HoldKind.DEPLOY, reason, lease, row.id)
    granted = acquire_hold_in(uow, request, now=now)
    if isinstance(granted, Denied):
        message, hint = describe_denial(granted, timezone, now=now)
        return Refused(
            row.id,
            RefusalReason.HELD,
            f"{message} {hint}",
            granted.holder.owner.name,
            granted.holder.until,
        )
    row.state = DeployState.RUNNING
    row.granted_at = row.started_at = now
    token = granted.hold.fencing_token
    message = (
        f"Deploy {row.id} ({row.branch or '?'} @ {row.commit[:12] or '?'}) to "
        f"{row.environment} started (fencing token {token})."
    )
    record_deploy_event(
        uow,
        row,
        "deploy.started",
        actor=row.requester,
        message=message,
        now=now,
        fencing_token=token,
    )
    return None


def _refuse(uow: UnitOfWork, row: DeployRow, refused: Refused, *, now: datetime) -> None:
    row.state = _REFUSED_STATE.get(str(refused.reason), DeployState.REFUSED)
    row.refusal_reason = str(refused.reason)
    row.refusal_message = refused.message
    row.finished_at = now
    record_deploy_event(
        uow,
        row,
        "deploy.refused" if row.state == DeployState.REFUSED else f"deploy.{row.state}",
        actor="signalbox",
        message=refused.message,
        now=now,
        reason=str(refused.reason),
        whom=refused.whom,
    )


def cancel_deploy(
    engine: Engine,
    settings: Settings,
    deploy_id: int,
    *,
    principal: Principal,
    reason: str,
    now: datetime,
) -> GateAnswer:
    """The gate stops waiting (its --wait ran out, or it was interrupted)."""
    if reason not in CANCEL_REASONS:
        raise InvalidInput(
            f"{reason!r} is not a reason to cancel a deploy.",
            hint=f"Use one of: {', '.join(CANCEL_REASONS)}.",
            field="reason",
        )
    with UnitOfWork(engine) as uow:
        row, env = uow.lock_deploy(deploy_id)
        if row.state not in (DeployState.QUEUED, DeployState.AWAITING_APPROVAL):
            return settled_answer(uow, settings, row)
        if row.requester != principal.name:
            raise InvalidTransition(
                f"Deploy {row.id} was requested by {row.requester}, not by you "
                f"({principal.name}); only its own gate cancels it.",
                hint="Let its gate time out, or ask an approver to deny it.",
            )
        snapshot = load_snapshot(uow, settings, row.environment, timezone=env.timezone, now=now)
        if row.state not in (DeployState.QUEUED, DeployState.AWAITING_APPROVAL):
            return final_answer(row, version=environment_version(uow, row))
        decision = decide_gate(snapshot, view_of(uow, row), now=now)
        if reason != "interrupted" and isinstance(decision, Wait | NeedsApproval):
            expired = decide_wait_expiry(
                decision, wait_deadline=now, now=now, timezone=env.timezone
            )
            if expired is not None:
                _refuse(uow, row, expired, now=now)
                return final_answer(row, version=environment_version(uow, row))
        _cancel(uow, row, reason=reason, by=principal, now=now)
        return final_answer(row, version=environment_version(uow, row))


def _cancel(uow: UnitOfWork, row: DeployRow, *, reason: str, by: Principal, now: datetime) -> None:
    row.state = DeployState.CANCELLED
    row.refusal_reason = "cancelled"
    row.refusal_message = f"Deploy {row.id} was cancelled by its gate ({reason})."
    row.finished_at = now
    record_deploy_event(
        uow,
        row,
        "deploy.cancelled",
        actor=by.name,
        message=row.refusal_message,
        now=now,
        reason=reason,
    )

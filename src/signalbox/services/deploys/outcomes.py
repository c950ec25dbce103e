"""What a gate decision writes for a waiting deploy, and the answer it gives.

``decide_row`` is the step every deciding use case shares: load the snapshot, ask
``core.gate.decide_gate``, write the outcome (``apply_decision``). On Go the deploy takes the
environment's DEPLOY hold (``holds.acquire_hold_in``: a new fencing token) and runs; a
refusal ends the deploy in the state its reason names (``refuse``); NeedsApproval marks it
awaiting approval. Each change is one catalogue event.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from signalbox.core.events import DeployAwaitingApproval, DeployStarted, commit_ref
from signalbox.core.gate import (
    EnvironmentSnapshot,
    GateDecision,
    Go,
    NeedsApproval,
    RefusalReason,
    Refused,
    decide_gate,
)
from signalbox.core.holds import Denied, HoldRequest
from signalbox.core.plan.summary import summary_line
from signalbox.core.queue import WAITING_STATES
from signalbox.core.views import DeployState, HoldKind, HoldView, Principal
from signalbox.services.deploys.answers import (
    GateAnswer,
    final_answer,
    go_answer,
    settled_answer,
    waiting_answer,
)
from signalbox.services.deploys.events import deploy_fields, refusal_event
from signalbox.services.deploys.snapshot import load_snapshot, recheck_at, view_in
from signalbox.services.events import emit
from signalbox.services.holds import acquire_hold_in, describe_denial
from signalbox.settings import Settings
from signalbox.storage.repositories.deploys import ApprovalRepository, approval_key
from signalbox.storage.tables import DeployRow, EnvironmentRow
from signalbox.storage.uow import UnitOfWork

__all__ = [
    "Outcome",
    "apply_decision",
    "decide_row",
    "decide_row_in",
    "last_in_queue",
    "pending_recheck",
    "refuse",
]

_REFUSED_STATE = {
    RefusalReason.SUPERSEDED: DeployState.SUPERSEDED,
    RefusalReason.DENIED: DeployState.DENIED,
    RefusalReason.WAIT_EXPIRED: DeployState.EXPIRED,
    RefusalReason.APPROVAL_EXPIRED: DeployState.EXPIRED,
}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What ``apply_decision`` wrote: the answer (its ``version`` and ``recheck_at`` are
    left to the caller) and, on Go, the deploy hold taken."""

    answer: GateAnswer
    hold: HoldView | None = None


def decide_row(
    uow: UnitOfWork, settings: Settings, row: DeployRow, env: EnvironmentRow, *, now: datetime
) -> GateAnswer:
    """Decide waiting deploy ``row`` of ``env`` (locked by the caller) and write the outcome."""
    return decide_row_in(uow, settings, row, env, now=now)[0]


def decide_row_in(
    uow: UnitOfWork, settings: Settings, row: DeployRow, env: EnvironmentRow, *, now: datetime
) -> tuple[GateAnswer, EnvironmentSnapshot]:
    """``decide_row``, with the snapshot the decision was made against."""
    snapshot = load_snapshot(uow, settings, row.environment, timezone=env.timezone, now=now)
    if row.state not in WAITING_STATES:  # the tidying just ended it
        return settled_answer(uow, settings, row, version=env.version), snapshot
    decision = decide_gate(snapshot, view_in(uow, snapshot, row), now=now)
    answer = apply_decision(uow, settings, row, decision, timezone=env.timezone, now=now).answer
    recheck = pending_recheck(answer, snapshot, now)
    return replace(answer, version=env.version, recheck_at=recheck), snapshot


def last_in_queue(snapshot: EnvironmentSnapshot, deploy_id: int) -> bool:
    """``deploy_id`` is behind every other waiting deploy of ``snapshot`` (or not waiting)."""
    return snapshot.waiting_deploy(deploy_id) is None or snapshot.queue[-1].id == deploy_id


def pending_recheck(
    answer: GateAnswer, snapshot: EnvironmentSnapshot, now: datetime
) -> datetime | None:
    """When a waiting answer should be checked again though nothing changed; None else."""
    return recheck_at(snapshot, now=now) if answer.decision in ("wait", "needs-approval") else None


def apply_decision(
    uow: UnitOfWork,
    settings: Settings,
    row: DeployRow,
    decision: GateDecision,
    *,
    timezone: str,
    now: datetime,
) -> Outcome:
    """Write what ``decision`` means for waiting deploy ``row`` (take the hold and run,
    refuse, await approval) with its event."""
    if isinstance(decision, Go):
        started = _start(uow, settings, row, timezone=timezone, now=now)
        if isinstance(started, HoldView):
            answer = go_answer(row, started, settings=settings, version=0)
            return Outcome(answer, started)
        decision = started
    if isinstance(decision, Refused):
        refuse(uow, row, decision, now=now)
        answer = replace(
            final_answer(row, version=0),
            whom=decision.whom,
            until=decision.until,
            reasons=decision.reasons,
        )
        return Outcome(answer)
    if isinstance(decision, NeedsApproval) and row.state != DeployState.AWAITING_APPROVAL:
        row.state = DeployState.AWAITING_APPROVAL
        event = DeployAwaitingApproval(**deploy_fields(row))
        emit(uow, event, environment=row.environment, actor="signalbox", now=now)
    return Outcome(waiting_answer(row, decision, settings=settings, version=0, recheck=None))


def _start(
    uow: UnitOfWork, settings: Settings, row: DeployRow, *, timezone: str, now: datetime
) -> HoldView | Refused:
    """Take the DEPLOY hold and mark the deploy running: the hold, or a Refused if denied."""
    lease = timedelta(seconds=settings.deploy_lease_seconds)
    requester = Principal(name=row.requester, is_ci=row.requester_is_ci)
    ref = commit_ref(row.branch, row.commit)
    reason = f"deploy {row.id} ({ref})" if ref else f"deploy {row.id}"
    request = HoldRequest(row.environment, requester, HoldKind.DEPLOY, reason, lease, row.id)
    granted = acquire_hold_in(uow, request, now=now)
    if isinstance(granted, Denied):
        message, hint = describe_denial(granted, timezone, now=now)
        holder = granted.holder
        return Refused(
            row.id, RefusalReason.HELD, f"{message} {hint}", holder.owner.name, holder.until
        )
    row.state = DeployState.RUNNING
    row.granted_at = row.started_at = now
    event = DeployStarted(
        **deploy_fields(row),
        fencing_token=granted.hold.fencing_token,
        plan_summary=summary_line(row.analysis),
        approved_by=_approved_by(uow, row),
    )
    emit(uow, event, environment=row.environment, actor=row.requester, now=now)
    return granted.hold


def _approved_by(uow: UnitOfWork, row: DeployRow) -> tuple[str, ...]:
    """Who approved the plan ``row`` runs (the approval that let it go), if anyone."""
    latest = ApprovalRepository(uow.session).latest(row.environment, approval_key(row))
    if latest is None or latest.decision != "approve":
        return ()
    return (latest.approver,)


def refuse(uow: UnitOfWork, row: DeployRow, refused: Refused, *, now: datetime) -> None:
    """End waiting deploy ``row`` as ``refused`` says, with its event."""
    row.state = _REFUSED_STATE.get(refused.reason, DeployState.REFUSED)
    row.refusal_reason = str(refused.reason)
    row.refusal_message = refused.message
    row.finished_at = now
    emit(uow, refusal_event(row, refused), environment=row.environment, actor="signalbox", now=now)

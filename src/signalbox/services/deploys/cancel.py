"""Cancel: the gate stops waiting (its --wait ran out, or it was interrupted).

A wait that ran out is told as the gate's rule tells it (``core.gate.decide_wait_expiry``:
``deploy.expired`` with ``wait-expired`` or ``approval-expired``) when the deploy was still
waiting for a reason; otherwise, and when interrupted, the deploy is ``deploy.cancelled``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from signalbox.core.errors import InvalidInput, InvalidTransition
from signalbox.core.events import DeployCancelled
from signalbox.core.gate import NeedsApproval, Wait, decide_gate, decide_wait_expiry
from signalbox.core.queue import WAITING_STATES
from signalbox.core.views import DeployState, Principal
from signalbox.services.deploys.answers import GateAnswer, final_answer, settled_answer
from signalbox.services.deploys.events import deploy_fields
from signalbox.services.deploys.outcomes import refuse
from signalbox.services.deploys.snapshot import load_snapshot, view_in
from signalbox.services.events import emit
from signalbox.settings import Settings
from signalbox.storage.tables import DeployRow
from signalbox.storage.uow import UnitOfWork

__all__ = ["CANCEL_REASONS", "cancel_deploy"]

CANCEL_REASONS = ("wait-expired", "approval-expired", "interrupted")


def cancel_deploy(
    engine: Engine,
    settings: Settings,
    *,
    deploy_id: int,
    principal: Principal,
    reason: str,
    now: datetime,
) -> GateAnswer:
    """Stop waiting deploy ``deploy_id`` for its own gate, because of ``reason``."""
    if reason not in CANCEL_REASONS:
        raise InvalidInput(
            f"{reason!r} is not a reason to cancel a deploy.",
            hint=f"Use one of: {', '.join(CANCEL_REASONS)}.",
            field="reason",
        )
    with UnitOfWork(engine) as uow:
        row, env = uow.lock_deploy(deploy_id)
        now = uow.now(now)
        if row.state not in WAITING_STATES:
            return settled_answer(uow, settings, row, version=env.version)
        if row.requester != principal.name:
            raise InvalidTransition(
                f"Deploy {row.id} was requested by {row.requester}, not by you "
                f"({principal.name}); only its own gate cancels it.",
                hint="Let its gate time out, or ask an approver to deny it.",
            )
        snapshot = load_snapshot(uow, settings, row.environment, timezone=env.timezone, now=now)
        if row.state not in WAITING_STATES:  # the tidying just ended it
            return final_answer(row, version=env.version)
        decision = decide_gate(snapshot, view_in(uow, snapshot, row), now=now)
        if reason != "interrupted" and isinstance(decision, Wait | NeedsApproval):
            expired = decide_wait_expiry(
                decision, wait_deadline=now, now=now, timezone=env.timezone
            )
            if expired is not None:
                refuse(uow, row, expired, now=now)
                return final_answer(row, version=env.version)
        _cancel(uow, row, reason=reason, by=principal, now=now)
        return final_answer(row, version=env.version)


def _cancel(uow: UnitOfWork, row: DeployRow, *, reason: str, by: Principal, now: datetime) -> None:
    row.state = DeployState.CANCELLED
    row.refusal_reason = "cancelled"
    row.refusal_message = f"Deploy {row.id} was cancelled by its gate ({reason})."
    row.finished_at = now
    event = DeployCancelled(**deploy_fields(row), reason=reason)
    emit(uow, event, environment=row.environment, actor=by.name, now=now)

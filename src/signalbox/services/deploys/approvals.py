"""Approvals: an approver approves (or denies) one plan to go to one environment.

An approval is bound to the environment and the plan's digest (SHA-256 of the plan bytes
as sent): a changed plan needs a new approval, and the same plan sent again by a retried
pipeline is already approved. A deploy without a plan is approved alone (a re-run needs a
new approval). The latest decision on a (environment, digest) counts. By default whoever
requested the deploy cannot approve it (setting ``allow_self_approval``).

Who may decide: the caller says whether the token has the approver role on the environment
(``approver_role``). Without it, only the commander of an open incident may, and only on a
hotfix of that incident: the decision is recorded as theirs as commander
(``as_commander_of``), so the audit log and the postmortem tell it from an approver's.
Approving wakes the waiting gate (the event bumps the environment's
version); it then decides again and goes.

Events: ``approval.granted``, ``approval.denied``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from signalbox.core.errors import Forbidden, InvalidTransition
from signalbox.core.events import ApprovalDenied, ApprovalGranted
from signalbox.core.incidents import IncidentStatus
from signalbox.core.queue import WAITING_STATES
from signalbox.core.reasons import check_reason
from signalbox.core.roles import Action, missing_grant
from signalbox.core.views import Principal
from signalbox.services.deploys.answers import Deploy
from signalbox.services.events import emit
from signalbox.services.tokens import Caller
from signalbox.settings import Settings
from signalbox.storage.repositories.deploys import ApprovalRepository, approval_key
from signalbox.storage.repositories.incidents import IncidentRepository
from signalbox.storage.tables import ApprovalRow, DeployRow
from signalbox.storage.uow import UnitOfWork

__all__ = ["Approval", "approve_deploy", "decides_as_approver", "deny_deploy"]


@dataclass(frozen=True, slots=True)
class Approval:
    id: int
    deploy: Deploy
    approver: str
    decision: str  # "approve" | "deny"
    reason: str
    at: datetime
    as_commander_of: int | None = None


def decides_as_approver(caller: Caller, deploy: Deploy) -> bool:
    """The grant test before a decision on ``deploy`` (the API's and the page's): True when
    ``caller`` is an approver of its environment; False when they may only read it and it
    is a hotfix (the service then checks that they command its incident); else Forbidden,
    naming the approver grant."""
    approver_role = caller.may(Action.APPROVE, deploy.environment)
    if not approver_role and (
        deploy.hotfix_for is None or not caller.may(Action.READ, deploy.environment)
    ):
        caller.require(Action.APPROVE, deploy.environment)
    return approver_role


def approve_deploy(
    engine: Engine,
    settings: Settings,
    *,
    deploy_id: int,
    approver: Principal,
    reason: str = "",
    approver_role: bool = True,
    now: datetime,
) -> Approval:
    """Approve deploy ``deploy_id``'s plan for its environment (``reason`` is optional).
    ``approver_role``: the caller holds the approver role there (else only the commander of
    the incident the deploy is a hotfix of may)."""
    return _decide(
        engine,
        settings,
        deploy_id,
        approver,
        approve=True,
        reason=reason,
        approver_role=approver_role,
        now=now,
    )


def deny_deploy(
    engine: Engine,
    settings: Settings,
    *,
    deploy_id: int,
    approver: Principal,
    reason: str,
    approver_role: bool = True,
    now: datetime,
) -> Approval:
    """Deny deploy ``deploy_id``'s plan for its environment; a denial needs a reason. Who
    may: as for ``approve_deploy``."""
    return _decide(
        engine,
        settings,
        deploy_id,
        approver,
        approve=False,
        reason=reason,
        approver_role=approver_role,
        now=now,
    )


def _check_may_decide(row: DeployRow, approver: Principal, settings: Settings) -> None:
    if row.state not in WAITING_STATES:
        raise InvalidTransition(
            f"Deploy {row.id} is {row.state}: there is nothing left to approve or deny.",
            hint="Approve a deploy that is waiting; see `signalbox deploys --env "
            f"{row.environment}`.",
            deploy_id=row.id,
        )
    own = approver.name in {row.requester, row.actor}
    if own and not settings.allow_self_approval:
        raise Forbidden(
            f"You ({approver.name}) requested deploy {row.id}; another approver must approve it.",
            hint="Ask a colleague with the approver role (or set allow_self_approval).",
            deploy_id=row.id,
        )


def _as_commander(uow: UnitOfWork, row: DeployRow, approver: Principal) -> int | None:
    """The incident whose commander ``approver`` is, when ``row`` is a hotfix of it and it
    is still open; None otherwise."""
    if row.incident_id is None:
        return None
    incident = IncidentRepository(uow.session).get(row.incident_id)
    if incident.status == IncidentStatus.RESOLVED or incident.commander != approver.name:
        return None
    return incident.id


def _not_an_approver(row: DeployRow, approver: Principal, decision: str) -> Forbidden:
    missing = missing_grant(Action.APPROVE, row.environment)
    commander = (
        f" (or the commander of incident {row.incident_id}, whose hotfix it is)"
        if row.incident_id is not None
        else ""
    )
    return Forbidden(
        f"{approver.name} may not {decision} deploy {row.id} on {row.environment}: that needs "
        f"an approver{commander}. {missing}",
        hint="Ask someone with the approver role (signalbox token create ... --grant "
        f"approver:{row.environment}).",
        action=str(Action.APPROVE),
        environment=row.environment,
        missing=missing,
        deploy_id=row.id,
    )


def _decide(
    engine: Engine,
    settings: Settings,
    deploy_id: int,
    approver: Principal,
    *,
    approve: bool,
    reason: str,
    approver_role: bool,
    now: datetime,
) -> Approval:
    reason = (reason or "").strip()
    check_reason(
        reason,
        missing=None if approve else "A denial needs a reason; the requester will read it.",
        hint='Add --reason "why not".',
    )
    with UnitOfWork(engine) as uow:
        row, _ = uow.lock_deploy(deploy_id)
        now = uow.now(now)
        decision = "approve" if approve else "deny"
        commander_of = None if approver_role else _as_commander(uow, row, approver)
        if not approver_role and commander_of is None:
            raise _not_an_approver(row, approver, decision)
        _check_may_decide(row, approver, settings)
        approval = ApprovalRepository(uow.session).add(
            ApprovalRow(
                deploy_id=row.id,
                environment=row.environment,
                plan_digest=approval_key(row),
                approver=approver.name,
                decision=decision,
                reason=reason,
                at=now,
                as_commander_of=commander_of,
            )
        )
        kind = ApprovalGranted if approve else ApprovalDenied
        event = kind(
            deploy_id=row.id,
            plan_digest=approval_key(row),
            decision=decision,
            reason=reason,
            as_commander_of=commander_of,
        )
        emit(uow, event, environment=row.environment, actor=approver.name, now=now)
        brief = Deploy.of(row, with_analysis=False)
        return Approval(approval.id, brief, approver.name, decision, reason, now, commander_of)

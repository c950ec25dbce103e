"""What a deploy's page says of its approval: the latest decision on its plan (perhaps
given on an earlier deploy of the same plan), whether it waits for an approval now, who may
give it (``core.gate``'s words), and the commander who may approve it as a hotfix. Reads only:
a waiting deploy is judged on the snapshot its next decision would see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from signalbox.core.gate import approvers, is_hotfix, needs_approval
from signalbox.core.queue import WAITING_STATES
from signalbox.services.deploys.answers import Deploy
from signalbox.services.deploys.snapshot import read_snapshot, view_in
from signalbox.settings import Settings
from signalbox.storage.repositories.deploys import (
    ApprovalRepository,
    DeployRepository,
    approval_key,
)
from signalbox.storage.uow import UnitOfWork

__all__ = ["DeployFacts", "GivenApproval", "deploy_facts"]


@dataclass(frozen=True, slots=True)
class GivenApproval:
    """The latest decision on the deploy's plan (for a deploy without a plan: on it alone),
    perhaps given on an earlier deploy of the same plan (``deploy_id``)."""

    approver: str
    decision: str  # "approve" | "deny"
    reason: str
    at: datetime
    deploy_id: int
    as_commander_of: int | None


@dataclass(frozen=True, slots=True)
class DeployFacts:
    """What the deploy page shows: the deploy (with its analysis), the latest decision on
    its plan, whether it waits for an approval now and who may give it (``core.gate``'s
    words), and the commander who may approve it as a hotfix of the open incident."""

    deploy: Deploy
    approval: GivenApproval | None
    awaiting: bool
    approvers: str
    commander: str | None


def deploy_facts(
    engine: Engine, settings: Settings, deploy_id: int, *, now: datetime
) -> DeployFacts:
    """The deploy page's facts, read in one read-only transaction (UnknownDeploy if there
    is no such deploy). Writes nothing: a waiting deploy is judged on the snapshot the next
    decision would see (``read_snapshot``)."""
    with UnitOfWork(engine, read_only=True) as uow:
        row = DeployRepository(uow.session).get(deploy_id)
        deploy = Deploy.of(row)
        latest = ApprovalRepository(uow.session).latest(row.environment, approval_key(row))
        given = (
            GivenApproval(
                latest.approver,
                latest.decision,
                latest.reason,
                latest.at,
                latest.deploy_id,
                latest.as_commander_of,
            )
            if latest is not None
            else None
        )
        awaiting, who, commander = False, f"an approver other than {row.requester}", None
        if row.state in WAITING_STATES:
            snapshot = read_snapshot(uow, settings, row.environment, now=now)
            view = view_in(uow, snapshot, row)
            awaiting = needs_approval(snapshot, view) and not view.denied
            who = approvers(snapshot, view)
            if snapshot.incident is not None and is_hotfix(snapshot, view):
                commander = snapshot.incident.commander
        return DeployFacts(deploy, given, awaiting, who, commander)

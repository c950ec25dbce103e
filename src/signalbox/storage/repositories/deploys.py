"""Deploys and their approvals: load, store, and convert to the core's ``DeployView``."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Row, or_, select, update
from sqlalchemy.orm import Session, defer

from signalbox.core.errors import UnknownDeploy
from signalbox.core.queue import ACTIVE_STATES, WAITING_STATES
from signalbox.core.views import DeployState, DeployView, Principal
from signalbox.storage.tables import ApprovalRow, DeployRow, EnvironmentRow, HoldRow

__all__ = [
    "ApprovalRepository",
    "DeployRepository",
    "approval_key",
    "deploy_view",
]

_ACTIVE = sorted(ACTIVE_STATES)  # core.queue's states, in a stable order for the SQL
_WAITING = sorted(WAITING_STATES)
_FACTS = (
    DeployRow.id,
    DeployRow.environment,
    DeployRow.requester,
    DeployRow.requester_is_ci,
    DeployRow.branch,
    DeployRow.commit,
    DeployRow.state,
    DeployRow.priority,
    DeployRow.requested_at,
    DeployRow.plan_verdict,
    DeployRow.plan_digest,
    DeployRow.started_at,
    DeployRow.incident_id,
    DeployRow.wait_deadline,
)


def approval_key(row: DeployRow | Row[Any]) -> str:
    """What an approval of ``row`` is bound to: its plan's digest, or, for a deploy without
    a plan, that deploy alone (``deploy-ID``: a re-run needs a new approval)."""
    return row.plan_digest or f"deploy-{row.id}"


def deploy_view(row: DeployRow | Row[Any], *, approval: str | None = None) -> DeployView:
    """The core's view of ``row``; ``approval`` is the latest approval decision for its
    environment and plan digest (``"approve"``, ``"deny"`` or None)."""
    return DeployView(
        id=row.id,
        environment=row.environment,
        requester=Principal(name=row.requester, is_ci=row.requester_is_ci),
        branch=row.branch,
        commit=row.commit,
        state=DeployState(row.state),
        priority=row.priority,
        requested_at=row.requested_at,
        plan_verdict=row.plan_verdict,
        plan_digest=row.plan_digest,
        approved=approval == "approve",
        denied=approval == "deny",
        started_at=row.started_at,
        incident_id=row.incident_id,
    )


class DeployRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: DeployRow) -> DeployRow:
        self.session.add(row)
        self.session.flush()
        return row

    def get(self, deploy_id: int) -> DeployRow:
        row = self.session.get(DeployRow, deploy_id)
        if row is None:
            raise UnknownDeploy(
                f"There is no deploy {deploy_id}.",
                hint="List the deploys with `signalbox deploys`.",
                deploy_id=deploy_id,
            )
        return row

    def active(self, environment: str) -> list[DeployRow]:
        """Queued, awaiting approval and running deploys of ``environment``, oldest first."""
        query = (
            select(DeployRow)
            .where(DeployRow.environment == environment, DeployRow.state.in_(_ACTIVE))
            .order_by(DeployRow.id)
            .options(defer(DeployRow.analysis))  # large; loaded only when read
        )
        return list(self.session.scalars(query))

    def active_facts(self, environment: str) -> list[Row[Any]]:
        """What the gate reads of each active deploy of ``environment`` (``deploy_view``'s
        columns and ``wait_deadline``), oldest first, as plain rows: a queue of thousands
        is read without building an ORM object for each."""
        query = (
            select(*_FACTS)
            .where(DeployRow.environment == environment, DeployRow.state.in_(_ACTIVE))
            .order_by(DeployRow.id)
        )
        return list(self.session.execute(query))

    def may_have_ended(self, environment: str, *, now: datetime) -> list[DeployRow]:
        """The active deploys of ``environment`` that time may have ended: the running ones
        (their lease is checked against the hold by the caller) and the waiting ones whose
        ``wait_deadline`` passed. The few, not the whole queue."""
        query = (
            select(DeployRow)
            .where(
                DeployRow.environment == environment,
                (DeployRow.state == DeployState.RUNNING)
                | (DeployRow.state.in_(_WAITING) & (DeployRow.wait_deadline <= now)),
            )
            .order_by(DeployRow.id)
            .options(defer(DeployRow.analysis))
        )
        return list(self.session.scalars(query))

    def waiting_of_branch(self, environment: str, branch: str) -> list[DeployRow]:
        """The waiting deploys of ``branch`` in ``environment``, oldest first."""
        query = (
            select(DeployRow)
            .where(
                DeployRow.environment == environment,
                DeployRow.branch == branch,
                DeployRow.state.in_(_WAITING),
            )
            .order_by(DeployRow.id)
            .options(defer(DeployRow.analysis))
        )
        return list(self.session.scalars(query))

    def newest(
        self,
        *,
        environments: Collection[str] | None,
        limit: int,
        before_id: int | None = None,
        hotfix_for: int | None = None,
    ) -> list[DeployRow]:
        query = select(DeployRow).order_by(DeployRow.id.desc()).limit(limit)
        if hotfix_for is not None:
            query = query.where(DeployRow.incident_id == hotfix_for)
        if environments is not None:
            query = query.where(DeployRow.environment.in_(list(environments)))
        if before_id is not None:
            query = query.where(DeployRow.id < before_id)
        return list(self.session.scalars(query))

    def environments_with_stale_deploys(self, now: datetime) -> list[str]:
        """Configured environments with a running deploy whose hold is gone or lapsed, or a
        waiting deploy whose ``wait_deadline`` passed (one query). The deploys of an
        environment taken out of the configuration stay as they were: it cannot be locked."""
        live_hold = (
            select(HoldRow.id)
            .where(
                HoldRow.deploy_id == DeployRow.id,
                HoldRow.released_at.is_(None),
                HoldRow.until > now,
            )
            .exists()
        )
        running = (DeployRow.state == DeployState.RUNNING) & ~live_hold
        abandoned = DeployRow.state.in_(_WAITING) & (DeployRow.wait_deadline <= now)
        configured = select(EnvironmentRow.name).where(EnvironmentRow.configured)
        query = (
            select(DeployRow.environment)
            .where(or_(running, abandoned), DeployRow.environment.in_(configured))
            .distinct()
        )
        return sorted(self.session.scalars(query))

    def extend_waiting(self, ids: Collection[int], *, until: datetime) -> int:
        """Push the waiting lease of the given still-waiting deploys to ``until``."""
        if not ids:
            return 0
        statement = (
            update(DeployRow)
            .where(DeployRow.id.in_(list(ids)), DeployRow.state.in_(_WAITING))
            .values(wait_deadline=until)
        )
        return int(self.session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]


class ApprovalRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, row: ApprovalRow) -> ApprovalRow:
        self.session.add(row)
        self.session.flush()
        return row

    def latest(self, environment: str, plan_digest: str) -> ApprovalRow | None:
        """The latest decision on this plan (``approval_key``) for this environment."""
        query = (
            select(ApprovalRow)
            .where(ApprovalRow.environment == environment, ApprovalRow.plan_digest == plan_digest)
            .order_by(ApprovalRow.id.desc())
            .limit(1)
        )
        return self.session.scalars(query).first()

    def latest_by_digest(self, environment: str, digests: Collection[str]) -> dict[str, str]:
        """The latest decision ("approve"/"deny") per plan digest, in one query."""
        if not digests:
            return {}
        query = (
            select(ApprovalRow.plan_digest, ApprovalRow.decision)
            .where(
                ApprovalRow.environment == environment,
                ApprovalRow.plan_digest.in_(sorted(set(digests))),
            )
            .order_by(ApprovalRow.id)
        )
        return {digest: decision for digest, decision in self.session.execute(query)}

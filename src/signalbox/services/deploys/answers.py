"""What the server tells a gate (and a person) about one deploy: ``GateAnswer``, ``Deploy``.

``decision`` is ``go`` (run now: with the fencing token and the lease), ``wait`` (queued,
with the position), ``needs-approval`` (with how to approve), ``refused`` (with ``reason``:
held, reserved, frozen, superseded, blocked, denied, wait-expired, approval-expired,
cancelled) or ``finished`` (succeeded or failed). ``version`` is the environment's change
counter and ``recheck_at`` the next time-based change: the gate sends both back when it
long-polls. The wire format is in docs/gate.md ("Protocol"); the API's read models
(``api.models.deploys``) turn these values into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from signalbox.core.gate import NeedsApproval, Reason, Wait
from signalbox.core.queue import lapsed_message
from signalbox.core.views import DeployState, HoldView
from signalbox.settings import Settings
from signalbox.storage.repositories import hold_view
from signalbox.storage.tables import DeployRow
from signalbox.storage.uow import UnitOfWork

__all__ = [
    "Deploy",
    "GateAnswer",
    "deploy_link",
    "final_answer",
    "go_answer",
    "settled_answer",
    "waiting_answer",
]

_FINISHED = (DeployState.SUCCEEDED, DeployState.FAILED)


@dataclass(frozen=True, slots=True)
class Deploy:
    """One deploy as the API and `signalbox deploys` show it (never attribute values)."""

    id: int
    environment: str
    state: str
    requester: str
    requester_is_ci: bool
    actor: str
    branch: str
    commit: str
    run_url: str
    priority: int
    plan_verdict: str
    plan_digest: str | None
    requested_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    outcome: str | None
    exit_code: int | None
    duration_seconds: float | None
    refusal_reason: str | None
    refusal_message: str | None
    superseded_by: int | None
    analysis: dict[str, Any] | None = None
    hotfix_for: int | None = None
    """The incident this deploy is a hotfix of (priority 1: ahead of every queued deploy)."""

    @classmethod
    def of(cls, row: DeployRow, *, with_analysis: bool = True) -> Deploy:
        return cls(
            id=row.id,
            environment=row.environment,
            state=str(row.state),
            requester=row.requester,
            requester_is_ci=row.requester_is_ci,
            actor=row.actor,
            branch=row.branch,
            commit=row.commit,
            run_url=row.run_url,
            priority=row.priority,
            plan_verdict=row.plan_verdict,
            plan_digest=row.plan_digest,
            requested_at=row.requested_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            outcome=row.outcome,
            exit_code=row.exit_code,
            duration_seconds=row.duration_seconds,
            refusal_reason=row.refusal_reason,
            refusal_message=row.refusal_message,
            superseded_by=row.superseded_by,
            analysis=row.analysis if with_analysis else None,
            hotfix_for=row.incident_id,
        )


@dataclass(frozen=True, slots=True)
class GateAnswer:
    deploy: Deploy
    decision: str
    message: str
    version: int
    reason: str | None = None
    whom: str | None = None
    until: datetime | None = None
    position: int | None = None
    link: str = ""
    fencing_token: int | None = None
    lease_seconds: int | None = None
    lease_until: datetime | None = None
    recheck_at: datetime | None = None
    reasons: tuple[Reason, ...] = ()
    """A refusal's every reason (the primary ``reason`` first), each with its sentence and
    whom to ask; ``message`` holds every sentence. Read back from a finished deploy: the
    stored reason and message."""
    ahead: int | None = None
    """While waiting in the queue: the deploy directly ahead (or running), if one is known."""
    expected_wait_seconds: int | None = None
    """While waiting in the queue: about how long until it goes (the environment's expected
    deploy duration for each deploy ahead); None when it cannot be told."""
    wakes_waiters: bool = True
    """Whether the change this answer records may alter another waiting deploy's answer.
    False for a deploy requested at the tail of the queue that superseded nothing: the
    gates already waiting are not woken for it (not part of the wire format)."""


def deploy_link(settings: Settings, deploy_id: int) -> str:
    """The deploy's page (``/deploys/ID``: its plan's findings, and Approve and Deny for an
    approver): the link the gate prints, which a person opens in a browser."""
    return f"{settings.base_url}/deploys/{deploy_id}"


def _brief(row: DeployRow) -> Deploy:
    return Deploy.of(row, with_analysis=False)  # the request's answer carries the analysis


def final_answer(row: DeployRow, *, version: int) -> GateAnswer:
    """The answer for a finished deploy: ``finished``, or ``refused`` with its reason."""
    if row.state in _FINISHED:
        if row.outcome == "lease-lapsed":
            message = lapsed_message(row.id, row.environment)
        else:
            took = f" in {round(row.duration_seconds)}s" if row.duration_seconds is not None else ""
            message = (
                f"Deploy {row.id} to {row.environment} {row.outcome or row.state} (exit code "
                f"{row.exit_code}{took}); {row.environment} is released."
            )
        return GateAnswer(_brief(row), "finished", message, version)
    message = row.refusal_message or f"Deploy {row.id} is {row.state}."
    reason = row.refusal_reason or str(row.state)
    return GateAnswer(
        _brief(row), "refused", message, version, reason=reason, reasons=(Reason(reason, message),)
    )


def go_answer(row: DeployRow, hold: HoldView, *, settings: Settings, version: int) -> GateAnswer:
    """The answer for a running deploy that holds its environment with ``hold``."""
    assert hold.deploy_id == row.id, "go without the deploy hold"
    return GateAnswer(
        _brief(row),
        "go",
        f"Deploy {row.id} may go: {row.environment} is held for it (fencing token "
        f"{hold.fencing_token}) until it reports or its lease lapses.",
        version,
        link=deploy_link(settings, row.id),
        fencing_token=hold.fencing_token,
        lease_seconds=settings.deploy_lease_seconds,
        lease_until=hold.until,
    )


def waiting_answer(
    row: DeployRow,
    decision: Wait | NeedsApproval,
    *,
    settings: Settings,
    version: int,
    recheck: datetime | None,
) -> GateAnswer:
    """The answer for a deploy that waits in the queue or for an approval."""
    link = deploy_link(settings, row.id)
    if isinstance(decision, NeedsApproval):
        return GateAnswer(
            _brief(row), "needs-approval", decision.message, version, link=link, recheck_at=recheck
        )
    estimate = round(decision.estimate.total_seconds())
    return GateAnswer(
        _brief(row),
        "wait",
        decision.message,
        version,
        whom=decision.behind.requester.name if decision.behind is not None else None,
        position=decision.position,
        link=link,
        recheck_at=recheck,
        ahead=decision.behind.id if decision.behind is not None else None,
        expected_wait_seconds=estimate if estimate > 0 else None,
    )


def settled_answer(
    uow: UnitOfWork, settings: Settings, row: DeployRow, *, version: int
) -> GateAnswer:
    """The answer for a deploy that is running (with its hold, read here) or finished:
    asking again is harmless."""
    if row.state != DeployState.RUNNING:
        return final_answer(row, version=version)
    current = uow.holds.current(row.environment)
    assert current is not None, "a running deploy without its hold"
    return go_answer(row, hold_view(current), settings=settings, version=version)

"""What the server tells a gate (and a person) about one deploy: ``GateAnswer``, ``DeployRead``.

``decision`` is ``go`` (run now: with the fencing token and the lease), ``wait`` (queued,
with the position), ``needs-approval`` (with how to approve), ``refused`` (with ``reason``:
held, reserved, frozen, superseded, blocked, denied, wait-expired, approval-expired,
cancelled) or ``finished`` (succeeded or failed). ``version`` is the environment's change
counter and ``recheck_at`` the next time-based change: the gate sends both back when it
long-polls. The wire format is in docs/gate.md ("Protocol").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from signalbox.core.gate import GateDecision, Go, NeedsApproval, Refused, Wait
from signalbox.core.views import DeployState
from signalbox.services.deploy_events import environment_version
from signalbox.settings import Settings
from signalbox.storage.tables import DeployRow
from signalbox.storage.uow import UnitOfWork

__all__ = [
    "DeployRead",
    "GateAnswer",
    "answer_for_row",
    "deploy_link",
    "final_answer",
    "settled_answer",
]

_FINISHED = (DeployState.SUCCEEDED, DeployState.FAILED)


@dataclass(frozen=True, slots=True)
class DeployRead:
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

    @classmethod
    def of(cls, row: DeployRow, *, with_analysis: bool = True) -> DeployRead:
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
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("requested_at", "started_at", "finished_at"):
            value = data[key]
            data[key] = value.isoformat() if value is not None else None
        return data


@dataclass(frozen=True, slots=True)
class GateAnswer:
    deploy: DeployRead
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

    def to_json(self) -> dict[str, Any]:
        return {
            "deploy": self.deploy.to_json(),
            "decision": self.decision,
            "message": self.message,
            "version": self.version,
            "reason": self.reason,
            "whom": self.whom,
            "until": _iso(self.until),
            "position": self.position,
            "link": self.link,
            "fencing_token": self.fencing_token,
            "lease_seconds": self.lease_seconds,
            "lease_until": _iso(self.lease_until),
            "recheck_at": _iso(self.recheck_at),
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def deploy_link(settings: Settings, deploy_id: int) -> str:
    return f"{settings.base_url}/api/deploys/{deploy_id}"


def final_answer(row: DeployRow, *, version: int) -> GateAnswer:
    """The answer for a finished deploy: ``finished``, or ``refused`` with its reason."""
    deploy = DeployRead.of(row, with_analysis=False)  # the request's answer carries it
    if row.state in _FINISHED:
        took = f" in {round(row.duration_seconds)}s" if row.duration_seconds is not None else ""
        outcome = row.outcome or str(row.state)
        message = (
            f"Deploy {row.id} to {row.environment} {outcome} (exit code {row.exit_code}"
            f"{took}); {row.environment} is released."
        )
        if row.outcome == "lease-lapsed":
            message = (
                f"Deploy {row.id} lost its lease on {row.environment} before it reported; "
                "it is recorded as failed."
            )
        return GateAnswer(deploy, "finished", message, version)
    return GateAnswer(
        deploy,
        "refused",
        row.refusal_message or f"Deploy {row.id} is {row.state}.",
        version,
        reason=row.refusal_reason or str(row.state),
    )


def answer_for_row(
    uow: UnitOfWork,
    row: DeployRow,
    decision: GateDecision,
    *,
    settings: Settings,
    version: int,
    recheck: datetime | None,
) -> GateAnswer:
    """The answer for a deploy that goes or waits (``Refused`` is stored, see final_answer)."""
    deploy = DeployRead.of(row, with_analysis=False)  # the request's answer carries it
    link = deploy_link(settings, row.id)
    if isinstance(decision, Go):
        hold = uow.holds.current(row.environment)
        assert hold is not None and hold.deploy_id == row.id, "go without the deploy hold"
        return GateAnswer(
            deploy,
            "go",
            f"Deploy {row.id} may go: {row.environment} is held for it (fencing token "
            f"{hold.fencing_token}) until it reports or its lease lapses.",
            version,
            link=link,
            fencing_token=hold.fencing_token,
            lease_seconds=settings.deploy_lease_seconds,
            lease_until=hold.until,
        )
    if isinstance(decision, NeedsApproval):
        return GateAnswer(
            deploy, "needs-approval", decision.message, version, link=link, recheck_at=recheck
        )
    if isinstance(decision, Wait):
        whom = decision.behind.requester.name if decision.behind is not None else None
        return GateAnswer(
            deploy,
            "wait",
            decision.message,
            version,
            whom=whom,
            position=decision.position,
            link=link,
            recheck_at=recheck,
        )
    assert not isinstance(decision, Refused), "refusals are stored and answered by final_answer"
    raise AssertionError(f"unknown decision {decision!r}")


def settled_answer(uow: UnitOfWork, settings: Settings, row: DeployRow) -> GateAnswer:
    """The answer for a deploy that is running or finished (asking again is harmless)."""
    if row.state == DeployState.RUNNING:
        return answer_for_row(
            uow,
            row,
            Go(row.id),
            settings=settings,
            version=environment_version(uow, row),
            recheck=None,
        )
    return final_answer(row, version=environment_version(uow, row))

"""A running deploy's lease: ``heartbeat_deploy`` renews it, ``finish_deploy`` reports the
outcome and releases the environment.

Both check that the deploy still holds its environment with the fencing token it was given
(``NotHolder`` / ``StaleFencingToken`` otherwise: the gate then warns that the lease is
lost). Heartbeats are not events (they change nothing but the lease's end); finishing is
(``deploy.finished``). A deploy whose lease had already lapsed keeps its failed state but
gets its exit code and duration recorded.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from signalbox.core.errors import InvalidInput, NotHolder
from signalbox.core.events import DeployFinished, DeployReportedLate
from signalbox.core.holds import decide_renew
from signalbox.core.views import DeployState, Principal
from signalbox.services.deploys.answers import GateAnswer, final_answer, go_answer
from signalbox.services.deploys.events import deploy_fields
from signalbox.services.events import emit
from signalbox.settings import Settings
from signalbox.storage.repositories import hold_view
from signalbox.storage.tables import DeployRow, HoldRow
from signalbox.storage.uow import UnitOfWork

__all__ = ["finish_deploy", "heartbeat_deploy"]


def _check_requester(row: DeployRow, principal: Principal) -> None:
    if principal.name != row.requester:
        raise NotHolder(
            f"Deploy {row.id} was requested by {row.requester}, not by you ({principal.name}).",
            hint="Only the gate that requested a deploy renews and reports it.",
            deploy_id=row.id,
        )


def _running_hold(uow: UnitOfWork, row: DeployRow, principal: Principal) -> HoldRow:
    _check_requester(row, principal)
    if row.state != DeployState.RUNNING:
        raise NotHolder(
            f"Deploy {row.id} is {row.state}, not running: it holds no lease on {row.environment}.",
            hint="The lease lapsed or the deploy finished; do not keep changing the environment.",
            deploy_id=row.id,
        )
    hold_row = uow.holds.current(row.environment)
    if hold_row is None or hold_row.deploy_id != row.id:
        raise NotHolder(
            f"Deploy {row.id} no longer holds {row.environment}.",
            hint="Stop changing the environment; run the pipeline again.",
            deploy_id=row.id,
        )
    return hold_row


def heartbeat_deploy(
    engine: Engine,
    settings: Settings,
    *,
    deploy_id: int,
    principal: Principal,
    fencing_token: int,
    now: datetime,
) -> GateAnswer:
    """Renew a running deploy's lease; NotHolder/StaleFencingToken when it is lost."""
    lease = timedelta(seconds=settings.deploy_lease_seconds)
    with UnitOfWork(engine) as uow:
        row, env = uow.lock_deploy(deploy_id)
        now = uow.now(now)
        hold_row = _running_hold(uow, row, principal)
        renewed = decide_renew(
            hold_view(hold_row),
            owner=Principal(row.requester, row.requester_is_ci),
            environment=row.environment,
            duration=lease,
            now=now,
            fencing_token=fencing_token,
            timezone=env.timezone,
        )
        hold_row.until = renewed.until
        return go_answer(row, renewed, settings=settings, version=env.version)


def finish_deploy(
    engine: Engine,
    settings: Settings,
    *,
    deploy_id: int,
    principal: Principal,
    fencing_token: int,
    exit_code: int,
    duration_seconds: float,
    now: datetime,
) -> GateAnswer:
    """Record the outcome and release the environment. A deploy whose lease had already
    lapsed keeps its failed state but gets the exit code and duration."""
    if duration_seconds < 0 or not -1 <= exit_code <= 255:
        raise InvalidInput(
            "exit_code must be 0-255 and duration_seconds at least 0.",
            hint="Report the command's own exit code and its duration.",
        )
    with UnitOfWork(engine) as uow:
        row, env = uow.lock_deploy(deploy_id)
        now = uow.now(now)
        _check_requester(row, principal)
        if row.state == DeployState.FAILED and row.outcome == "lease-lapsed":
            row.exit_code, row.duration_seconds = exit_code, duration_seconds
            late = DeployReportedLate(
                **deploy_fields(row), exit_code=exit_code, duration_seconds=duration_seconds
            )
            emit(uow, late, environment=row.environment, actor=principal.name, now=now)
            return final_answer(row, version=env.version)
        hold_row = _running_hold(uow, row, principal)
        decide_renew(  # the same checks as a release: owner, live, current fencing token
            hold_view(hold_row),
            owner=Principal(row.requester, row.requester_is_ci),
            environment=row.environment,
            duration=timedelta(seconds=1),
            now=now,
            fencing_token=fencing_token,
            timezone=env.timezone,
        )
        succeeded = exit_code == 0
        row.state = DeployState.SUCCEEDED if succeeded else DeployState.FAILED
        row.outcome = "succeeded" if succeeded else "failed"
        row.exit_code, row.duration_seconds, row.finished_at = exit_code, duration_seconds, now
        uow.holds.close(hold_row, at=now, by=row.requester, reason=f"deploy {row.id} finished")
        uow.environments.keep_deploy_figures(env, row)
        event = DeployFinished(
            **deploy_fields(row), exit_code=exit_code, duration_seconds=duration_seconds
        )
        emit(uow, event, environment=row.environment, actor=principal.name, now=now)
        return final_answer(row, version=env.version)

"""Shared helpers for the deploy, approval and reservation service tests."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from signalbox.core.views import Principal
from signalbox.services.deploys import (
    DeployRequest,
    decide_deploy,
    finish_deploy,
    heartbeat_deploy,
    request_deploy,
)
from signalbox.services.holds import acquire_hold
from signalbox.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ROUTINE_PLAN = (ROOT / "examples/plans/routine-frontend-change.json").read_bytes()
COGNITO_PLAN = (ROOT / "examples/plans/cognito-renamed-without-moved.json").read_bytes()
SECRET_IN_PLANS = "hunter2-do-not-print"

ENGINEER = Principal("platform-eng", is_ci=False)
CI = Principal("ci-dev", is_ci=True)
APPROVER = Principal("lead", is_ci=False)
COO = Principal("coo", is_ci=False)


def deploy(
    engine,
    settings: Settings,
    clock,
    *,
    plan: bytes | None = ROUTINE_PLAN,
    branch="main",
    commit="c0ffee1",
    who=CI,
    env="dev",
):
    request = DeployRequest(
        environment=env,
        branch=branch,
        commit=commit,
        actor="frontend-dev",
        run_url="https://ci/run/1",
        plan=plan,
        plan_source="plan.json",
    )
    return request_deploy(engine, settings, request=request, requester=who, now=clock.now())


def decide(engine, settings: Settings, clock, deploy_id: int):
    """Ask again for deploy ``deploy_id``, as its waiting gate does."""
    return decide_deploy(engine, settings, deploy_id=deploy_id, now=clock.now())


def finish(engine, settings: Settings, clock, started, *, seconds=60.0, exit_code=0, who=CI):
    """Report the deploy that ``started`` (a go answer) finished, with its fencing token."""
    return finish_deploy(
        engine,
        settings,
        deploy_id=started.deploy.id,
        principal=who,
        fencing_token=started.fencing_token,
        exit_code=exit_code,
        duration_seconds=seconds,
        now=clock.now(),
    )


def heartbeat(engine, settings: Settings, clock, started, *, who=CI, token_offset=0):
    """Renew the lease of the deploy that ``started``, with its fencing token (plus
    ``token_offset``, to send a stale or wrong one)."""
    return heartbeat_deploy(
        engine,
        settings,
        deploy_id=started.deploy.id,
        principal=who,
        fencing_token=started.fencing_token + token_offset,
        now=clock.now(),
    )


def engineer_holds_dev(engine, clock, reason="renaming cognito pool"):
    return acquire_hold(
        engine,
        environment="dev",
        principal=ENGINEER,
        reason=reason,
        duration=timedelta(hours=4),
        now=clock.now(),
    )

"""Preflight: would a gate started now go, wait, or be refused? Nothing is stored.

    POST /api/preflight    the same body as POST /api/deploys (plan base64), answered with
                           the verdict, the place and expected wait, and every reason

A pipeline's first step asks it, so that a job bound for a frozen, held or reserved
environment ends before it builds anything. It needs the developer's ``deploy`` right on the
environment, as the gate does; a ``hotfix`` by someone outside the incident's team is 403.
"""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from signalbox.api.auth import current_caller
from signalbox.api.context import Server, server
from signalbox.api.models.preflight import PreflightCreate, PreflightRead
from signalbox.core.errors import InvalidInput
from signalbox.core.roles import Action
from signalbox.services.deploys.preflight import PreflightRequest, preflight_deploy
from signalbox.services.tokens import Caller

router = APIRouter(prefix="/api/preflight", tags=["deploys"])


def _plan_bytes(plan: str | None) -> bytes | None:
    if plan is None:
        return None
    try:
        return base64.b64decode(plan, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(
            "The plan is not valid base64.",
            hint="Send the plan JSON bytes base64-encoded in the plan field.",
            field="plan",
        ) from None


@router.post("", response_model=PreflightRead)
async def preflight(
    body: PreflightCreate,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> PreflightRead:
    """Judge a deploy requested now as the gate would, without storing it: go, wait (with
    the position and expected wait), needs-approval or refused, with every reason."""
    caller.require(Action.DEPLOY, context.configured(body.environment))
    wanted = PreflightRequest(
        environment=body.environment,
        branch=body.branch,
        commit=body.commit,
        actor=body.actor,
        plan=_plan_bytes(body.plan),
        plan_source=body.plan_source or "plan.json",
        hotfix=body.hotfix,
    )
    answer = await run_in_threadpool(
        preflight_deploy,
        context.engine,
        context.settings,
        request=wanted,
        requester=caller.principal,
        now=context.now(),
    )
    return PreflightRead.of(answer)

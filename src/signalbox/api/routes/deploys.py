"""Deploys (what `signalbox gate` talks to) and their approvals.

    POST /api/deploys                         request a deploy (plan base64 in the body)
    GET  /api/deploys/{id}/decision           long-poll: answer at once on a change
    POST /api/deploys/{id}/heartbeat          renew the running deploy's lease
    POST /api/deploys/{id}/finish             report exit code and duration; release
    POST /api/deploys/{id}/cancel             the gate stops waiting
    POST /api/deploys/{id}/approve | deny     an approver decides on the plan (or, for a
                                              hotfix, the commander of its incident)
    GET  /api/deploys, GET /api/deploys/{id}  read

A refusal is a normal answer (200, ``decision: refused``): the request was understood and
judged. Errors (unknown environment, unreadable plan, stale fencing token) are problem+json.
The long-poll costs one parked coroutine per waiting gate (see api/change_feed.py).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from signalbox.api.auth import current_caller
from signalbox.api.context import Server, server
from signalbox.api.longpoll import (
    environment_cache,
    feed_of,
    hold_seconds,
    seconds_until,
    unchanged_answer,
    wake,
    woken_answer,
)
from signalbox.api.models import json_response
from signalbox.api.models.bounds import Counter, Instant, RowId
from signalbox.api.models.deploys import (
    ApprovalCreate,
    ApprovalRead,
    DeployCancel,
    DeployCreate,
    DeployFinish,
    DeployHeartbeat,
    DeployListRead,
    DeployRead,
    GateAnswerRead,
    ListedDeployRead,
    UnchangedRead,
)
from signalbox.core.errors import InvalidInput
from signalbox.core.roles import Action
from signalbox.services import deploys
from signalbox.services.tokens import Caller

T = TypeVar("T")

router = APIRouter(prefix="/api/deploys", tags=["deploys"])


def _plan_bytes(body: DeployCreate) -> bytes | None:
    if body.plan is None:
        return None
    try:
        return base64.b64decode(body.plan, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(
            "The plan is not valid base64.",
            hint="Send the plan JSON bytes base64-encoded in the plan field.",
            field="plan",
        ) from None


async def _call_service(context: Server, function: Callable[..., T], **kw: Any) -> T:
    """``function(engine, settings, now=now, **kw)`` in a worker thread: the shape of every
    deploy use case that changes something."""
    return await run_in_threadpool(
        function, context.engine, context.settings, now=context.now(), **kw
    )


def _published(request: Request, answer: deploys.GateAnswer) -> GateAnswerRead:
    """Wake this process's waiters of the environment at once (unless the answer says no
    waiting gate's answer changed), and answer."""
    feed = feed_of(request)
    feed.notify(answer.deploy.environment, answer.version, wakes_waiters=answer.wakes_waiters)
    return GateAnswerRead.of(answer)


@router.post("", response_model=GateAnswerRead)
async def request_deploy(
    body: DeployCreate,
    request: Request,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> GateAnswerRead:
    """Ask for a deploy slot; the answer is go, wait, needs-approval or refused."""
    caller.require(Action.DEPLOY, context.configured(body.environment))
    wanted = deploys.DeployRequest(
        environment=body.environment,
        branch=body.branch,
        commit=body.commit,
        actor=body.actor,
        run_url=body.run_url,
        plan=_plan_bytes(body),
        plan_source=body.plan_source or "plan.json",
        hotfix=body.hotfix,
    )
    answer = await _call_service(
        context, deploys.request_deploy, request=wanted, requester=caller.principal
    )
    return _published(request, answer)


async def _deploy_caller_may(
    action: Action, caller: Caller, context: Server, deploy_id: int
) -> deploys.Deploy:
    """The deploy, once ``caller`` is known to be allowed ``action`` on its environment."""
    deploy = await run_in_threadpool(deploys.get_deploy, context.engine, deploy_id=deploy_id)
    caller.require(action, deploy.environment)
    return deploy


_ENVIRONMENT_CACHE_SIZE = 100_000


async def _environment_of(request: Request, caller: Caller, context: Server, deploy_id: int) -> str:
    known = environment_cache(request)
    environment = known.get(deploy_id)
    if environment is None:
        deploy = await run_in_threadpool(deploys.get_deploy, context.engine, deploy_id=deploy_id)
        environment = deploy.environment
        if len(known) >= _ENVIRONMENT_CACHE_SIZE:
            known.clear()
        known[deploy_id] = environment
    caller.require(Action.READ, environment)
    return environment


@router.get("/{deploy_id}/decision", response_model=GateAnswerRead | UnchangedRead)
async def decision(
    deploy_id: RowId,
    request: Request,
    since: Counter | None = Query(None, description="The version of the last answer."),
    wait: int = Query(25, ge=0, description="Longest time to hold the request, in seconds."),
    recheck_at: Instant | None = Query(None, description="recheck_at of the last answer."),
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> Response:
    """Decide again. With ``since`` (the ``version`` of the last answer), first wait up to
    ``wait`` seconds for the environment to change after that version, or for
    ``recheck_at`` to come; if neither happened, answer ``{"unchanged": true}`` (the last
    answer still holds) without touching the database."""
    environment = await _environment_of(request, caller, context, deploy_id)
    if since is not None:
        feed = feed_of(request)
        timeout = hold_seconds(wait, context.settings.longpoll_seconds)
        until_recheck = seconds_until(recheck_at, context.now())
        if until_recheck is not None:
            timeout = max(0.0, min(timeout, until_recheck))
        with feed.asking(deploy_id):  # until answered: a decision may start it
            changed = await feed.wait(environment, since=since, timeout=timeout)
            recheck_due = recheck_at is not None and context.now() >= recheck_at
            if not changed and not recheck_due:
                return Response(unchanged_answer(deploy_id, since), media_type="application/json")
            # a recheck_at that came is a change of time: not a decision made before it
            body = await woken_answer(context, environment, deploy_id, cached=not recheck_due)
        if body is not None:
            return Response(body, media_type="application/json")
    answer = await _call_service(context, deploys.decide_deploy, deploy_id=deploy_id)
    return json_response(_published(request, answer))


@router.post("/{deploy_id}/heartbeat", response_model=GateAnswerRead)
async def heartbeat(
    deploy_id: RowId,
    body: DeployHeartbeat,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> GateAnswerRead:
    """Renew the running deploy's lease (409 when it was lost: stop changing things)."""
    answer = await _call_service(
        context,
        deploys.heartbeat_deploy,
        deploy_id=deploy_id,
        principal=caller.principal,
        fencing_token=body.fencing_token,
    )
    return GateAnswerRead.of(answer)


@router.post("/{deploy_id}/finish", response_model=GateAnswerRead)
async def finish(
    deploy_id: RowId,
    body: DeployFinish,
    request: Request,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> GateAnswerRead:
    """Report the command's exit code and duration; releases the environment."""
    answer = await _call_service(
        context,
        deploys.finish_deploy,
        deploy_id=deploy_id,
        principal=caller.principal,
        fencing_token=body.fencing_token,
        exit_code=body.exit_code,
        duration_seconds=body.duration_seconds,
    )
    return _published(request, answer)


@router.post("/{deploy_id}/cancel", response_model=GateAnswerRead)
async def cancel(
    deploy_id: RowId,
    body: DeployCancel,
    request: Request,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> GateAnswerRead:
    """The gate stops waiting: wait-expired, approval-expired or interrupted."""
    answer = await _call_service(
        context,
        deploys.cancel_deploy,
        deploy_id=deploy_id,
        principal=caller.principal,
        reason=body.reason,
    )
    return _published(request, answer)


async def _decide_approval(
    request: Request,
    deploy_id: int,
    reason: str,
    caller: Caller,
    context: Server,
    *,
    approve: bool,
) -> ApprovalRead:
    deploy = await run_in_threadpool(deploys.get_deploy, context.engine, deploy_id=deploy_id)
    approver_role = deploys.decides_as_approver(caller, deploy)  # 403 unless one may decide
    approval = await _call_service(
        context,
        deploys.approve_deploy if approve else deploys.deny_deploy,
        deploy_id=deploy_id,
        approver=caller.principal,
        reason=reason,
        approver_role=approver_role,
    )
    wake(request, deploy.environment)
    return ApprovalRead.of(approval)


@router.post("/{deploy_id}/approve", response_model=ApprovalRead)
async def approve(
    deploy_id: RowId,
    request: Request,
    body: ApprovalCreate | None = None,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> ApprovalRead:
    """Approve the deploy's plan (bound to the environment and the plan's digest)."""
    reason = body.reason if body is not None else ""
    return await _decide_approval(request, deploy_id, reason, caller, context, approve=True)


@router.post("/{deploy_id}/deny", response_model=ApprovalRead)
async def deny(
    deploy_id: RowId,
    body: ApprovalCreate,
    request: Request,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> ApprovalRead:
    """Deny the deploy's plan (a reason is required); its gate exits 77."""
    return await _decide_approval(request, deploy_id, body.reason, caller, context, approve=False)


@router.get("", response_model=DeployListRead)
def deploys_list(
    environment: str | None = Query(None),
    limit: int = Query(50, ge=1, le=500),
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> DeployListRead:
    """Newest first: id, state, who, commit, plan verdict (without the analysis)."""
    names = context.readable(caller, environment)
    found = deploys.list_deploys(context.engine, environments=names, limit=limit)
    return DeployListRead(
        deploys=[
            ListedDeployRead.listed(deploy, context.timezone(deploy.environment))
            for deploy in found
        ]
    )


@router.get("/{deploy_id}", response_model=DeployRead)
async def deploy_detail(
    deploy_id: RowId, caller: Caller = Depends(current_caller), context: Server = Depends(server)
) -> DeployRead:
    """One deploy, with its plan analysis (never attribute values)."""
    return DeployRead.of(await _deploy_caller_may(Action.READ, caller, context, deploy_id))

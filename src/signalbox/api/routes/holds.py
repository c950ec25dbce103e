"""Environments and their holds.

A refused hold is answered ``409 Conflict`` with a problem+json body whose ``code`` is
``held`` and which carries the holder's fields (holder, reason, since, until, timezone):
the request asked for exclusive use and did not get it, so an HTTP client that looks only at
the status must not mistake it for success (as ``200 {"granted": false}`` would let it).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from signalbox.api.auth import current_caller
from signalbox.api.context import Server, server
from signalbox.api.schemas import (
    ForceReleaseCreate,
    HoldCreate,
    HoldRenew,
    environment_read,
    hold_read,
)
from signalbox.core.durations import parse_duration
from signalbox.core.holds import Denied
from signalbox.core.roles import Action
from signalbox.services import holds
from signalbox.services.environments import list_environments
from signalbox.services.tokens import Caller

router = APIRouter(prefix="/api/environments", tags=["environments"])


@router.get("")
def environments(
    caller: Caller = Depends(current_caller), context: Server = Depends(server)
) -> dict[str, Any]:
    """Every environment the caller may read, with its state and holder."""
    statuses = list_environments(context.engine, now=context.now())
    readable = [s for s in statuses if caller.may(Action.READ, s.name)]
    return {"environments": [environment_read(status) for status in readable]}


@router.get("/{environment}")
def environment(
    environment: str, caller: Caller = Depends(current_caller), context: Server = Depends(server)
) -> dict[str, Any]:
    [status] = list_environments(context.engine, now=context.now(), names=[environment])
    caller.require(Action.READ, environment)
    return environment_read(status)


@router.post("/{environment}/hold")
def acquire(
    environment: str,
    body: HoldCreate,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> dict[str, Any]:
    """Hold the environment, or renew your own hold; 409 ``held`` if someone else holds it."""
    caller.require(Action.HOLD, context.configured(environment))
    duration = parse_duration(body.duration)
    now = context.now()
    decision = holds.acquire_hold(
        context.engine,
        environment=environment,
        principal=caller.principal,
        reason=body.reason,
        duration=duration,
        now=now,
    )
    timezone = context.timezone(environment)
    if isinstance(decision, Denied):
        raise holds.denial_error(decision, timezone, now=now)
    return {
        "granted": True,
        "renewed": decision.renewed,
        "hold": hold_read(decision.hold, timezone),
    }


@router.post("/{environment}/hold/renew")
def renew(
    environment: str,
    body: HoldRenew,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> dict[str, Any]:
    caller.require(Action.HOLD, context.configured(environment))
    duration = parse_duration(body.duration) if body.duration else None
    hold = holds.renew_hold(
        context.engine,
        environment=environment,
        principal=caller.principal,
        now=context.now(),
        duration=duration,
        fencing_token=body.fencing_token,
    )
    return {"hold": hold_read(hold, context.timezone(environment))}


@router.delete("/{environment}/hold")
def release(
    environment: str,
    fencing_token: int | None = Query(None),
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> dict[str, Any]:
    caller.require(Action.HOLD, context.configured(environment))
    hold = holds.release_hold(
        context.engine,
        environment=environment,
        principal=caller.principal,
        now=context.now(),
        fencing_token=fencing_token,
    )
    return {"released": hold_read(hold, context.timezone(environment))}


@router.post("/{environment}/hold/force-release")
def force_release(
    environment: str,
    body: ForceReleaseCreate,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> dict[str, Any]:
    caller.require(Action.FORCE_RELEASE, context.configured(environment))
    hold = holds.force_release(
        context.engine,
        environment=environment,
        admin=caller.principal,
        reason=body.reason,
        now=context.now(),
    )
    return {"released": hold_read(hold, context.timezone(environment))}

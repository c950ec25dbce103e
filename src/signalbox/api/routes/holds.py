"""Holds on an environment: take, renew, release, force-release.

A refused hold is answered ``409 Conflict`` with a problem+json body whose ``code`` is
``held`` and which carries the holder's fields (holder, reason, since, until, timezone):
the request asked for exclusive use and did not get it, so an HTTP client that looks only at
the status must not mistake it for success (as ``200 {"granted": false}`` would let it).

The routes are async and await their service's work (``holds.run_hold_work``; the caller
comes from ``current_caller``, on the event loop for a recently checked token): on SQLite the
work is queued for the database's writer thread, which commits the works waiting in one
group and answers the group with one wake-up of the event loop (no worker thread per
request); on PostgreSQL it runs in a worker thread. Their answers are the declared models
(``response_model``, in the OpenAPI document), serialised once (``api.models.json_response``)
rather than checked again by FastAPI.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from signalbox.api.auth import current_caller
from signalbox.api.context import Server, server
from signalbox.api.models import json_response
from signalbox.api.models.bounds import Counter, read_duration
from signalbox.api.models.holds import (
    ForceReleaseCreate,
    HoldCreate,
    HoldGrantRead,
    HoldRead,
    HoldReleaseRead,
    HoldRenew,
    HoldRenewRead,
)
from signalbox.core.holds import Denied
from signalbox.core.roles import Action
from signalbox.services import holds
from signalbox.services.tokens import Caller

router = APIRouter(prefix="/api/environments", tags=["holds"])


@router.post("/{environment}/hold", response_model=HoldGrantRead)
async def acquire(
    environment: str,
    body: HoldCreate,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> Response:
    """Hold the environment, or renew your own hold; 409 ``held`` if someone else holds it."""
    caller.require(Action.HOLD, context.configured(environment))
    duration = read_duration(body.duration, field="duration")
    now = context.now()
    work = holds.acquiring(
        environment=environment,
        principal=caller.principal,
        reason=body.reason,
        duration=duration,
        now=now,
    )
    decision = await holds.run_hold_work(context.engine, work)
    timezone = context.timezone(environment)
    if isinstance(decision, Denied):
        raise holds.denial_error(decision, timezone, now=now)
    hold = HoldRead.of(decision.hold, timezone)
    return json_response(HoldGrantRead(granted=True, renewed=decision.renewed, hold=hold))


@router.post("/{environment}/hold/renew", response_model=HoldRenewRead)
async def renew(
    environment: str,
    body: HoldRenew,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> Response:
    caller.require(Action.HOLD, context.configured(environment))
    duration = read_duration(body.duration, field="duration") if body.duration else None
    work = holds.renewing(
        environment=environment,
        principal=caller.principal,
        now=context.now(),
        duration=duration,
        fencing_token=body.fencing_token,
    )
    hold = await holds.run_hold_work(context.engine, work)
    return json_response(HoldRenewRead(hold=HoldRead.of(hold, context.timezone(environment))))


@router.delete("/{environment}/hold", response_model=HoldReleaseRead)
async def release(
    environment: str,
    fencing_token: Counter | None = Query(None),
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> Response:
    caller.require(Action.HOLD, context.configured(environment))
    work = holds.releasing(
        environment=environment,
        principal=caller.principal,
        now=context.now(),
        fencing_token=fencing_token,
    )
    hold = await holds.run_hold_work(context.engine, work)
    return json_response(HoldReleaseRead(released=HoldRead.of(hold, context.timezone(environment))))


@router.post("/{environment}/hold/force-release", response_model=HoldReleaseRead)
def force_release(
    environment: str,
    body: ForceReleaseCreate,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> HoldReleaseRead:
    caller.require(Action.FORCE_RELEASE, context.configured(environment))
    hold = holds.force_release(
        context.engine,
        environment=environment,
        admin=caller.principal,
        reason=body.reason,
        now=context.now(),
    )
    return HoldReleaseRead(released=HoldRead.of(hold, context.timezone(environment)))

"""Environments: the picture of each one the caller may read (``core.status``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from signalbox.api.auth import current_caller
from signalbox.api.context import Server, server
from signalbox.api.models.environments import EnvironmentListRead, EnvironmentRead
from signalbox.core.roles import Action
from signalbox.services.status import environment_picture, environment_pictures
from signalbox.services.tokens import Caller

router = APIRouter(prefix="/api/environments", tags=["environments"])


@router.get("", response_model=EnvironmentListRead)
async def environments(
    caller: Caller = Depends(current_caller), context: Server = Depends(server)
) -> EnvironmentListRead:
    """Every environment the caller may read: its state, holder, queue, reservations, the
    running and last deploy, Terraform locks, and every reason a deploy would not go now."""
    names = context.readable(caller)
    pictures = await run_in_threadpool(
        lambda: environment_pictures(
            context.engine, context.settings, names=names, now=context.now()
        )
    )
    return EnvironmentListRead(environments=[EnvironmentRead.of(p) for p in pictures])


@router.get("/{environment}", response_model=EnvironmentRead)
async def environment(
    environment: str, caller: Caller = Depends(current_caller), context: Server = Depends(server)
) -> EnvironmentRead:
    """One environment's picture (the same as in the list)."""
    caller.require(Action.READ, context.configured(environment))
    found = await run_in_threadpool(
        lambda: environment_picture(
            context.engine, context.settings, environment, now=context.now()
        )
    )
    return EnvironmentRead.of(found)

"""Environments: the picture of each one the caller may read (``core.status``).

Pictures are kept while nothing changes (``services.status.PictureCache``) and so is their
JSON (``PictureJson``): the answer is sent as made, and ``response_model`` documents it."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from starlette.concurrency import run_in_threadpool

from signalbox.api.auth import current_caller
from signalbox.api.context import Server, server
from signalbox.api.models.environments import EnvironmentListRead, EnvironmentRead
from signalbox.core.roles import Action
from signalbox.services.notify.worker import FailingTarget
from signalbox.services.status import environment_picture, environment_pictures
from signalbox.services.tokens import Caller

router = APIRouter(prefix="/api/environments", tags=["environments"])


def _failing(context: Server, environment: str) -> tuple[FailingTarget, ...]:
    """The notification targets of ``environment`` whose queue is failing, as the notifier
    last read them (none on a server without one)."""
    notifier = context.notifier
    return () if notifier is None else notifier.failing_for(environment)


@router.get("", response_model=EnvironmentListRead)
async def environments(
    caller: Caller = Depends(current_caller), context: Server = Depends(server)
) -> Response:
    """Every environment the caller may read: its state, holder, queue, reservations, the
    running and last deploy, Terraform locks, every reason a deploy would not go now, and
    the notification targets whose messages about it are failing."""
    names = context.readable(caller)

    def listing() -> bytes:
        pictures = environment_pictures(
            context.engine, context.settings, names=names, now=context.now(), cache=context.pictures
        )
        return context.picture_json.listing(pictures, lambda name: _failing(context, name))

    return Response(await run_in_threadpool(listing), media_type="application/json")


@router.get("/{environment}", response_model=EnvironmentRead)
async def environment(
    environment: str, caller: Caller = Depends(current_caller), context: Server = Depends(server)
) -> Response:
    """One environment's picture (the same as in the list)."""
    caller.require(Action.READ, context.configured(environment))

    def one() -> bytes:
        found = environment_picture(
            context.engine, context.settings, environment, now=context.now(), cache=context.pictures
        )
        return context.picture_json.of(found, _failing(context, environment))

    return Response(await run_in_threadpool(one), media_type="application/json")

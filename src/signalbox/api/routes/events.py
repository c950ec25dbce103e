"""The event log, newest first: ``GET /api/events?env=dev&limit=50&before=ID``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from signalbox.api.auth import current_caller
from signalbox.api.context import Server, server
from signalbox.api.schemas import event_read
from signalbox.core.roles import ANY_ENVIRONMENT, Action
from signalbox.services.events import MAX_EVENTS, list_events
from signalbox.services.tokens import Caller

router = APIRouter(prefix="/api/events", tags=["events"])


@router.get("")
def events(
    env: str | None = Query(None, description="Only this environment."),
    limit: int = Query(50, ge=1, le=MAX_EVENTS),
    before: int | None = Query(None, description="Only events older than this id."),
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> dict[str, Any]:
    """Events the caller may read (global ones, like token changes, need read on ``*``)."""
    if env is not None:
        caller.require(Action.READ, context.configured(env))
    found = list_events(
        context.engine,
        environment=env,
        readable=lambda name: caller.may(Action.READ, name),
        include_global=caller.may(Action.READ, ANY_ENVIRONMENT),
        limit=limit,
        before_id=before,
    )
    return {
        "events": [
            event_read(event, context.timezone(event.environment) if event.environment else "UTC")
            for event in found
        ]
    }

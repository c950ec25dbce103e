"""The event log, newest first: ``GET /api/events?env=dev&limit=50&before=ID``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from signalbox.api.auth import current_caller
from signalbox.api.context import Server, server
from signalbox.api.models.bounds import RowId
from signalbox.api.models.events import EventListRead, EventRead
from signalbox.core.roles import ANY_ENVIRONMENT, Action
from signalbox.services.events import MAX_EVENTS, list_events
from signalbox.services.tokens import Caller

router = APIRouter(prefix="/api/events", tags=["events"])


@router.get("", response_model=EventListRead)
def events(
    env: str | None = Query(None, description="Only this environment."),
    limit: int = Query(50, ge=1, le=MAX_EVENTS),
    before: RowId | None = Query(None, description="Only events older than this id."),
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> EventListRead:
    """Events the caller may read (global ones, like token changes, need read on ``*``),
    each in words in its environment's time zone."""
    if env is not None:
        caller.require(Action.READ, context.configured(env))
    found = list_events(
        context.engine,
        environment=env,
        readable=lambda name: caller.may(Action.READ, name),
        include_global=caller.may(Action.READ, ANY_ENVIRONMENT),
        limit=limit,
        before_id=before,
        now=context.now(),
    )
    return EventListRead(
        events=[
            EventRead.of(event, context.timezone(event.environment) if event.environment else "UTC")
            for event in found
        ]
    )

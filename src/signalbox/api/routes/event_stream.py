"""The event log, live: ``GET /api/events/stream?env=ENV&after=ID`` (server-sent events).

Each event the caller may read (global ones need read on ``*``) is sent as it is written::

    id: 42
    event: hold.granted
    data: {"id": 42, "environment": "dev", ..., "message": "platform-eng held dev ..."}

with ``data`` the JSON of ``EventRead`` (the event told in its environment's zone). A
comment line (``: keep-alive``) goes out every ``KEEPALIVE_SECONDS`` so proxies keep the
connection open; the token is checked again then, and a revoked token ends the stream.

Without ``after`` (or a ``Last-Event-ID`` header, which a reconnecting client sends and
which wins over ``after``) the stream starts at the end of the log: only new events. It
wakes on the change feed (within a tick of a change, by this server or another); a stream of
every environment also looks every ``POLL_SECONDS``, since global events move no
environment's version. ``services.event_stream`` reads each event once even when transactions commit
out of id order.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from signalbox.api.auth import current_caller, token_from_header
from signalbox.api.context import Server, server
from signalbox.api.models.bounds import MAX_ROW_ID, Counter
from signalbox.api.models.events import EventRead
from signalbox.core.errors import InvalidInput, SignalboxError
from signalbox.core.roles import ANY_ENVIRONMENT, Action
from signalbox.services.event_stream import EventFollower
from signalbox.services.tokens import Caller, authenticate

__all__ = ["KEEPALIVE_SECONDS", "POLL_SECONDS", "RETRY_MILLISECONDS", "router", "sse_frame"]

router = APIRouter(prefix="/api/events", tags=["events"])

KEEPALIVE_SECONDS = 15.0
POLL_SECONDS = 1.0
RETRY_MILLISECONDS = 2000
"""What the stream tells a browser to wait before it reconnects."""


def sse_frame(event: EventRead) -> bytes:
    """One event as a server-sent event (the JSON is one line: no newline to escape)."""
    return (f"id: {event.id}\nevent: {event.kind}\ndata: {event.model_dump_json()}\n\n").encode()


def _start(after: int | None, last_event_id: str | None) -> int | None:
    if last_event_id is None or not last_event_id.strip():
        return after
    try:
        value = int(last_event_id.strip())
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_ROW_ID:
        raise InvalidInput(
            f"Last-Event-ID {last_event_id!r} is not an event id.",
            hint="Send the id of the last event received (a whole number), or none.",
            field="Last-Event-ID",
        )
    return value


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Server-sent events: each event as `id`, `event` (its kind) and "
            "`data` (EventRead as JSON); `: keep-alive` comment lines in between.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    },
)
async def stream(
    request: Request,
    env: str | None = Query(None, description="Only this environment."),
    after: Counter | None = Query(
        None, description="Start after this event id (default: only new events)."
    ),
    last_event_id: str | None = Header(
        None, description="The id of the last event a reconnecting client received."
    ),
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> StreamingResponse:
    """Follow the events the caller may read as they are written (server-sent events)."""
    start = _start(after, last_event_id)
    names = context.readable(caller, env)  # 404 unknown environment, 403 without read
    follower = EventFollower(
        context.engine,
        environments=names,
        include_global=env is None and caller.may(Action.READ, ANY_ENVIRONMENT),
        timezone=lambda name: context.timezone(name) if name else "UTC",
        after=start,
    )
    await run_in_threadpool(follower.start)
    secret = token_from_header(request.headers.get("authorization"))

    async def still_allowed() -> bool:
        try:
            await run_in_threadpool(authenticate, context.engine, secret, now=context.now())
        except SignalboxError:
            return False
        return True

    async def frames() -> AsyncIterator[bytes]:
        yield f"retry: {RETRY_MILLISECONDS}\n: following events\n\n".encode()
        beat = time.monotonic()
        while True:
            versions = {name: context.feed.version(name) for name in names}
            found = await run_in_threadpool(follower.read, context.now())
            for event in found:
                zone = context.timezone(event.environment) if event.environment else "UTC"
                yield sse_frame(EventRead.of(event, zone))
            if follower.more:
                continue
            if time.monotonic() - beat >= KEEPALIVE_SECONDS:
                if not await still_allowed():
                    return
                yield b": keep-alive\n\n"
                beat = time.monotonic()
            if await request.is_disconnected():
                return
            wait = max(0.0, beat + KEEPALIVE_SECONDS - time.monotonic())
            if env is None:  # global events move no environment's version: look each second
                wait = min(wait, POLL_SECONDS)
            await context.feed.wait_any(versions, timeout=wait)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(frames(), media_type="text/event-stream", headers=headers)

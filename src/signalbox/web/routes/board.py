"""The board: one card per environment the viewer may see, live.

GET /               the board (signed in, or anyone with ``board_public``)
GET /board/cards    the cards alone (what the board's script swaps in on a change)
GET /board/stream   server-sent events: ``change`` when an environment on the board
                    changes (within a tick of the change feed, by any server)
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from signalbox.api.context import Server, server
from signalbox.core.status import EnvironmentPicture
from signalbox.services.notify.worker import FailingTarget
from signalbox.services.status import environment_pictures
from signalbox.web.render import PAGE_HEADERS, page, render
from signalbox.web.security import Viewer, board_viewer, viewer_of

__all__ = ["KEEPALIVE_SECONDS", "board_context", "failing_of", "router"]

router = APIRouter(include_in_schema=False)

KEEPALIVE_SECONDS = 15.0


def failing_of(context: Server, names: list[str]) -> dict[str, tuple[FailingTarget, ...]]:
    """The notification targets failing for each of ``names`` (as the notifier last read
    them; none on a server without one)."""
    notifier = context.notifier
    if notifier is None:
        return {}
    return {name: found for name in names if (found := notifier.failing_for(name))}


def board_context(context: Server, viewer: Viewer) -> dict[str, Any]:
    """What the board's templates need: the pictures the viewer may see and their failing
    notification targets (read in a worker thread: it may query the database)."""
    names = context.readable(viewer.caller)
    pictures: list[EnvironmentPicture] = environment_pictures(
        context.engine, context.settings, names=names, now=context.now(), cache=context.pictures
    )
    return {
        "pictures": pictures,
        "failing": failing_of(context, names),
        "default_tz": context.settings.timezone,
    }


@router.get("/", response_class=HTMLResponse)
async def board(
    request: Request, viewer: Viewer = Depends(board_viewer), context: Server = Depends(server)
) -> HTMLResponse:
    found = await run_in_threadpool(board_context, context, viewer)
    return page(request, "board.html", viewer=viewer, title="Board", **found)


@router.get("/board/cards", response_class=HTMLResponse)
async def cards(
    request: Request, viewer: Viewer = Depends(board_viewer), context: Server = Depends(server)
) -> HTMLResponse:
    found = await run_in_threadpool(board_context, context, viewer)
    html = render("_cards.html", viewer=viewer, now=context.now(), request=request, **found)
    return HTMLResponse(html, headers=PAGE_HEADERS)


@router.get("/board/stream")
async def stream(
    request: Request, viewer: Viewer = Depends(board_viewer), context: Server = Depends(server)
) -> StreamingResponse:
    names = context.readable(viewer.caller)

    async def still_allowed() -> bool:
        return viewer.public or await viewer_of(request) is not None

    async def frames() -> AsyncIterator[bytes]:
        yield b"retry: 2000\n: following the board\n\n"
        beat = time.monotonic()
        versions = {name: context.feed.version(name) for name in names}
        while True:
            wait = max(0.0, beat + KEEPALIVE_SECONDS - time.monotonic())
            if await context.feed.wait_any(versions, timeout=wait):
                moved = [n for n, v in versions.items() if context.feed.version(n) > v]
                versions = {name: context.feed.version(name) for name in names}
                yield f"event: change\ndata: {' '.join(moved)}\n\n".encode()
            if time.monotonic() - beat >= KEEPALIVE_SECONDS:
                if await request.is_disconnected() or not await still_allowed():
                    return
                yield b": keep-alive\n\n"
                beat = time.monotonic()

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(frames(), media_type="text/event-stream", headers=headers)

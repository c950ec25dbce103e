"""Request bodies larger than the limit get a 413 problem before the route reads them.

``limit_for(path)`` chooses the limit (Settings.max_body_bytes by default; routes that take
plans or states register a larger one in ``app.LARGE_BODY_ROUTES``). Both a declared
Content-Length and a chunked body that grows past the limit are stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from signalbox.api.problems import problem_response
from signalbox.core.errors import PayloadTooLarge


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The request body is larger than {limit} bytes.",
        hint="Send a smaller body; the limit is a server setting.",
        limit=limit,
    )


class _BodyTooLarge(StarletteHTTPException):
    """Raised while the route reads the body; the problem handlers answer it as a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=_too_large(limit).message)


class BodySizeLimit:
    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int | None]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        if limit is None:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await problem_response(_too_large(limit))(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge(limit)
            return message

        await self.app(scope, counting_receive, send)

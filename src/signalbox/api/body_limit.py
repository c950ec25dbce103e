"""Request bodies larger than the limit get a 413 problem before the route reads them.

``limit_for(path)`` chooses the limit (Settings.max_body_bytes by default; routes that take
plans or states register a larger one in ``app.LARGE_BODY_ROUTES``). Both a declared
Content-Length and a chunked body that grows past the limit are stopped.

Per request it does no more than it must: a request without a body (no Content-Length, no
Transfer-Encoding: a GET, a DELETE) passes untouched, and the limit of a path is looked up
once and remembered (``_LIMITS_KEPT`` paths at most).
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


_LIMITS_KEPT = 4096


def _body_headers(scope: Scope) -> tuple[bytes | None, bool]:
    """(Content-Length, whether a Transfer-Encoding is given) of the request."""
    declared, encoded = None, False
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            declared = value
        elif name == b"transfer-encoding":
            encoded = True
    return declared, encoded


class BodySizeLimit:
    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int | None]) -> None:
        self.app = app
        self.limit_for = limit_for
        self.limits: dict[str, int | None] = {}

    def _limit(self, path: str) -> int | None:
        try:
            return self.limits[path]
        except KeyError:
            if len(self.limits) >= _LIMITS_KEPT:
                self.limits.clear()
            limit = self.limits[path] = self.limit_for(path)
            return limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, encoded = _body_headers(scope)
        if declared is None and not encoded:  # no body to limit
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        if limit is None:
            await self.app(scope, receive, send)
            return
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

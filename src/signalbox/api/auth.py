"""Who is asking: ``Authorization: Bearer TOKEN``, or HTTP Basic with the token as password
(Terraform's ``http`` backend sends that; the user name is ignored).

Use as FastAPI dependencies::

    def route(caller: Caller = Depends(current_caller)): caller.require(Action.HOLD, env)

``current_caller`` is async: a token found valid in the last few seconds
(``services.tokens.remembered_caller``) is answered on the event loop, without a query or a
thread; any other is checked in a worker thread (``caller_of``, for code that is in one).
"""

from __future__ import annotations

import base64
import binascii

import anyio
from fastapi import Depends, Request

from signalbox.api.context import Server, server
from signalbox.core.errors import Unauthenticated
from signalbox.services.tokens import Caller, authenticate, remembered_caller

__all__ = ["caller_of", "current_caller", "token_from_header"]


def token_from_header(authorization: str | None) -> str:
    """The token in an Authorization header; Unauthenticated when there is none."""
    if not authorization:
        raise Unauthenticated(
            "This request needs a token.",
            hint="Send Authorization: Bearer TOKEN (set SIGNALBOX_TOKEN).",
        )
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        _, separator, password = decoded.partition(":")
        if separator and password:
            return password
    raise Unauthenticated(
        "The Authorization header is not Bearer TOKEN or Basic with the token as password.",
        hint="Send Authorization: Bearer TOKEN (set SIGNALBOX_TOKEN).",
    )


def caller_of(request: Request, context: Server) -> Caller:
    """The caller of ``request`` (Unauthenticated if none), from a worker thread: it may
    query the database."""
    secret = token_from_header(request.headers.get("authorization"))
    return authenticate(context.engine, secret, now=context.clock.now())


async def current_caller(request: Request, context: Server = Depends(server)) -> Caller:
    """FastAPI dependency: the caller of ``request``; Unauthenticated (401) if none."""
    secret = token_from_header(request.headers.get("authorization"))
    now = context.clock.now()
    remembered = remembered_caller(context.engine, secret, now=now)
    if remembered is not None:
        return remembered
    return await anyio.to_thread.run_sync(lambda: authenticate(context.engine, secret, now=now))

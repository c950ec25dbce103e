"""Who is asking: ``Authorization: Bearer TOKEN``, or HTTP Basic with the token as password
(Terraform's ``http`` backend sends that; the user name is ignored).

Use as FastAPI dependencies::

    def route(caller: Caller = Depends(current_caller)): caller.require(Action.HOLD, env)
"""

from __future__ import annotations

import base64
import binascii

from fastapi import Depends, Request

from signalbox.api.context import Server, server
from signalbox.core.errors import Unauthenticated
from signalbox.services.tokens import Caller, authenticate

__all__ = ["current_caller", "token_from_header"]


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


def current_caller(request: Request, context: Server = Depends(server)) -> Caller:
    secret = token_from_header(request.headers.get("authorization"))
    return authenticate(context.engine, secret, now=context.clock.now())

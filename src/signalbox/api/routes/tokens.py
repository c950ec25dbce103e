"""API tokens (admin): create (the secret is in this answer only), list, revoke."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from signalbox.api.auth import current_caller
from signalbox.api.context import Server, server
from signalbox.api.schemas import TokenCreate, token_read
from signalbox.core.roles import Action
from signalbox.services import tokens
from signalbox.services.tokens import Caller

router = APIRouter(prefix="/api/tokens", tags=["tokens"])


@router.post("", status_code=201)
def create(
    body: TokenCreate, caller: Caller = Depends(current_caller), context: Server = Depends(server)
) -> dict[str, Any]:
    caller.require(Action.MANAGE_TOKENS, None)
    secret, info = tokens.create_token(
        context.engine,
        name=body.name,
        grants=body.grants,
        is_ci=body.ci,
        created_by=caller.principal.name,
        now=context.now(),
    )
    return {"token": secret, **token_read(info)}


@router.get("")
def list_all(
    caller: Caller = Depends(current_caller), context: Server = Depends(server)
) -> dict[str, Any]:
    caller.require(Action.MANAGE_TOKENS, None)
    return {"tokens": [token_read(info) for info in tokens.list_tokens(context.engine)]}


@router.delete("/{name}")
def revoke(
    name: str, caller: Caller = Depends(current_caller), context: Server = Depends(server)
) -> dict[str, Any]:
    caller.require(Action.MANAGE_TOKENS, None)
    info = tokens.revoke_token(
        context.engine, name=name, revoked_by=caller.principal.name, now=context.now()
    )
    return token_read(info)

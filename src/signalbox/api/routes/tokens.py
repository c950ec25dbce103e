"""API tokens (admin): create (the secret is in this answer only), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from signalbox.api.auth import current_caller
from signalbox.api.context import Server, server
from signalbox.api.models.tokens import TokenCreate, TokenListRead, TokenRead, TokenSecretRead
from signalbox.core.roles import Action
from signalbox.services import tokens
from signalbox.services.tokens import Caller

router = APIRouter(prefix="/api/tokens", tags=["tokens"])


@router.post("", status_code=201, response_model=TokenSecretRead)
def create(
    body: TokenCreate, caller: Caller = Depends(current_caller), context: Server = Depends(server)
) -> TokenSecretRead:
    caller.require(Action.MANAGE_TOKENS, None)
    secret, info = tokens.create_token(
        context.engine,
        name=body.name,
        grants=body.grants,
        is_ci=body.ci,
        created_by=caller.principal.name,
        now=context.now(),
    )
    return TokenSecretRead.created(secret, info)


@router.get("", response_model=TokenListRead)
def list_all(
    caller: Caller = Depends(current_caller), context: Server = Depends(server)
) -> TokenListRead:
    caller.require(Action.MANAGE_TOKENS, None)
    return TokenListRead(tokens=[TokenRead.of(info) for info in tokens.list_tokens(context.engine)])


@router.delete("/{name}", response_model=TokenRead)
def revoke(
    name: str, caller: Caller = Depends(current_caller), context: Server = Depends(server)
) -> TokenRead:
    caller.require(Action.MANAGE_TOKENS, None)
    info = tokens.revoke_token(
        context.engine, name=name, revoked_by=caller.principal.name, now=context.now()
    )
    return TokenRead.of(info)

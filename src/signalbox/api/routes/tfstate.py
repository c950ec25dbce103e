"""Terraform's ``http`` state backend at ``/tf/{environment}/{state}``.

Wire facts (Terraform 1.0.3 to 1.15.5): GET answers 200 with the body, or 404 for "no state
yet" (so an unknown *environment* is answered 400, never 404: Terraform would take it for an
empty state); POST/PUT carry ``?ID=<lock id>`` when locking is on, ``Content-MD5`` and
``Content-Type: application/json``; LOCK and UNLOCK carry the 7-field lock JSON, and
``terraform force-unlock`` sends UNLOCK with an empty body. A refused LOCK is ``423`` with a
lock JSON whose ID and Info explain who holds what (Terraform prints them); a refused write
or UNLOCK is a 4xx problem+json saying why (never 500: Terraform retries those). Clients
that cannot send custom methods use ``POST``/``DELETE`` on ``/tf/{environment}/{state}/lock``.
HTTP Basic auth with the token as the password (``api.auth``).
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from signalbox.api.auth import current_caller
from signalbox.api.context import Server, server
from signalbox.api.problems import problem_response
from signalbox.api.state_upload import BodyReceiver, announced_size, decode_content_md5
from signalbox.core.errors import (
    PayloadTooLarge,
    StateBodyInvalid,
    StateLocked,
    StateRefused,
    UnknownEnvironment,
)
from signalbox.core.roles import Action
from signalbox.core.tfstate import (
    Accepted,
    Refusal,
    RefusalCause,
    StateKey,
    validate_state_name,
)
from signalbox.core.tfstate.lockinfo import FIELDS as LOCK_FIELDS
from signalbox.services.tfstate import (
    StateStore,
    after_write,
    delete_state,
    lock_state,
    read_state,
    stage_upload,
    unlock_state,
    write_state,
)
from signalbox.services.tokens import Caller

__all__ = ["MAX_LOCK_BODY", "router"]

router = APIRouter(tags=["terraform state"])

MAX_LOCK_BODY = 64 * 1024
_PATH = "/tf/{environment}/{state}"
_BODY_CAUSES = {RefusalCause.CHECKSUM, RefusalCause.NOT_A_STATE}
_LOCKED_CAUSES = {RefusalCause.HELD, RefusalCause.LOCKED, RefusalCause.LOCK_MISMATCH}

_DONE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Done; the body is empty.",
        "content": {"text/plain": {"schema": {"type": "string", "maxLength": 0}}},
    }
}
"""The answer of an accepted write, delete or UNLOCK: 200 with nothing in it."""

_LOCK_JSON = {
    "type": "object",
    "description": "Terraform's 7-field lock info; ID and Info say who holds what.",
    "properties": {field: {"type": "string"} for field in LOCK_FIELDS},
}
_LOCKED: dict[int | str, dict[str, Any]] = {
    **_DONE,
    423: {
        "description": "Refused: the lock JSON of what stands in the way.",
        "content": {"application/json": {"schema": _LOCK_JSON}},
    },
}
_STATE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The newest state body, as Terraform wrote it (streamed).",
        "headers": {
            "Content-MD5": {"schema": {"type": "string"}, "description": "base64 MD5."},
            "X-Signalbox-Serial": {"schema": {"type": "integer"}},
        },
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
    404: {"description": "The state has no body yet (Terraform starts a new one)."},
    500: {
        "description": "The stored body is damaged (a ``state-integrity`` problem naming the "
        "state, the serial and what to do); nothing of it is sent."
    },
}


async def state_store(context: Server = Depends(server)) -> StateStore:
    """The app's StateStore (built by ``create_app``; async: no thread hop for a lookup)."""
    return context.state_store


def _accepted(decision: Accepted | Refusal) -> Accepted:
    """``decision`` if accepted; a refusal is raised as its error (``_refusal_error``)."""
    if isinstance(decision, Refusal):
        raise _refusal_error(decision)
    return decision


def _refusal_error(refusal: Refusal) -> StateRefused | StateBodyInvalid:
    """A refused write, delete or UNLOCK as an error: 423 ``state-locked`` (a hold or a
    Terraform lock stands in the way), 409 ``state-refused`` (history, ownership) or 422
    ``state-body-invalid`` (checksum, not a state)."""
    details = {
        "cause": str(refusal.cause),
        "whom": refusal.whom,
        "until": refusal.until.isoformat() if refusal.until else None,
    }
    if refusal.cause in _BODY_CAUSES:
        return StateBodyInvalid(refusal.message, hint="Run Terraform again.", **details)
    hint = f"Ask {refusal.whom}." if refusal.whom else "See the reason above."
    if refusal.cause in _LOCKED_CAUSES:  # Terraform prints only "HTTP error: 423" for a write
        return StateLocked(refusal.message, hint=hint, **details)
    return StateRefused(refusal.message, hint=hint, **details)


async def _small_body(request: Request) -> bytes:
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > MAX_LOCK_BODY:
            raise PayloadTooLarge(
                f"A lock body is at most {MAX_LOCK_BODY} bytes.", hint="Send Terraform's lock JSON."
            )
    return bytes(body)


@router.get(_PATH, operation_id="get_state", response_class=Response, responses=_STATE)
def get_state(
    environment: str,
    state: str,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
    store: StateStore = Depends(state_store),
) -> Response:
    """The newest state body (200), or 404 when the state has none yet. The body is
    checked whole before the answer starts: a damaged one is a 500 ``state-integrity``
    problem naming the state, the serial and what to do, never a cut 200."""
    try:
        context.configured(environment)
    except UnknownEnvironment as error:  # a 404 would read as "no state yet" to Terraform
        return problem_response(error, status=400)
    caller.require(Action.READ_STATE, environment)
    stored = read_state(store, key=StateKey(environment, state), now=context.now())
    if stored is None:
        return Response(status_code=404)
    headers = {
        "Content-MD5": base64.b64encode(stored.md5).decode(),
        "Content-Length": str(stored.size),
        "X-Signalbox-Serial": str(stored.serial),
    }
    return StreamingResponse(stored.body, media_type="application/json", headers=headers)


@router.post(_PATH, operation_id="post_state", response_class=Response, responses=_DONE)
@router.put(_PATH, operation_id="put_state", response_class=Response, responses=_DONE)
async def put_state(
    environment: str,
    state: str,
    request: Request,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
    store: StateStore = Depends(state_store),
) -> Response:
    """Store a new version (POST or PUT); refused (409/422/423, nothing stored) when the
    rules say so."""
    caller.require(Action.WRITE_STATE, context.configured(environment))
    key = StateKey(environment, validate_state_name(state))
    declared = decode_content_md5(request.headers.get("content-md5"))
    expected = announced_size(request.headers.get("content-length"))
    receiver = BodyReceiver(limit=context.settings.max_state_bytes, expected=expected)
    staged = await stage_upload(
        store,
        receiver.segments(request.stream()),
        now=context.now(),
        received=receiver.reading,  # the whole body, strictly, while the last is stored
    )
    reading = receiver.reading()
    decision = await run_in_threadpool(
        lambda: write_state(
            store,
            principal=caller.principal,
            key=key,
            staged=staged,
            head=reading.head,
            head_problem=reading.problem,
            declared_md5=declared,
            lock_id=request.query_params.get("ID"),
            now=context.now(),
        )
    )
    if _accepted(decision).unchanged:
        return Response(status_code=200)
    after = BackgroundTask(after_write, store, key=key, now=context.now())
    return Response(status_code=200, background=after)


@router.delete(_PATH, operation_id="delete_state", response_class=Response, responses=_DONE)
def delete(
    environment: str,
    state: str,
    request: Request,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
    store: StateStore = Depends(state_store),
) -> Response:
    """Delete the state (a deletion version; the history stays)."""
    caller.require(Action.WRITE_STATE, context.configured(environment))
    decision = delete_state(
        store,
        principal=caller.principal,
        key=StateKey(environment, state),
        lock_id=request.query_params.get("ID"),
        now=context.now(),
    )
    _accepted(decision)
    return Response(status_code=200)


@router.api_route(
    _PATH, methods=["LOCK"], operation_id="lock_state", response_class=Response, responses=_LOCKED
)
@router.post(_PATH + "/lock", operation_id="post_lock", response_class=Response, responses=_LOCKED)
async def lock(
    environment: str,
    state: str,
    request: Request,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
    store: StateStore = Depends(state_store),
) -> Response:
    """Take the Terraform lock (LOCK, or POST on ``/lock``); 423 with the holder's lock JSON
    when refused."""
    caller.require(Action.WRITE_STATE, context.configured(environment))
    body = await _small_body(request)
    decision = await run_in_threadpool(
        lambda: lock_state(
            store,
            principal=caller.principal,
            key=StateKey(environment, state),
            body=body,
            now=context.now(),
        )
    )
    if isinstance(decision, Accepted):
        return Response(status_code=200)
    assert decision.lock_body is not None
    return Response(decision.lock_body.to_json(), status_code=423, media_type="application/json")


@router.api_route(
    _PATH, methods=["UNLOCK"], operation_id="unlock_state", response_class=Response, responses=_DONE
)
@router.delete(
    _PATH + "/lock", operation_id="delete_lock", response_class=Response, responses=_DONE
)
async def unlock(
    environment: str,
    state: str,
    request: Request,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
    store: StateStore = Depends(state_store),
) -> Response:
    """Release the lock (UNLOCK, or DELETE on ``/lock``): the owner with its lock JSON; the
    owner or an admin with none (``terraform force-unlock``). A force-unlock with no
    Terraform lock is refused with what is true: 423 when the environment is held (a hold is
    not a lock: the answer names the holder and ``signalbox release``/``force-release``),
    409 ``not-locked`` otherwise. Terraform prints only the status code of a refused UNLOCK
    ("Failed to unlock state: Unexpected HTTP response code 423"); the sentence is in the
    problem body and in the event log."""
    caller.require(Action.WRITE_STATE, context.configured(environment))
    body = await _small_body(request)
    is_admin = caller.may(Action.FORCE_RELEASE, environment)
    decision = await run_in_threadpool(
        lambda: unlock_state(
            store,
            principal=caller.principal,
            is_admin=is_admin,
            key=StateKey(environment, state),
            body=body,
            now=context.now(),
        )
    )
    _accepted(decision)
    return Response(status_code=200)

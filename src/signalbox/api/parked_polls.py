"""The waiting gates' re-polls, parked before FastAPI: what thousands of idle gates cost.

A gate that waits asks again every 25 s (``GET /api/deploys/{id}/decision?since=V&wait=N``)
and, while nothing changes, hears ``{"unchanged": true}``. With 10,000 gates that is 400
requests a second that change nothing; through FastAPI's routing, dependencies and
response validation each cost more than the whole rest of the wait. ``ParkedPolls`` (an
ASGI middleware) takes the common case before the framework: a re-poll whose token this
process checked moments ago (``services.tokens.remembered_caller``) for a deploy whose
environment it knows (``environment_cache``), with ``since`` and ``wait`` only. It parks the
request on the change feed exactly as the route would; if nothing changed, it writes the
route's own "unchanged" answer (``unchanged_answer``). When the environment changed (the gate
was woken, or asks from before the change), its token is checked again (remembered, or one
check in a worker thread for all the gates of one token) and it gets its answer from the
environment's one decision at its new version (``longpoll.woken_answer``: the JSON the route
sends, made once for every woken gate). Everything else goes on to the route unchanged: a
changed environment whose decision does not answer this deploy (the route decides it
alone), a token no longer valid (the route's 401), a first ask, a ``recheck_at``, an unknown
or expired token, anything malformed (the route's validation and errors answer it). The
request is counted under the route's template (``GET /metrics``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from urllib.parse import parse_qsl

import anyio
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from signalbox.api.auth import token_from_header
from signalbox.api.context import Server
from signalbox.api.longpoll import hold_seconds, unchanged_answer, woken_answer
from signalbox.api.models.bounds import MAX_ROW_ID
from signalbox.core.errors import Unauthenticated
from signalbox.core.roles import Action
from signalbox.services.tokens import Caller, authenticate, remembered_caller

__all__ = ["ParkedPolls"]

log = logging.getLogger(__name__)

_DECISION = re.compile(r"/api/deploys/([1-9][0-9]{0,9})/decision")
_HEADERS = [(b"content-type", b"application/json")]


class ParkedPolls:
    """See the module docstring. ``route`` is the decision route (for the metrics label)."""

    def __init__(self, app: ASGIApp, context: Server, route: BaseRoute | None) -> None:
        self.app = app
        self.context = context
        self.route = route
        self._checking: dict[str, asyncio.Future[Caller | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        parked = self._parkable(scope) if scope["type"] == "http" else None
        if parked is None:
            await self.app(scope, receive, send)
            return
        deploy_id, environment, since, wait, secret = parked
        context = self.context
        feed = context.feed
        timeout = hold_seconds(wait, context.settings.longpoll_seconds)
        with feed.asking(deploy_id):  # until answered: a decision may start it
            if await feed.wait(environment, since=since, timeout=timeout):
                body = await self._woken_answer(deploy_id, environment, secret)
            else:
                body = unchanged_answer(deploy_id, since)
        if body is None:  # the route decides (it does not wait: the environment is past `since`)
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        headers = [*_HEADERS, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _woken_answer(self, deploy_id: int, environment: str, secret: str) -> bytes | None:
        """The answer of a gate woken by a change, from its environment's one decision
        (``longpoll.woken_answer``), once its token is known valid still and may read the
        environment; None for the route to answer (a revoked token: its 401)."""
        context = self.context
        caller = remembered_caller(context.engine, secret, now=context.now())
        if caller is None:
            caller = await self._authenticated(secret)
        if caller is None or not caller.may(Action.READ, environment):
            return None
        try:
            return await woken_answer(context, environment, deploy_id)
        except Exception:  # the database failed: the route tries again and answers its error
            log.warning("long-poll: deciding %s failed", environment, exc_info=True)
            return None

    async def _authenticated(self, secret: str) -> Caller | None:
        """The caller of ``secret`` checked in a worker thread, one check at a time for each
        token however many of its gates are woken together; None if it is not valid."""
        checking = self._checking.get(secret)
        if checking is None:
            context = self.context

            def check() -> Caller | None:
                try:
                    return authenticate(context.engine, secret, now=context.now())
                except Unauthenticated:
                    return None

            checking = asyncio.ensure_future(anyio.to_thread.run_sync(check))
            self._checking[secret] = checking
            checking.add_done_callback(lambda _: self._checking.pop(secret, None))
        try:
            return await asyncio.shield(checking)
        except Exception:  # the database failed: the route answers its error
            return None

    def _parkable(self, scope: Scope) -> tuple[int, str, int, int, str] | None:
        """(deploy id, environment, since, wait, token) of a re-poll this process can park,
        or None."""
        if scope["method"] != "GET":
            return None
        match = _DECISION.fullmatch(scope["path"])
        if match is None:
            return None
        deploy_id = int(match.group(1))
        environment = self.context.deploy_environments.get(deploy_id)
        if environment is None or deploy_id > MAX_ROW_ID:
            return None
        asked = _since_and_wait(scope["query_string"])
        if asked is None:
            return None
        try:
            secret = token_from_header(_authorization(scope))
        except Unauthenticated:
            return None
        caller = remembered_caller(self.context.engine, secret, now=self.context.now())
        if caller is None or not caller.may(Action.READ, environment):
            return None
        return deploy_id, environment, *asked, secret


def _since_and_wait(query: bytes) -> tuple[int, int] | None:
    """``since`` and ``wait`` (25 when absent) when they are the query's only parameters,
    each once, as plain decimal numbers in range; None otherwise."""
    try:
        pairs = parse_qsl(query.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return None
    given = dict(pairs)
    if len(given) != len(pairs) or "since" not in given or not given.keys() <= {"since", "wait"}:
        return None
    numbers = [given["since"], given.get("wait", "25")]
    if not all(text.isascii() and text.isdigit() and len(text) <= 10 for text in numbers):
        return None
    since, wait = (int(text) for text in numbers)
    return (since, wait) if since <= MAX_ROW_ID else None  # else the route's 422


def _authorization(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return str(value.decode("latin-1"))
    return None

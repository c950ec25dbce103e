"""The long-poll glue: one ``ChangeFeed`` per app, started and stopped with the app.

``feed_lifespan`` is the deploys router's lifespan (FastAPI merges it into the app's): it
builds the feed over the app's engine (one ``SELECT name, version FROM environments`` per
tick) and stops its task at shutdown. ``wait_for_change`` is what a waiting route awaits.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import time
from collections.abc import AsyncIterator, Callable, Collection
from datetime import datetime
from typing import Any

import anyio
from fastapi import Depends, FastAPI, Request
from sqlalchemy import select

from signalbox.api.auth import token_from_header
from signalbox.api.change_feed import ChangeFeed
from signalbox.api.context import Server, server
from signalbox.services.deploy_answers import GateAnswer
from signalbox.services.deploy_snapshot import expire_stale_deploys
from signalbox.services.deploys import touch_waiting
from signalbox.services.tokens import Caller, authenticate
from signalbox.storage.tables import EnvironmentRow
from signalbox.storage.uow import UnitOfWork

__all__ = [
    "CALLER_CACHE_SECONDS",
    "Batches",
    "batches_of",
    "environment_cache",
    "feed_lifespan",
    "feed_of",
    "hold_seconds",
    "longpoll_caller",
    "seconds_until",
]

TICK_SECONDS = 0.5


def _build_feed(context: Server) -> ChangeFeed:
    def read_versions() -> dict[str, int]:
        with UnitOfWork(context.engine, read_only=True) as uow:
            rows = uow.session.execute(select(EnvironmentRow.name, EnvironmentRow.version))
            return {name: version for name, version in rows}

    def keep_alive(deploy_ids: Collection[int]) -> None:
        touch_waiting(context.engine, list(deploy_ids), now=context.now())

    def housekeeping() -> None:
        expire_stale_deploys(context.engine, now=context.now())

    return ChangeFeed(
        read_versions,
        touch_waiting=keep_alive,
        housekeeping=housekeeping,
        tick_seconds=TICK_SECONDS,
    )


@contextlib.asynccontextmanager
async def feed_lifespan(app: FastAPI) -> AsyncIterator[None]:
    feed = _build_feed(app.state.server)
    app.state.change_feed = feed
    feed.ensure_started()
    try:
        yield
    finally:
        await feed.stop()


def feed_of(request: Request) -> ChangeFeed:
    """The app's feed (built on first use when the app was not started with its lifespan,
    as in some in-process tests)."""
    feed: ChangeFeed | None = getattr(request.app.state, "change_feed", None)
    if feed is None:
        feed = _build_feed(request.app.state.server)
        request.app.state.change_feed = feed
    return feed


def wake(request: Request, environment: str) -> None:
    """Tell this process's waiters of ``environment`` that it changed (a change that does
    not itself bump the environment's version: approvals, reservations)."""
    feed = feed_of(request)
    feed.notify(environment, feed.version(environment) + 1)


def seconds_until(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else (moment - now).total_seconds()


class Batches:
    """Coalesces the gates of one environment woken by the same change onto one decision
    (``services.deploy_batch.decide_waiting``): the first starts it in a worker thread, the
    others woken meanwhile await the same result. A waiter that joins a batch started
    before its change gets an answer with the older version and asks again at once."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Future[dict[int, GateAnswer]]] = {}

    async def decide(
        self, environment: str, run: Callable[[], dict[int, GateAnswer]]
    ) -> dict[int, GateAnswer]:
        batch = self._running.get(environment)
        if batch is None or batch.done():
            batch = asyncio.ensure_future(anyio.to_thread.run_sync(run))
            self._running[environment] = batch
        return await asyncio.shield(batch)


def batches_of(request: Request) -> Batches:
    found: Batches | None = getattr(request.app.state, "decision_batches", None)
    if found is None:
        found = Batches()
        request.app.state.decision_batches = found
    return found


CALLER_CACHE_SECONDS = 10.0
"""How long a long-poll trusts a token it has already checked (a revoked token may keep
waiting this long; every other route checks the token on each request)."""

_CALLER_CACHE_SIZE = 10_000


async def longpoll_caller(request: Request, context: Server = Depends(server)) -> Caller:
    """``current_caller`` for the long-poll: a waiting gate asks again every 25 s, and many
    gates share one CI token, so the token check is remembered briefly (no thread, no
    query) instead of repeated."""
    secret = token_from_header(request.headers.get("authorization"))
    key = hashlib.sha256(secret.encode("utf-8")).hexdigest()
    callers: dict[str, tuple[float, Caller]] = _app_cache(request, "longpoll_callers")
    cached = callers.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    caller = await anyio.to_thread.run_sync(
        lambda: authenticate(context.engine, secret, now=context.now())
    )
    if len(callers) >= _CALLER_CACHE_SIZE:
        callers.clear()
    callers[key] = (time.monotonic() + CALLER_CACHE_SECONDS, caller)
    return caller


def _app_cache(request: Request, name: str) -> dict[Any, Any]:
    """A dict kept on the app (one per server, never shared between apps in one process)."""
    found: dict[Any, Any] | None = getattr(request.app.state, name, None)
    if found is None:
        found = {}
        setattr(request.app.state, name, found)
    return found


def environment_cache(request: Request) -> dict[int, str]:
    """deploy id -> its environment (which never changes), so a re-poll needs no query."""
    return _app_cache(request, "deploy_environments")


def hold_seconds(asked: int, longest: int) -> float:
    """How long to hold one long-poll: what the gate asked, at most ``longest``, shortened
    at random by up to a fifth so that gates parked together do not all ask again at once."""
    return min(asked, longest) * random.uniform(0.8, 1.0)

"""The long-poll glue: what ``create_app`` builds for the waiting gates, and how routes reach it.

``build_feed`` makes the app's one ``ChangeFeed`` (one ``SELECT name, version FROM
environments`` per tick, the deploys' housekeeping and the waiting gates' keep-alive); the
app's lifespan starts and stops it with its other background loops. ``Batches`` coalesces
decisions. Both live on the app's ``Server`` (``api.context``), with the deploys' environments
cache: ``feed_of``, ``batches_of`` and ``environment_cache`` read them there. A token checked
moments ago is remembered by ``services.tokens`` for every route, the long-poll's included.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Callable, Collection
from datetime import datetime

import anyio
from fastapi import Request
from sqlalchemy import Engine

from signalbox.api.change_feed import ChangeFeed
from signalbox.api.context import server_of
from signalbox.api.models.deploys import UnchangedDeployRead, UnchangedRead
from signalbox.services.clock import Clock
from signalbox.services.database import environment_versions
from signalbox.services.deploys import GateAnswer, expire_stale_deploys, touch_waiting

__all__ = [
    "Batches",
    "batches_of",
    "build_feed",
    "environment_cache",
    "feed_of",
    "hold_seconds",
    "seconds_until",
    "unchanged_answer",
]

TICK_SECONDS = 0.5


def build_feed(engine: Engine, clock: Clock) -> ChangeFeed:
    """The app's change feed over ``engine`` (not started: the app's lifespan starts it)."""

    def keep_alive(deploy_ids: Collection[int]) -> None:
        touch_waiting(engine, list(deploy_ids), now=clock.now())

    def housekeeping() -> None:
        expire_stale_deploys(engine, now=clock.now())

    return ChangeFeed(
        functools.partial(environment_versions, engine),
        touch_waiting=keep_alive,
        housekeeping=housekeeping,
        tick_seconds=TICK_SECONDS,
    )


def feed_of(request: Request) -> ChangeFeed:
    """The app's change feed."""
    return server_of(request).feed


def wake(request: Request, environment: str) -> None:
    """Tell this process's waiters of ``environment`` that it changed, for a change whose
    answer does not carry the environment's new version (approvals, reservations)."""
    feed = feed_of(request)
    feed.notify(environment, feed.version(environment) + 1)


def seconds_until(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else (moment - now).total_seconds()


class Batches:
    """Coalesces the gates of one environment woken by the same change onto one decision
    (``services.deploys.decide_waiting``): the first starts it in a worker thread, the
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
    """The app's decision batches."""
    return server_of(request).batches


def unchanged_answer(deploy_id: int, version: int) -> bytes:
    """The JSON of the long-poll's "unchanged" answer (``UnchangedRead``): the gate's last
    answer, of ``version``, still holds."""
    answer = UnchangedRead(version=version, deploy=UnchangedDeployRead(id=deploy_id))
    return answer.model_dump_json().encode()


def environment_cache(request: Request) -> dict[int, str]:
    """deploy id -> its environment (which never changes), so a re-poll needs no query."""
    return server_of(request).deploy_environments


def hold_seconds(asked: int, longest: int) -> float:
    """How long to hold one long-poll: what the gate asked, at most ``longest``, shortened
    at random by up to a fifth so that gates parked together do not all ask again at once."""
    return min(asked, longest) * random.uniform(0.8, 1.0)

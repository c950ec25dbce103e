"""The long-poll glue: what ``create_app`` builds for the waiting gates, and how routes reach it.

``build_feed`` makes the app's one ``ChangeFeed`` (one ``SELECT name, version FROM
environments`` per tick, the deploys' housekeeping and the waiting gates' keep-alive); the
app's lifespan starts and stops it with its other background loops. ``Batches`` coalesces
decisions: a change of an environment is decided once for all its waiting gates, and each
woken gate is answered from that decision (``woken_answer``: the JSON made once). Both live
on the app's ``Server`` (``api.context``), with the deploys' environments cache: ``feed_of``
and ``environment_cache`` read them there. A token checked moments ago is remembered by
``services.tokens`` for every route, the long-poll's included.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
from fastapi import Request
from sqlalchemy import Engine

from signalbox.api.change_feed import ChangeFeed
from signalbox.api.context import Server, server_of
from signalbox.api.models.deploys import GateAnswerRead, UnchangedDeployRead, UnchangedRead
from signalbox.services.clock import Clock
from signalbox.services.database import environment_versions
from signalbox.services.deploys import (
    GateAnswer,
    decide_waiting,
    expire_stale_deploys,
    touch_waiting,
)

__all__ = [
    "CACHED_SECONDS",
    "Batches",
    "Decided",
    "build_feed",
    "decided",
    "environment_cache",
    "feed_of",
    "hold_seconds",
    "seconds_until",
    "unchanged_answer",
    "woken_answer",
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


CACHED_SECONDS = 5.0
"""How long one decision of an environment's waiting deploys may answer the gates that ask
at its version (woken by the change, or asking again from before it) while nothing changes:
past it, or past one of its answers' ``recheck_at``, the environment is decided again."""


@dataclass(frozen=True, slots=True)
class Decided:
    """One decision of an environment's waiting deploys (``decide_waiting``), each answer
    already the JSON the route sends (``GateAnswerRead``): what every gate woken by the same
    change is answered from, without a query or a serialisation of its own."""

    version: int
    """The environment's version the answers hold for (after what the decision wrote)."""
    bodies: Mapping[int, bytes]
    """deploy id -> its answer's JSON."""
    waiting: frozenset[int]
    """The deploys told to wait (``wait``, ``needs-approval``): their answers hold until the
    environment changes again. The others (went, refused) are told once, to the requests
    that waited for this decision; a later ask is decided by the route."""
    fresh_until: datetime
    """Past it the environment is decided again (see ``CACHED_SECONDS``)."""

    def body_for(self, deploy_id: int, *, joined: bool) -> bytes | None:
        """The answer of ``deploy_id`` for a request that waited for this decision
        (``joined``) or found it made; None when the route must decide it."""
        if joined or deploy_id in self.waiting:
            return self.bodies.get(deploy_id)
        return None


def decided(answers: Mapping[int, GateAnswer], *, version: int, now: datetime) -> Decided:
    """``answers`` (one decision of an environment, at ``version``), serialised once each."""
    rechecks = [answer.recheck_at for answer in answers.values() if answer.recheck_at is not None]
    return Decided(
        version=version,
        bodies={
            deploy_id: GateAnswerRead.of(answer).model_dump_json().encode()
            for deploy_id, answer in answers.items()
        },
        waiting=frozenset(
            deploy_id
            for deploy_id, answer in answers.items()
            if answer.decision in ("wait", "needs-approval")
        ),
        fresh_until=min([now + timedelta(seconds=CACHED_SECONDS), *rechecks]),
    )


class Batches:
    """Coalesces the gates of one environment woken by the same change onto one decision
    (``services.deploys.decide_waiting``), and keeps it while the environment does not
    change again.

    The first gate that needs it starts the decision in a worker thread; the others woken
    meanwhile await the same result (they *joined* it). A gate asking once it is made, at
    its version, is answered from it (``Decided.body_for``). A decision made before the
    latest change that wakes the gates (``ChangeFeed.waking_version``) is never used: the
    environment is decided again."""

    def __init__(self) -> None:
        self._running: dict[str, tuple[int, asyncio.Future[Decided]]] = {}
        self._latest: dict[str, Decided] = {}

    def latest(self, environment: str, *, at_least: int, now: datetime) -> Decided | None:
        """The environment's last decision if it holds for version ``at_least`` at ``now``."""
        kept = self._latest.get(environment)
        if kept is None or kept.version < at_least or now >= kept.fresh_until:
            return None
        return kept

    async def decide(
        self,
        environment: str,
        prepare: Callable[[], Callable[[], Decided]],
        *,
        at_least: int,
        now: datetime,
        cached: bool = True,
    ) -> tuple[Decided, bool]:
        """(the decision of ``environment`` for version ``at_least``, whether this request
        waited for it). ``prepare()`` (on the loop) returns the decision to run in a worker
        thread, when one must start. ``cached=False``: not one already made (a ``recheck_at``
        came: time may have changed the answers)."""
        if cached:
            kept = self.latest(environment, at_least=at_least, now=now)
            if kept is not None:
                return kept, False
        running = self._running.get(environment)
        if running is None or running[1].done() or running[0] < at_least:
            future = asyncio.ensure_future(anyio.to_thread.run_sync(prepare()))
            future.add_done_callback(functools.partial(self._keep, environment))
            running = self._running[environment] = (at_least, future)
        return await asyncio.shield(running[1]), True

    def _keep(self, environment: str, done: asyncio.Future[Decided]) -> None:
        if done.cancelled() or done.exception() is not None:
            return
        made = done.result()
        kept = self._latest.get(environment)
        if kept is None or made.version >= kept.version:
            self._latest[environment] = made


async def woken_answer(
    context: Server, environment: str, deploy_id: int, *, cached: bool = True
) -> bytes | None:
    """The answer (JSON) for waiting gate ``deploy_id`` once its environment changed, from
    the environment's one decision at its latest version; None when the route must decide
    it alone (``decide_deploy``: it was not waiting, or may go but was not asking then)."""
    feed = context.feed

    def prepare() -> Callable[[], Decided]:
        present = {deploy_id, *feed.waiting_deploys()}  # only a gate asking now may go
        now = context.now()

        def run() -> Decided:
            answers = decide_waiting(
                context.engine, context.settings, environment=environment, present=present, now=now
            )
            version = next(iter(answers.values())).version if answers else 0
            return decided(answers, version=version, now=now)

        return run

    made, joined = await context.batches.decide(
        environment,
        prepare,
        at_least=feed.waking_version(environment),
        now=context.now(),
        cached=cached,
    )
    if made.bodies:
        feed.notify(environment, made.version)  # what the decision wrote (a deploy started)
    return made.body_for(deploy_id, joined=joined)


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

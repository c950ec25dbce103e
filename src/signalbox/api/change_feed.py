"""Waiting for an environment to change, at almost no cost per waiter (long-poll support).

A gate that waits (queued, or for an approval) asks "tell me when environment ENV changes
after version V, or after at most N seconds". Each server process has one ``ChangeFeed``:

- a waiter is one future parked in its environment's set, with one timer for its timeout:
  no task, no thread, no query and no work per waiter while nothing changes, and a
  change resolves exactly the waiters of its environment;
- a change made by this process wakes them at once (``notify``, thread-safe: services run
  in worker threads); a change that cannot alter a waiting gate's answer (a deploy queued
  at the tail) is recorded with ``wakes_waiters=False``: the streams and the notifier see
  it, the waiting gates stay parked (a change read from another process always wakes);
- one background task per process reads every environment's change counter
  (``environments.version``) once per tick, so changes made by *other* server processes
  sharing the database wake the waiters here within one tick: one query per process per
  tick, never one per waiter;
- the same task renews, in one statement every ``keepalive_seconds``, the waiting lease of
  every deploy whose gate is connected to this process (``touch_waiting``), so the deploy of
  a gate that died while queued lapses and does not block the queue;
- and, every ``housekeeping_seconds``, runs ``housekeeping`` (the server expires running
  deploys whose lease lapsed and waiting ones whose gate went away; their events wake the
  waiters like any change).

Time-based changes (a lease lapsing, a reservation coming near) are not events: the caller
passes ``recheck_at`` to ``wait`` and is woken then.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping

__all__ = ["ChangeFeed"]

log = logging.getLogger(__name__)

ReadVersions = Callable[[], Mapping[str, int]]
"""Returns ``{environment: version}`` for every environment (one query)."""

TouchWaiting = Callable[[Collection[int]], None]
"""Extends the waiting lease of the given deploys (one statement)."""

Housekeeping = Callable[[], object]
"""Periodic tidying (expire what time ended), run in a worker thread."""


def _resolve(parked: asyncio.Future[None]) -> None:
    if not parked.done():
        parked.set_result(None)


class ChangeFeed:
    """One per server process; see the module docstring."""

    def __init__(
        self,
        read_versions: ReadVersions,
        *,
        touch_waiting: TouchWaiting | None = None,
        housekeeping: Housekeeping | None = None,
        tick_seconds: float = 0.5,
        keepalive_seconds: float = 20.0,
        housekeeping_seconds: float = 5.0,
    ) -> None:
        self._read_versions = read_versions
        self._touch_waiting = touch_waiting
        self.tick_seconds = tick_seconds
        self.keepalive_seconds = keepalive_seconds
        self._housekeeping = housekeeping
        self.housekeeping_seconds = housekeeping_seconds
        self._versions: dict[str, int] = {}
        self._waking: dict[str, int] = {}
        """The version of each environment's latest change that wakes the waiting gates."""
        self._parked: dict[str, set[asyncio.Future[None]]] = {}
        """Each environment's parked waiters: one future each, resolved at its change."""
        self._any_change: asyncio.Event | None = None
        """Set (and forgotten) at any environment's change: what ``wait_any`` waits on."""
        self._waiting_deploys: Counter[int] = Counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []
        self.ticks = 0

    # -- lifecycle -------------------------------------------------------------------------

    def ensure_started(self) -> None:
        """Start the background task on the running loop (idempotent)."""
        if self._task is not None and not self._task.done():
            return
        self._loop = asyncio.get_running_loop()
        self._apply_versions(self._read_versions_safely() or {})
        self._task = self._loop.create_task(self._watch(), name="signalbox-change-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # -- the public calls --------------------------------------------------------------------

    def version(self, environment: str) -> int:
        return self._versions.get(environment, 0)

    def waking_version(self, environment: str) -> int:
        """The version of the environment's latest change that wakes the waiting gates (a
        decision made before it no longer holds)."""
        return self._waking.get(environment, 0)

    def notify(self, environment: str, version: int, *, wakes_waiters: bool = True) -> None:
        """Environment changed to ``version`` (committed). Safe from any thread.
        ``wakes_waiters=False``: no waiting gate's answer changed with it (see the module)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._apply_versions({environment: version}, wakes_waiters=wakes_waiters)
        else:
            loop.call_soon_threadsafe(
                functools.partial(
                    self._apply_versions, {environment: version}, wakes_waiters=wakes_waiters
                )
            )

    async def wait(
        self,
        environment: str,
        *,
        since: int,
        timeout: float,
        deploy_id: int | None = None,
    ) -> bool:
        """Wait until ``environment`` is past version ``since`` or ``timeout`` seconds pass.

        Returns True when it changed. ``deploy_id`` marks the waiting gate alive meanwhile.
        """
        self.ensure_started()
        deadline = time.monotonic() + max(0.0, timeout)
        with self.asking(deploy_id):
            while self._waking.get(environment, 0) <= since:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                await self._park(environment, remaining)
        return True

    async def _park(self, environment: str, timeout: float) -> None:
        """Until the next change of ``environment`` that wakes waiters, or ``timeout``."""
        loop = asyncio.get_running_loop()
        parked = loop.create_future()
        waiters = self._parked.setdefault(environment, set())
        waiters.add(parked)
        timer = loop.call_later(timeout, _resolve, parked)
        try:
            await parked
        finally:
            timer.cancel()
            waiters.discard(parked)

    async def wait_any(self, versions: Mapping[str, int], *, timeout: float) -> bool:
        """Wait until one environment of ``versions`` is past its version there, or
        ``timeout`` seconds pass (with no environment: a plain sleep). Returns True when one
        changed. What a stream of several environments waits on: one event for any change,
        not one waiter per environment."""
        if not versions:
            await asyncio.sleep(timeout)
            return False
        self.ensure_started()
        deadline = time.monotonic() + max(0.0, timeout)
        while not any(self.version(name) > version for name, version in versions.items()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self._any_change is None:
                self._any_change = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._any_change.wait(), remaining)
        return True

    def listen(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` (on the loop, without arguments) whenever an environment
        changes: the notifier wakes on it instead of polling."""
        self._listeners.append(listener)

    def waiting_deploys(self) -> list[int]:
        with self._lock:
            return sorted(self._waiting_deploys)

    # -- internals -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def asking(self, deploy_id: int | None) -> Iterator[None]:
        """While inside, ``deploy_id``'s gate counts as asking (``waiting_deploys``: kept
        alive, and may be started by a decision); ``wait(deploy_id=...)`` counts it so."""
        if deploy_id is None:
            yield
            return
        with self._lock:
            self._waiting_deploys[deploy_id] += 1
        try:
            yield
        finally:
            with self._lock:
                self._waiting_deploys[deploy_id] -= 1
                if self._waiting_deploys[deploy_id] <= 0:
                    del self._waiting_deploys[deploy_id]

    def _apply_versions(self, versions: Mapping[str, int], *, wakes_waiters: bool = True) -> None:
        """On the loop: record newer versions and wake the waiters of those environments
        (with ``wakes_waiters``)."""
        changed = False
        for environment, version in versions.items():
            if version > self._versions.get(environment, -1):
                changed = True
                self._versions[environment] = version
                if not wakes_waiters:
                    continue
                self._waking[environment] = version
                for parked in self._parked.pop(environment, ()):
                    _resolve(parked)
        if changed:
            if self._any_change is not None:
                self._any_change.set()
                self._any_change = None
            for listener in self._listeners:
                listener()

    def _read_versions_safely(self) -> Mapping[str, int] | None:
        try:
            return self._read_versions()
        except Exception:  # the database is down for a moment: keep waiting, log once per tick
            log.warning("change feed: could not read environment versions", exc_info=True)
            return None

    async def _watch(self) -> None:
        last_keepalive = last_housekeeping = time.monotonic()
        while True:
            await asyncio.sleep(self.tick_seconds)
            self.ticks += 1
            if time.monotonic() - last_housekeeping >= self.housekeeping_seconds:
                last_housekeeping = time.monotonic()
                await self._run_housekeeping()
            versions = await asyncio.to_thread(self._read_versions_safely)
            if versions:
                self._apply_versions(versions)
            if time.monotonic() - last_keepalive >= self.keepalive_seconds:
                last_keepalive = time.monotonic()
                await self._keep_waiters_alive()

    async def _run_housekeeping(self) -> None:
        if self._housekeeping is None:
            return
        try:
            await asyncio.to_thread(self._housekeeping)
        except Exception:
            log.warning("change feed: housekeeping failed; will retry", exc_info=True)

    async def _keep_waiters_alive(self) -> None:
        ids = self.waiting_deploys()
        if not ids or self._touch_waiting is None:
            return
        try:
            await asyncio.to_thread(self._touch_waiting, ids)
        except Exception:
            log.warning("change feed: could not renew waiting deploys", exc_info=True)

"""The notifier: a loop in every ``signalbox serve`` that delivers the outbox, never on the
request path.

Each turn, in worker threads of its own (not the request handlers' pool):

1. every ``reminder_seconds``, write the reminders that are due (``reminders``);
2. fan out the events not fanned out yet (``fan_out``);
3. claim runs of due deliveries for the targets it is not sending to already, and send each
   run in its own thread (``delivery``): a slow or failing target never holds up another.

It turns again at once while there is work, and otherwise sleeps until something changes
(the change feed calls ``poke``), a run ends, or ``poll_seconds`` pass (events written by
another server, a retry coming due). Several servers on one PostgreSQL share the work: fan-out
is one server at a time (an advisory lock), claims skip rows another server holds
(``FOR UPDATE SKIP LOCKED``), and a server killed mid-delivery leaves its claims to lapse after
``notify_claim_seconds``, when any server takes them again.

It also keeps ``failing``: each target whose queue is held by a failed delivery, read again
at most every ``FAILING_REFRESH_SECONDS`` (one look-up per target in the index of open
deliveries), so that the environments' pictures can show it without a query of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Engine

from signalbox.services.notify.delivery import RunOutcome, claim_runs, send_run
from signalbox.services.notify.fan_out import fan_out_once
from signalbox.services.notify.reminders import remind_once
from signalbox.services.notify.targets import Target
from signalbox.settings import Settings
from signalbox.storage.repositories.outbox import (
    ClaimedDelivery,
    DeliveryView,
    OutboxRepository,
)
from signalbox.storage.uow import UnitOfWork

__all__ = ["FAILING_REFRESH_SECONDS", "FailingTarget", "Notifier", "NotifierCounts"]

log = logging.getLogger("signalbox.notify")

T = TypeVar("T")

MAX_PARALLEL_TARGETS = 8
RUN_LENGTH = 20
FAILING_REFRESH_SECONDS = 0.5
STOP_SECONDS = 10.0
"""At shutdown, how long the loop may take to finish its turn before it is cancelled."""
"""The notifier reads which targets are failing at most this often (once per turn)."""


@dataclass(frozen=True, slots=True)
class FailingTarget:
    """A target in trouble. ``gave_up`` False: its oldest open delivery failed; it is tried
    again at ``next_attempt_at``, and nothing after it is sent until it goes through or is
    given up. True: it gave up on a message (after ``notify_give_up``) and nothing was
    delivered to it since; it stays shown until a message goes through or someone retries."""

    target: str
    delivery_id: int
    event_id: int
    since: datetime
    """When the failing delivery was queued (or queued again by a retry)."""
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    gave_up: bool = False

    @classmethod
    def of(cls, head: DeliveryView, *, gave_up: bool) -> FailingTarget:
        """The target of ``head``, its failing (or given-up) delivery."""
        return cls(
            target=head.target,
            delivery_id=head.id,
            event_id=head.event_id,
            since=head.queued_at,
            attempts=head.attempts,
            next_attempt_at=None if gave_up else head.next_attempt_at,
            last_error=head.last_error,
            gave_up=gave_up,
        )


class NotifierCounts:
    """What the notifier did since it started (for tests, benchmarks and logs)."""

    __slots__ = ("delivered", "failed", "fanned_out", "gave_up", "reminders", "turns")

    def __init__(self) -> None:
        self.fanned_out = self.delivered = self.failed = self.gave_up = 0
        self.reminders = self.turns = 0

    def add(self, outcome: RunOutcome) -> None:
        self.delivered += outcome.delivered
        self.failed += outcome.failed
        self.gave_up += outcome.gave_up


class Notifier:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        targets: Mapping[str, Target],
        clock: Callable[[], datetime],
        *,
        poll_seconds: float = 1.0,
        reminder_seconds: float = 5.0,
        claimant: str | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.targets = targets
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.reminder_seconds = reminder_seconds
        self.claimant = claimant or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = timedelta(seconds=settings.notify_claim_seconds)
        self.give_up = settings.give_up_after
        self.counts = NotifierCounts()
        self._sending: dict[str, asyncio.Future[RunOutcome]] = {}
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._threads: ThreadPoolExecutor | None = None
        self._last_reminders = float("-inf")
        self._stopping = False
        self._last_failing = float("-inf")
        self.failing: Mapping[str, FailingTarget] = {}
        """Each configured target whose queue is failing now (replaced, never mutated)."""

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._threads = ThreadPoolExecutor(
            max_workers=MAX_PARALLEL_TARGETS + 1, thread_name_prefix="signalbox-notify"
        )
        self._task = self._loop.create_task(self._run(), name="signalbox-notifier")

    async def stop(self) -> None:
        """End the loop between turns (a turn cancelled while its claim commits in a thread
        would leave the claimed deliveries ``sending`` until the claim runs out), then wait
        for the runs in flight to send and settle."""
        if self._task is not None:
            self._stopping = True
            self.poke()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), STOP_SECONDS)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        for running in list(self._sending.values()):
            with contextlib.suppress(Exception):
                await running  # a run in flight ends its sends and settles them
        if self._threads is not None:
            self._threads.shutdown(wait=True)
            self._threads = None

    def poke(self) -> None:
        """Something may be waiting to be sent: turn now (safe from any thread)."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            loop.call_soon_threadsafe(wake.set)

    def failing_for(self, environment: str) -> tuple[FailingTarget, ...]:
        """The failing targets that hear of ``environment``, by name."""
        failing = self.failing
        return tuple(
            failing[name]
            for name in sorted(failing)
            if (target := self.targets.get(name)) is not None
            and (target.environments is None or environment in target.environments)
        )

    # -- the loop --------------------------------------------------------------------------------

    async def _in_thread(self, work: Callable[[], T]) -> T:
        assert self._loop is not None
        return await self._loop.run_in_executor(self._threads, work)

    async def _run(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            self._wake.clear()
            try:
                busy = await self._turn()
            except Exception:  # the database is away for a moment: try again later
                log.warning("notify: a turn failed; will try again", exc_info=True)
                busy = False
            if busy or self._stopping:
                await asyncio.sleep(0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def _turn(self) -> bool:
        self.counts.turns += 1
        assert self._loop is not None
        if self._loop.time() - self._last_reminders >= self.reminder_seconds:
            self._last_reminders = self._loop.time()
            self.counts.reminders += await self._in_thread(self._remind)
        if self._loop.time() - self._last_failing >= FAILING_REFRESH_SECONDS:
            self._last_failing = self._loop.time()
            self.failing = await self._in_thread(self._read_failing)
        fanned = await self._in_thread(self._fan_out)
        self.counts.fanned_out += fanned
        free = MAX_PARALLEL_TARGETS - len(self._sending)
        runs: dict[str, list[ClaimedDelivery]] = {}
        if free > 0 and self.targets:
            runs = await self._in_thread(lambda: self._claim(free))
        for target, run in runs.items():
            self._send(target, run)
        return fanned > 0 or bool(runs)

    def _remind(self) -> int:
        return remind_once(
            self.engine,
            now=self.clock(),
            remind_before=self.settings.reminder_lead,
            update_every=self.settings.update_reminder_every,
        )

    def _read_failing(self) -> dict[str, FailingTarget]:
        with UnitOfWork(self.engine, read_only=True) as uow:
            outbox = OutboxRepository(uow.session)
            given_up = outbox.given_up_heads(list(self.targets))
            failing = outbox.failing_heads(list(self.targets))
        found = {head.target: FailingTarget.of(head, gave_up=True) for head in given_up}
        # failing now says more than having given up before
        found.update({head.target: FailingTarget.of(head, gave_up=False) for head in failing})
        return found

    def _fan_out(self) -> int:
        return fan_out_once(self.engine, self.targets, now=self.clock(), give_up=self.give_up)

    def _claim(self, free: int) -> dict[str, list[ClaimedDelivery]]:
        return claim_runs(
            self.engine,
            claimant=self.claimant,
            now=self.clock(),
            lease=self.lease,
            targets=free,
            run=RUN_LENGTH,
            skip_targets=list(self._sending),
        )

    def _send(self, target: str, run: list[ClaimedDelivery]) -> None:
        def send() -> RunOutcome:
            return send_run(
                self.engine,
                self.settings,
                self.targets.get(target),
                run,
                claimant=self.claimant,
                clock=self.clock,
                give_up=self.give_up,
            )

        assert self._loop is not None
        future = asyncio.ensure_future(self._in_thread(send))
        self._sending[target] = future

        def done(finished: asyncio.Future[Any]) -> None:
            self._sending.pop(target, None)
            if not finished.cancelled() and finished.exception() is None:
                self.counts.add(finished.result())
            elif not finished.cancelled():
                log.warning(
                    "notify: sending to %s failed; its claims lapse and are taken again",
                    target,
                    exc_info=finished.exception(),
                )
            self.poke()

        future.add_done_callback(done)

"""The notifier: a loop in every ``signalbox serve`` that delivers the outbox, never on the
request path.

Each turn, in worker threads of its own (not the request handlers' pool):

1. every ``reminder_seconds``, write the reminders that are due (``reminders``);
2. in one write transaction (none when nothing waits), fan out the events not fanned out yet
   (``fan_out``) and claim runs of due deliveries, those just made included, for the targets
   it is not sending to already (``delivery.fan_out_and_claim``);
3. send each run in its own thread (``delivery.send_run``): a slow or failing target never
   holds up another.

It turns again at once while a turn left work behind (a full batch, a full run), and
otherwise sleeps until something changes (the change feed calls ``poke``), a run ends, or
``poll_seconds`` pass (events written by another server, a retry coming due). Woken by a
change, it waits ``gather_seconds`` more before its turn, so that a burst of events costs
one turn rather than one per event: the notifier shares the process (and its GIL) with the
request handlers, and each turn it saves is CPU they get.

Several servers on one PostgreSQL share the work: fan-out is one server at a time (an
advisory lock), claims skip rows another server holds (``FOR UPDATE SKIP LOCKED``), and a
server killed mid-delivery leaves its claims to lapse after ``notify_claim_seconds``, when
any server takes them again.

It also keeps ``failing``: each target whose queue is held by a failed delivery, read again
at most every ``FAILING_REFRESH_SECONDS`` (per target: its oldest open delivery in the
index of open deliveries, and its newest given-up one with whether anything was delivered
since, in the partial index of given-up deliveries), so that the environments' pictures
can show it without a query of their own.
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

from signalbox.services.notify.delivery import RunOutcome, fan_out_and_claim, send_run
from signalbox.services.notify.fan_out import FAN_OUT_BATCH
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
"""The notifier reads which targets are failing at most this often (once per turn)."""
GATHER_SECONDS = 0.1
"""After a change wakes the notifier, how long it lets further changes gather before its
turn: a burst of events costs one turn, at the price of this much delay."""
STOP_SECONDS = 10.0
"""At shutdown, how long the loop may take to finish its turn before it is cancelled."""


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
        gather_seconds: float = GATHER_SECONDS,
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
        self._urgent = False
        self.gather_seconds = gather_seconds
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

    def poke(self, *, urgent: bool = False) -> None:
        """Something may be waiting to be sent: turn soon, after ``gather_seconds`` so that
        the events of one burst go together, or at once when ``urgent`` (safe from any
        thread)."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return

        def wake_up() -> None:
            self._urgent = self._urgent or urgent
            wake.set()

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake_up()
        else:
            loop.call_soon_threadsafe(wake_up)

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
            self._urgent = False
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
            if self._wake.is_set() and not self._urgent and not self._stopping:
                # woken by a change: let the changes of the next moment gather, so that a
                # burst of events costs one turn (one write transaction), not one per event
                await asyncio.sleep(self.gather_seconds)

    async def _turn(self) -> bool:
        """One turn; True when it stopped short of what waits (a full batch fanned out, or a
        full run claimed): turn again at once."""
        self.counts.turns += 1
        assert self._loop is not None
        if self._loop.time() - self._last_reminders >= self.reminder_seconds:
            self._last_reminders = self._loop.time()
            self.counts.reminders += await self._in_thread(self._remind)
        if self._loop.time() - self._last_failing >= FAILING_REFRESH_SECONDS:
            self._last_failing = self._loop.time()
            self.failing = await self._in_thread(self._read_failing)
        free = MAX_PARALLEL_TARGETS - len(self._sending)
        fanned, runs = await self._in_thread(lambda: self._fan_out_and_claim(free))
        self.counts.fanned_out += fanned
        for target, run in runs.items():
            self._send(target, run)
        full_run = any(len(run) >= RUN_LENGTH for run in runs.values())
        return fanned >= FAN_OUT_BATCH or (full_run and len(self._sending) < MAX_PARALLEL_TARGETS)

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

    def _fan_out_and_claim(self, free: int) -> tuple[int, dict[str, list[ClaimedDelivery]]]:
        return fan_out_and_claim(
            self.engine,
            self.targets,
            claimant=self.claimant,
            now=self.clock(),
            lease=self.lease,
            give_up=self.give_up,
            free=free,
            run=RUN_LENGTH,
            skip_targets=list(self._sending),
        )

    def _send(self, target: str, run: list[ClaimedDelivery]) -> None:
        def send() -> RunOutcome:
            return send_run(
                self.engine,
                self.settings,
                self.targets[target],
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
            self.poke(urgent=len(run) >= RUN_LENGTH)  # a full run: more may wait behind it

        future.add_done_callback(done)

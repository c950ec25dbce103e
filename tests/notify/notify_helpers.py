"""Helpers for the notification service tests: targets to real loopback receivers, and one
turn of the notifier's work done synchronously (fan out, then claim and send until nothing is
due at the fake clock's now), as ``services.notify.worker`` does it in a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select

from signalbox.notify_settings import NotifyTarget
from signalbox.services.notify.delivery import claim_runs_in, send_run
from signalbox.services.notify.fan_out import fan_out_once
from signalbox.services.notify.reminders import remind_once
from signalbox.services.notify.targets import Target, build_targets
from signalbox.settings import Settings
from signalbox.storage.repositories.outbox import OutboxRepository
from signalbox.storage.tables import EventDeliveryRow, EventRow
from signalbox.storage.uow import UnitOfWork
from signalbox.testing import FakeClock

LEASE = timedelta(seconds=30)
RUN = 20


def notify_settings(settings: Settings, *targets: NotifyTarget, **server: Any) -> Settings:
    """``settings`` with these ``[[notify]]`` targets (and [server] values such as
    ``notify_give_up="2m"``)."""
    return replace(settings, notify=tuple(targets), **server)


def target(name: str, *urls: str, environments=None, events=None) -> NotifyTarget:  # type: ignore[no-untyped-def]
    fields: dict[str, Any] = {"name": name, "urls": tuple(urls), "environments": environments}
    if events is not None:
        fields["events"] = tuple(events)
    return NotifyTarget(**fields)


@dataclass
class Turn:
    fanned_out: int = 0
    delivered: int = 0
    failed: int = 0
    gave_up: int = 0
    released: int = 0
    reminded: int = 0


def _fan_out(
    engine: Engine, settings: Settings, clock: FakeClock, targets: Mapping[str, Target]
) -> int:
    fanned = 0
    while more := fan_out_once(engine, targets, now=clock.now(), give_up=settings.give_up_after):
        fanned += more
    return fanned


def _claim_and_send(
    engine: Engine,
    settings: Settings,
    clock: FakeClock,
    targets: Mapping[str, Target],
    turn: Turn,
    claimant: str,
) -> bool:
    """Claim the runs due now and send them, as the worker's threads do; whether any was."""
    with UnitOfWork(engine) as uow:
        runs = claim_runs_in(
            OutboxRepository(uow.session),
            claimant=claimant,
            now=clock.now(),
            lease=LEASE,
            targets=8,
            run=RUN,
            among=list(targets),  # as the worker does: only configured targets are claimed
        )
    for name, run in runs.items():
        outcome = send_run(
            engine,
            settings,
            targets[name],
            run,
            claimant=claimant,
            clock=clock.now,
            give_up=settings.give_up_after,
        )
        turn.delivered += outcome.delivered
        turn.failed += outcome.failed
        turn.gave_up += outcome.gave_up
        turn.released += outcome.released
    return bool(runs)


def deliver(
    engine: Engine,
    settings: Settings,
    clock: FakeClock,
    targets: Mapping[str, Target] | None = None,
    *,
    claimant: str = "server-a",
    remind: bool = False,
) -> Turn:
    """Everything the notifier would do at ``clock.now()``: reminders (when ``remind``), fan
    out every waiting event, then claim and send runs until nothing more is due now (a
    failed delivery waits for its next attempt: the fake clock must move)."""
    targets = build_targets(settings) if targets is None else targets
    turn = Turn()
    if remind:
        turn.reminded = remind_once(
            engine,
            now=clock.now(),
            remind_before=settings.reminder_lead,
            update_every=settings.update_reminder_every,
        )
    turn.fanned_out = _fan_out(engine, settings, clock, targets)
    for _ in range(1000):
        if not _claim_and_send(engine, settings, clock, targets, turn, claimant):
            return turn
    raise AssertionError("the notifier never ran out of due deliveries")


def deliver_once(
    engine: Engine, settings: Settings, clock: FakeClock, *, claimant: str = "server-a"
) -> Turn:
    """Fan out, then one claim and its runs sent: what one turn of one server does."""
    targets = build_targets(settings)
    turn = Turn(fanned_out=_fan_out(engine, settings, clock, targets))
    _claim_and_send(engine, settings, clock, targets, turn, claimant)
    return turn


def deliveries(engine: Engine, target: str | None = None) -> list[EventDeliveryRow]:
    """Every delivery row (of ``target``), oldest first, detached."""
    with UnitOfWork(engine, read_only=True) as uow:
        query = select(EventDeliveryRow).order_by(EventDeliveryRow.id)
        if target is not None:
            query = query.where(EventDeliveryRow.target == target)
        rows = list(uow.session.scalars(query))
        uow.session.expunge_all()
    return rows


def event_ids(engine: Engine, *kinds: str, environment: str | None = None) -> list[int]:
    """The ids of the events of these kinds, oldest first."""
    with UnitOfWork(engine, read_only=True) as uow:
        query = select(EventRow.id).order_by(EventRow.id)
        if kinds:
            query = query.where(EventRow.kind.in_(kinds))
        if environment is not None:
            query = query.where(EventRow.environment == environment)
        return list(uow.session.scalars(query))


def waiting_to_fan_out(engine: Engine) -> int:
    with UnitOfWork(engine, read_only=True) as uow:
        query = select(EventRow.id).where(EventRow.fanned_out_at.is_(None))
        return len(list(uow.session.scalars(query)))


def wait_until(condition: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    """Poll ``condition`` until it holds, or fail saying ``what`` was awaited (a deadline,
    never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout}s for {what}")
        pause.wait(0.01)

"""Timestamps never run backwards in the event log (issue 8): the time of a write is read
after its write lock, not before it.

Many threads write events at once with the real clock, each reading the time first as the
API does (``now=clock.now()``) and then queueing for the write lock. With the server's clock
attached to the engine (``attach_clock``), the event log ordered by id has non-decreasing
times: globally on SQLite (one writer at a time), per environment on PostgreSQL (writers of
one environment queue on its row; different environments commit side by side, and their
ids are taken from a sequence in no common order with their times).

The race's outcome depends on the scheduler, so the mechanism is also shown without one:
a write that read its time before another but took the lock after it is stamped after it
with the clock attached, and a second earlier without (the control, as before the fix).
"""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from signalbox.core.views import Principal
from signalbox.services.clock import SystemClock, attach_clock
from signalbox.services.holds import acquire_hold, release_hold
from signalbox.services.reservations import ReservationCreate, create_reservation
from signalbox.storage.tables import EventRow
from signalbox.storage.uow import UnitOfWork
from signalbox.testing import FakeClock

THREADS = 8
ROUNDS = 15


def race(engine) -> list[tuple[int, str | None, datetime]]:
    """THREADS threads, each ROUNDS times: read the clock, then hold and release an
    environment (dev or prod) or book a window: every step writes an event."""
    clock = SystemClock()
    start = threading.Barrier(THREADS)
    failures: list[BaseException] = []

    def work(index: int) -> None:
        who = Principal(f"user-{index}", False)
        env = "dev" if index % 2 else "prod"
        try:
            start.wait()
            for round_number in range(ROUNDS):
                if round_number % 3 == 0:
                    now = clock.now()
                    window = now + timedelta(days=1, minutes=index * 60 + round_number)
                    request = ReservationCreate(
                        env,
                        window.isoformat(),
                        (window + timedelta(minutes=30)).isoformat(),
                        f"demo {index}",
                    )
                    create_reservation(engine, SETTINGS, request, owner=who, now=now)
                    continue
                granted = acquire_hold(
                    engine,
                    environment=env,
                    principal=who,
                    reason=f"round {round_number}",
                    duration=timedelta(minutes=5),
                    now=clock.now(),
                )
                if getattr(granted, "hold", None) is not None:
                    release_hold(engine, environment=env, principal=who, now=clock.now())
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert not any(thread.is_alive() for thread in threads)
    with UnitOfWork(engine, read_only=True) as uow:
        rows = uow.session.execute(
            select(EventRow.id, EventRow.environment, EventRow.at).order_by(EventRow.id)
        ).all()
    return [(row.id, row.environment, _aware(row.at)) for row in rows]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def backwards(events: list[tuple[int, str | None, datetime]], *, per_environment: bool):
    """The pairs of consecutive events (by id) whose times run backwards."""
    logs: dict[str | None, list[tuple[int, datetime]]] = defaultdict(list)
    for ident, environment, at in events:
        logs[environment if per_environment else None].append((ident, at))
    found = []
    for log in logs.values():
        for (first, first_at), (second, second_at) in itertools.pairwise(log):
            if second_at < first_at:
                found.append((first, first_at, second, second_at))
    return found


SETTINGS = None  # set by the fixture: the services' settings


@pytest.fixture
def attached(engine, settings):
    global SETTINGS
    SETTINGS = settings
    attach_clock(engine, SystemClock().now)
    yield engine
    attach_clock(engine, None)  # the PostgreSQL engine is shared between tests


def test_the_event_log_never_runs_backwards(attached) -> None:
    events = race(attached)
    assert len(events) > THREADS * ROUNDS // 3  # every booking, and the holds granted
    per_environment = attached.dialect.name == "postgresql"
    assert backwards(events, per_environment=per_environment) == []


def _read_early_lock_late(engine, *, clock: FakeClock) -> list[tuple[int, str | None, datetime]]:
    """Two writers, one after the other: ann reads the time first but takes the lock second
    (a request that waited for the lock), bob reads it a second later and writes first."""
    with UnitOfWork(engine, read_only=True) as uow:
        before = uow.session.scalar(select(func.coalesce(func.max(EventRow.id), 0)))
    early = clock.now()
    clock.advance(timedelta(seconds=1))
    for who, env, now in (("bob", "dev", clock.now()), ("ann", "prod", early)):
        acquire_hold(
            engine,
            environment=env,
            principal=Principal(who, False),
            reason="read early, locked late" if who == "ann" else "read late, locked early",
            duration=timedelta(minutes=5),
            now=now,
        )
    with UnitOfWork(engine, read_only=True) as uow:
        rows = uow.session.execute(
            select(EventRow.id, EventRow.environment, EventRow.at)
            .where(EventRow.id > before)
            .order_by(EventRow.id)
        ).all()
    return [(row.id, row.environment, _aware(row.at)) for row in rows]


def test_a_write_that_read_the_time_early_but_locked_late_is_stamped_after_the_lock(
    engine,
) -> None:
    clock = FakeClock()
    attach_clock(engine, clock.now)
    try:
        events = _read_early_lock_late(engine, clock=clock)
    finally:
        attach_clock(engine, None)
    assert len(events) == 2 and backwards(events, per_environment=False) == []


def test_without_the_clock_the_early_read_time_runs_backwards(engine) -> None:
    """The control (the time as the caller read it, as before the fix): the same two
    writes log the second event a second before the first."""
    events = _read_early_lock_late(engine, clock=FakeClock())
    assert len(backwards(events, per_environment=False)) == 1


def test_the_transaction_time_is_the_attached_clock_read_behind_the_lock(engine) -> None:
    asked = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    with UnitOfWork(engine) as uow:
        assert uow.now(asked) == asked  # no clock attached: the caller's time
    clock = FakeClock(asked + timedelta(seconds=5))
    attach_clock(engine, clock.now)
    try:
        with UnitOfWork(engine, read_only=True) as reader:
            assert reader.now(asked) == asked  # a read takes no lock: the caller's time
        with UnitOfWork(engine) as uow:
            uow.lock_environment("dev")
            first = uow.now(asked)
            clock.advance(timedelta(seconds=1))
            assert first == uow.now(asked) == asked + timedelta(seconds=5)  # read once
            assert uow.now(asked + timedelta(hours=1)) == asked + timedelta(
                hours=1
            )  # never earlier
    finally:
        attach_clock(engine, None)

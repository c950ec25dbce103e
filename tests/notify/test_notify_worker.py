"""The notifier loop itself (``services.notify.worker.Notifier``) on its own event loop, with
a fake clock, delivering to real receivers; and, on PostgreSQL, two notifiers (two servers)
sharing one database: each message once, in order per target, and each reminder once."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from tests.notify.notify_helpers import (
    deliveries,
    event_ids,
    notify_settings,
    target,
    wait_until,
)
from tests.services.deploy_helpers import ENGINEER, engineer_holds_dev

from signalbox.core.views import Principal
from signalbox.services.holds import release_hold
from signalbox.services.incidents import open_incident
from signalbox.services.notify.reminders import remind_once
from signalbox.services.notify.targets import build_targets
from signalbox.services.notify.worker import Notifier
from signalbox.services.reservations import ReservationCreate, create_reservation
from signalbox.settings import Settings
from signalbox.storage.engine import build_engine
from signalbox.testing import FakeClock

HOLD_KINDS = ("hold.granted", "hold.released")


@contextlib.contextmanager
def running(
    engine: Engine, settings: Settings, clock: FakeClock, *, claimant: str = "a"
) -> Iterator[Notifier]:
    """A Notifier started on an event loop of its own (a thread), as ``signalbox serve``
    runs it; stopped (its runs in flight settled) on the way out."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name=f"notifier-{claimant}", daemon=True)
    thread.start()
    notifier = Notifier(
        engine, settings, build_targets(settings), clock.now, poll_seconds=0.2, claimant=claimant
    )

    async def start() -> None:
        notifier.start()

    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    try:
        yield notifier
    finally:
        asyncio.run_coroutine_threadsafe(notifier.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def hold_and_release(engine, clock, times: int = 1) -> None:
    for _ in range(times):
        engineer_holds_dev(engine, clock)
        clock.advance(timedelta(seconds=1))
        release_hold(engine, environment="dev", principal=ENGINEER, now=clock.now())
        clock.advance(timedelta(seconds=1))


def test_the_notifier_delivers_what_is_written_while_it_runs(
    engine, settings, clock, http_receiver
):
    settings = notify_settings(settings, target("dev-channel", http_receiver.url("json")))
    with running(engine, settings, clock) as notifier:
        hold_and_release(engine, clock)
        notifier.poke()  # as the change feed does after a commit
        posts = http_receiver.wait_for(2)
        hold_and_release(engine, clock)  # not poked: found by its next poll
        posts = http_receiver.wait_for(4)
    assert [p.title for p in posts] == ["dev: hold granted", "dev: hold released"] * 2
    assert [p.event_id for p in posts] == event_ids(engine, *HOLD_KINDS)
    assert notifier.counts.delivered == 4 and notifier.counts.failed == 0


def test_the_notifier_retries_on_the_clocks_schedule(engine, settings, clock, http_receiver):
    settings = notify_settings(settings, target("dev-channel", http_receiver.url("json")))
    http_receiver.fail(500)
    with running(engine, settings, clock) as notifier:
        hold_and_release(engine, clock)
        notifier.poke()
        http_receiver.wait_for_attempts(1)
        wait_until(lambda: notifier.counts.failed == 1, "the failure to be settled")
        http_receiver.answer_ok()
        clock.advance(timedelta(seconds=9))
        notifier.poke()
        clock.advance(timedelta(seconds=1))  # now due: the poll finds it
        posts = http_receiver.wait_for(2)
    assert [p.event_id for p in posts] == event_ids(engine, *HOLD_KINDS)
    assert notifier.counts.failed == 1 and len(http_receiver.attempts) == 3


def test_a_target_that_hangs_holds_up_no_other(
    engine, settings, clock, http_receiver, second_http_receiver
):
    slow, fast = http_receiver, second_http_receiver
    settings = notify_settings(
        settings,
        target("slow", slow.url("json", "/slow?rto=5")),
        target("fast", fast.url("json", "/fast")),
    )
    slow.hang()
    with running(engine, settings, clock) as notifier:
        hold_and_release(engine, clock, times=2)
        notifier.poke()
        slow.wait_for_hung(1)
        assert len(fast.wait_for(4)) == 4  # while the slow one still waits for its answer
        assert slow.posts == [] and len(slow.hung) == 1
        slow.answer_ok()  # the hung request is dropped: that attempt fails
    first = deliveries(engine, "slow")[0]
    assert (first.state, first.attempts) == ("failed", 1)


# -- two servers on one PostgreSQL ----------------------------------------------------------


def second_engine(engine: Engine) -> Engine:
    """Another connection pool to the same database, as a second server has."""
    return build_engine(engine.url.render_as_string(hide_password=False))


@pytest.mark.postgres
def test_two_notifiers_on_one_database_deliver_each_message_once_in_order(
    postgres_engine, settings, clock, http_receiver, second_http_receiver
):
    from signalbox.services.environments import sync_environments
    from signalbox.testing import empty_tables

    engine = postgres_engine
    empty_tables(engine)
    sync_environments(engine, settings, now=clock.now())
    settings = notify_settings(
        settings,
        target("one", http_receiver.url("json", "/one")),
        target("two", second_http_receiver.url("form", "/two")),
    )
    other = second_engine(engine)
    try:
        with (
            running(engine, settings, clock, claimant="a") as a,
            running(other, settings, clock, claimant="b") as b,
        ):
            for _ in range(15):
                hold_and_release(engine, clock)
                a.poke()
                b.poke()
            http_receiver.wait_for(30, timeout=30)
            second_http_receiver.wait_for(30, timeout=30)
        # both stopped: nothing is in flight any more
        wanted = event_ids(engine, *HOLD_KINDS)
        assert [p.event_id for p in http_receiver.posts] == wanted
        assert [p.event_id for p in second_http_receiver.posts] == wanted
        assert len(http_receiver.attempts) == len(second_http_receiver.attempts) == 30
        assert {(row.state, row.attempts) for row in deliveries(engine)} == {("delivered", 1)}
        assert a.counts.delivered + b.counts.delivered == 60
    finally:
        other.dispose()


@pytest.mark.postgres
def test_servers_reminding_at_once_remind_once(postgres_engine, settings, clock):
    """Four servers (engines) look for due reminders at the same instant: one reservation
    starting soon and one incident without an update are each told once."""
    from signalbox.services.environments import sync_environments
    from signalbox.testing import empty_tables

    engine = postgres_engine
    empty_tables(engine)
    sync_environments(engine, settings, now=clock.now())
    open_incident(
        engine, settings, environment="dev", title="users cannot log in", severity="sev1",
        opener=Principal("alice", is_ci=False), now=clock.now(),
    )  # fmt: skip
    create_reservation(
        engine, settings, ReservationCreate("prod", "12:40", "13:40", "investor demo"),
        owner=Principal("coo", is_ci=False), now=clock.now(),
    )  # fmt: skip  # prod is in UTC: starts 40 minutes from now
    clock.advance(timedelta(minutes=31))
    engines = [engine, second_engine(engine), second_engine(engine), second_engine(engine)]
    start = threading.Barrier(len(engines))
    told: list[int] = []

    def remind(on: Engine) -> None:
        start.wait(timeout=10)
        told.append(
            remind_once(
                on,
                now=clock.now(),
                remind_before=timedelta(minutes=15),
                update_every=timedelta(minutes=30),
            )
        )

    threads = [threading.Thread(target=remind, args=(on,)) for on in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for on in engines[1:]:
        on.dispose()
    assert sum(told) == 2 and len(told) == 4
    assert len(event_ids(engine, "incident.update-due")) == 1
    assert len(event_ids(engine, "reservation.starting-soon")) == 1

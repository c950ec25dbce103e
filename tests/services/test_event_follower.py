"""``services.event_stream.EventFollower``, what `signalbox watch` reads through the stream:
each event handed out once, oldest first, in the caller's scope, told in its environment's
zone; and (PostgreSQL) an event whose transaction commits after a later one's is still
handed out, once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from signalbox.core.views import Principal
from signalbox.services.event_stream import BATCH, WINDOW, EventFollower
from signalbox.services.holds import acquire_hold, release_hold
from signalbox.storage.uow import UnitOfWork

ZONES = {"dev": "Europe/Berlin", "prod": "UTC"}
ENGINEER = Principal("platform-eng", is_ci=False)


def follower(engine, **options):  # type: ignore[no-untyped-def]
    scope = {"environments": None, "include_global": True, **options}
    return EventFollower(engine, timezone=lambda name: ZONES.get(name or "", "UTC"), **scope)


def add(engine, clock, environment: str | None, kind: str = "note.added", count: int = 1) -> None:  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        for number in range(count):
            uow.events.add(
                environment=environment,
                at=clock.now(),
                actor="platform-eng",
                kind=kind,
                message=f"{kind} {number}",
                data={},
            )


def hold(engine, clock, environment: str = "dev") -> None:  # type: ignore[no-untyped-def]
    acquire_hold(
        engine,
        environment=environment,
        principal=ENGINEER,
        reason="renaming the pool",
        duration=timedelta(hours=2),
        now=clock.now(),
    )


def test_it_starts_at_the_end_of_the_log_and_hands_out_each_new_event_once(engine, clock):
    hold(engine, clock)
    following = follower(engine)
    start = following.start()
    assert following.read(clock.now()) == []  # what was there before is not news

    release_hold(engine, environment="dev", principal=ENGINEER, now=clock.now())
    hold(engine, clock, "prod")
    found = following.read(clock.now())
    assert [(e.kind, e.environment) for e in found] == [
        ("hold.released", "dev"),
        ("hold.granted", "prod"),
    ]
    assert all(event.id > start for event in found)
    assert found[0].id < found[1].id and following.cursor == found[1].id
    assert following.read(clock.now()) == []


def test_events_are_told_in_their_environments_zone_as_of_now(engine, clock):
    following = follower(engine)
    following.start()
    hold(engine, clock)  # clock: 2026-11-26 12:00 UTC, 13:00 in Berlin
    [granted] = following.read(clock.now())
    assert granted.message == "platform-eng held dev for 2h (until 15:00 CET): renaming the pool."
    [again] = follower(engine, after=granted.id - 1).read(clock.now() + timedelta(days=2))
    assert "(until Thu 26 Nov 15:00 CET)" in again.message  # another day: told with the day


def test_after_an_id_it_hands_out_what_came_after_it_in_scope(engine, clock):
    add(engine, clock, "dev", count=3)
    add(engine, clock, "prod")
    add(engine, clock, None, kind="token.created")
    with UnitOfWork(engine, read_only=True) as uow:
        last = uow.events.last_id()
    dev_only = follower(engine, environments=["dev"], include_global=False, after=last - 4)
    assert [e.message for e in dev_only.read(clock.now())] == ["note.added 1", "note.added 2"]
    without_global = follower(engine, environments=["dev", "prod"], include_global=False, after=0)
    assert {e.environment for e in without_global.read(clock.now())} == {"dev", "prod"}
    everything = follower(engine, after=last - 1)
    assert [e.kind for e in everything.read(clock.now())] == ["token.created"]


def test_a_long_backlog_comes_in_batches_saying_there_is_more(engine, clock):
    following = follower(engine)
    following.start()
    add(engine, clock, "dev", count=WINDOW + BATCH + 5)
    first = following.read(clock.now())
    assert following.more and len(first) <= WINDOW + BATCH
    rest = following.read(clock.now())
    assert not following.more
    ids = [event.id for event in first + rest]
    assert len(ids) == WINDOW + BATCH + 5 and ids == sorted(set(ids))
    assert following.read(clock.now()) == []


def test_an_event_committed_after_a_later_one_is_still_handed_out_once(engine, clock):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: ids are committed in order there")
    following = follower(engine)
    following.start()
    inserted, commit = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def slow_writer() -> None:
        try:
            with UnitOfWork(engine) as uow:
                uow.events.add(
                    environment="dev",
                    at=clock.now(),
                    actor="ci-dev",
                    kind="note.added",
                    message="the slow one",
                    data={},
                )
                inserted.set()
                assert commit.wait(30)
        except BaseException as failure:  # surfaced by the test below
            failures.append(failure)
            inserted.set()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    try:
        assert inserted.wait(30) and not failures
        add(engine, clock, "dev", kind="note.added")  # a later id, committed first
        [later] = following.read(clock.now())
        assert later.message == "note.added 0"
    finally:
        commit.set()
        writer.join(30)
    assert not failures
    [slow] = following.read(clock.now())
    assert slow.message == "the slow one" and slow.id < later.id
    assert following.read(clock.now()) == []
    # a follower that starts after both (a reconnecting client) does not hand them out again
    assert follower(engine, after=later.id).read(clock.now()) == []

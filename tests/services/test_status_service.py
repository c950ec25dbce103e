"""The environment pictures from the database: the same picture the rules give, for one or
all environments, with a fixed number of queries (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import event
from tests.services.deploy_helpers import COGNITO_PLAN, COO, ENGINEER, deploy, finish, heartbeat

from signalbox.core.errors import UnknownEnvironment
from signalbox.core.status import EnvironmentState
from signalbox.services.deploys import expire_stale_deploys, touch_waiting
from signalbox.services.environments import sync_environments
from signalbox.services.holds import acquire_hold, release_hold
from signalbox.services.reservations import ReservationCreate, create_reservation
from signalbox.services.status import PictureCache, environment_picture, environment_pictures
from signalbox.settings import EnvironmentConfig, Settings


@contextlib.contextmanager
def counted(engine) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(("BEGIN", "ROLLBACK", "COMMIT", "PRAGMA")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_story_picture_lists_the_hold_and_the_demo_a_deploy_would_overlap(
    engine, settings, clock
) -> None:
    acquire_hold(
        engine,
        environment="dev",
        principal=ENGINEER,
        reason="renaming cognito pool",
        duration=timedelta(hours=4),
        now=clock.now(),
    )
    starts = clock.now() + timedelta(minutes=10)
    create_reservation(
        engine,
        settings,
        ReservationCreate(
            "dev", starts.isoformat(), (starts + timedelta(hours=1)).isoformat(), "investor demo"
        ),
        owner=COO,
        now=clock.now(),
    )
    dev = environment_picture(engine, settings, "dev", now=clock.now())
    assert dev.state is EnvironmentState.HELD
    assert dev.hold is not None and dev.hold.owner.name == "platform-eng"
    assert [b.reason for b in dev.blocking] == ["held", "reserved"]
    assert dev.next_reservation is not None and dev.next_reservation.reason == "investor demo"
    assert dev.next_reservation_overlaps_deploy  # dev's deploys take 17 minutes
    assert dev.expected_deploy == timedelta(minutes=17)
    prod = environment_picture(engine, settings, "prod", now=clock.now())
    assert prod.state is EnvironmentState.FREE and prod.blocking == ()


def test_a_waiting_deploy_shows_in_the_queue_with_its_plan(engine, settings, clock) -> None:
    answer = deploy(engine, settings, clock, plan=COGNITO_PLAN)
    assert answer.decision == "needs-approval"
    dev = environment_picture(engine, settings, "dev", now=clock.now())
    assert dev.state is EnvironmentState.QUEUED
    [waiting] = dev.queue
    assert waiting.id == answer.deploy.id and waiting.position == 1
    assert waiting.plan is not None and "aws_cognito_user_pool.main" in waiting.plan.destroys
    clock.advance(timedelta(minutes=5))  # its gate stopped asking: no longer waiting
    assert environment_picture(engine, settings, "dev", now=clock.now()).queue == ()


def test_the_running_and_the_last_deploy(engine, settings, clock) -> None:
    started = deploy(engine, settings, clock)
    assert started.decision == "go"
    dev = environment_picture(engine, settings, "dev", now=clock.now())
    assert dev.state is EnvironmentState.DEPLOYING and dev.running is not None
    assert dev.running.id == started.deploy.id and dev.last_deploy is None
    clock.advance(timedelta(seconds=30))  # within the deploy's lease
    finish(engine, settings, clock, started)
    dev = environment_picture(engine, settings, "dev", now=clock.now())
    assert dev.state is EnvironmentState.FREE and dev.running is None
    assert dev.last_deploy is not None and dev.last_deploy.state == "succeeded"
    # one quick deploy (60 s) does not shrink the estimate below the configured 17m
    assert dev.expected_deploy == timedelta(minutes=17)


def test_a_deploy_whose_runner_died_is_the_last_deploy_once_tidied(engine, settings, clock) -> None:
    started = deploy(engine, settings, clock)
    clock.advance(timedelta(minutes=5))  # no heartbeat: the lease lapsed
    assert environment_picture(engine, settings, "dev", now=clock.now()).running is None
    expire_stale_deploys(engine, now=clock.now())
    dev = environment_picture(engine, settings, "dev", now=clock.now())
    assert dev.last_deploy is not None and dev.last_deploy.id == started.deploy.id
    assert dev.last_deploy.outcome == "lease-lapsed"
    assert dev.expected_deploy == timedelta(minutes=17)  # a failure teaches no duration


def test_an_unknown_environment_is_named(engine, settings, clock) -> None:
    with pytest.raises(UnknownEnvironment, match="stagign"):
        environment_pictures(engine, settings, names=["dev", "stagign"], now=clock.now())


def _many(count: int) -> Settings:
    return Settings(
        environments={
            f"env{index:03d}": EnvironmentConfig(f"env{index:03d}", timezone="UTC")
            for index in range(count)
        }
    )


def test_the_number_of_queries_does_not_grow_with_the_environments(database, clock) -> None:
    few, many = _many(2), _many(40)
    sync_environments(database, many, now=clock.now())
    for name in many.environments:
        acquire_hold(
            database,
            environment=name,
            principal=ENGINEER,
            reason="work",
            duration=timedelta(hours=1),
            now=clock.now(),
        )
    with counted(database) as for_few:
        environment_pictures(database, few, names=list(few.environments), now=clock.now())
    with counted(database) as for_many:
        pictures = environment_pictures(database, many, names=None, now=clock.now())
    assert len(pictures) == 40 and all(p.state is EnvironmentState.HELD for p in pictures)
    assert len(for_many) == len(for_few) <= 10


def test_a_kept_picture_costs_one_query_while_nothing_changes(engine, settings, clock) -> None:
    cache = PictureCache()
    first = environment_pictures(engine, settings, names=None, now=clock.now(), cache=cache)
    with counted(engine) as statements:
        again = environment_pictures(engine, settings, names=None, now=clock.now(), cache=cache)
    assert [a is b for a, b in zip(again, first, strict=True)] == [True, True]
    assert len(statements) == 1  # the environments and their versions


def test_a_change_ends_the_kept_picture_of_that_environment_only(engine, settings, clock) -> None:
    cache = PictureCache()
    dev, prod = environment_pictures(engine, settings, names=None, now=clock.now(), cache=cache)
    assert dev.state is EnvironmentState.FREE
    acquire_hold(
        engine,
        environment="dev",
        principal=ENGINEER,
        reason="renaming cognito pool",
        duration=timedelta(minutes=30),
        now=clock.now(),
    )
    dev2, prod2 = environment_pictures(engine, settings, names=None, now=clock.now(), cache=cache)
    assert dev2.state is EnvironmentState.HELD and prod2 is prod
    clock.advance(timedelta(minutes=31))  # the hold lapses: no event yet, time alone
    dev3 = environment_picture(engine, settings, "dev", now=clock.now(), cache=cache)
    assert dev3.state is EnvironmentState.FREE and dev3.hold is None
    assert dev3 == environment_picture(engine, settings, "dev", now=clock.now())


def test_a_waiting_gate_that_keeps_asking_stays_in_the_kept_picture(
    engine, settings, clock
) -> None:
    cache = PictureCache()
    waiting = deploy(engine, settings, clock, plan=COGNITO_PLAN)
    seen = environment_picture(engine, settings, "dev", now=clock.now(), cache=cache)
    assert [d.id for d in seen.queue] == [waiting.deploy.id]
    for _ in range(4):  # the gate's keep-alive: no event, the deadline moves on
        clock.advance(timedelta(seconds=60))
        touch_waiting(engine, [waiting.deploy.id], now=clock.now())
        seen = environment_picture(engine, settings, "dev", now=clock.now(), cache=cache)
        assert [d.id for d in seen.queue] == [waiting.deploy.id]
    clock.advance(timedelta(minutes=2))  # the gate went away
    assert environment_picture(engine, settings, "dev", now=clock.now(), cache=cache).queue == ()


def test_a_heartbeat_shows_in_the_kept_picture(engine, settings, clock) -> None:
    """A heartbeat moves the deploy hold's ``until`` and writes no event: the kept picture
    must not show the lease it replaced."""
    cache = PictureCache()
    started = deploy(engine, settings, clock)
    before = environment_picture(engine, settings, "dev", now=clock.now(), cache=cache)
    clock.advance(timedelta(seconds=20))
    heartbeat(engine, settings, clock, started)
    kept = environment_picture(engine, settings, "dev", now=clock.now(), cache=cache)
    assert kept == environment_picture(engine, settings, "dev", now=clock.now())
    assert kept.hold is not None and before.hold is not None
    assert kept.hold.until == before.hold.until + timedelta(seconds=20)


def test_pictures_read_while_holds_change_end_as_the_database_says(engine, settings, clock) -> None:
    """Readers and a writer race; once the writer is done, the kept pictures are the ones
    computed afresh."""
    cache = PictureCache()
    done = threading.Event()
    failures: list[BaseException] = []

    def read() -> None:
        try:
            while not done.is_set():
                environment_pictures(engine, settings, names=None, now=clock.now(), cache=cache)
        except BaseException as error:
            failures.append(error)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        for round_ in range(15):
            acquire_hold(
                engine,
                environment="dev" if round_ % 2 else "prod",
                principal=ENGINEER,
                reason=f"round {round_}",
                duration=timedelta(hours=1),
                now=clock.now(),
            )
            if round_ < 14:  # the last hold (prod's) stays
                environment = "dev" if round_ % 2 else "prod"
                release_hold(engine, environment=environment, principal=ENGINEER, now=clock.now())
    finally:
        done.set()
        for reader in readers:
            reader.join()
    assert failures == []
    kept = environment_pictures(engine, settings, names=None, now=clock.now(), cache=cache)
    assert kept == environment_pictures(engine, settings, names=None, now=clock.now())
    assert [p.state for p in kept] == [EnvironmentState.FREE, EnvironmentState.HELD]

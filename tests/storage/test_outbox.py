"""The outbox queries the notifier builds on, on SQLite and PostgreSQL: fan-out, claims in
order per target, settling fenced by the claim, giving up and retrying, and (PostgreSQL) two
servers claiming at once without waiting for each other."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, Row, select
from sqlalchemy.exc import IntegrityError

from signalbox.storage.repositories.outbox import (
    MAX_ERROR_CHARS,
    ClaimedDelivery,
    OutboxRepository,
)
from signalbox.storage.tables import DeliveryState, EventDeliveryRow, EventRow
from signalbox.storage.uow import UnitOfWork
from signalbox.testing import FakeClock

LEASE = timedelta(seconds=30)
SLACK = "ops-slack"
MAIL = "ops-mail"


def add_events(engine: Engine, clock: FakeClock, *kinds: str) -> list[int]:
    """Write one event per kind, as services do; returns their ids."""
    with UnitOfWork(engine) as uow:
        for kind in kinds:
            uow.events.add(
                environment="dev",
                at=clock.now(),
                actor="platform-eng",
                kind=kind,
                message=f"{kind} happened.",
                data={"reason": "renaming cognito pool"},
                schema_version=1,
            )
        ids = uow.session.scalars(select(EventRow.id).order_by(EventRow.id)).all()
    return list(ids[-len(kinds) :])


def fan_out(engine: Engine, clock: FakeClock, targets: tuple[str, ...] = (SLACK,)) -> list[int]:
    """Fan every waiting event out to ``targets``; returns the event ids it handled."""
    with UnitOfWork(engine) as uow:
        outbox = OutboxRepository(uow.session)
        assert outbox.lock_fan_out()
        events = outbox.to_fan_out(limit=100)
        ids = [event.id for event in events]
        pairs = [(event_id, target) for event_id in ids for target in targets]
        outbox.fan_out(event_ids=ids, deliveries=pairs, now=clock.now())
    return ids


def claim(engine: Engine, clock: FakeClock, server: str = "a", limit: int = 10):  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        return OutboxRepository(uow.session).claim_due(
            claimant=server, now=clock.now(), lease=LEASE, limit=limit, among=(SLACK, MAIL)
        )


def settle(
    engine: Engine, clock: FakeClock, claimed: ClaimedDelivery, server: str = "a", **failure
):  # type: ignore[no-untyped-def]
    with UnitOfWork(engine) as uow:
        outbox = OutboxRepository(uow.session)
        if failure:
            return outbox.mark_failed(claimed, claimant=server, **failure)
        return outbox.mark_delivered(claimed, claimant=server, now=clock.now())


def delivery_rows(engine: Engine) -> list[Row[Any]]:
    """Every delivery row as stored (plain rows: they outlive the unit of work)."""
    table = EventDeliveryRow.__table__
    with UnitOfWork(engine, read_only=True) as uow:
        return list(uow.session.execute(select(table).order_by(table.c.id)))


def test_fan_out_hands_each_event_out_once_oldest_first(database, clock):
    first, second = add_events(database, clock, "hold.granted", "hold.released")
    assert fan_out(database, clock, (SLACK, MAIL)) == [first, second]
    assert fan_out(database, clock) == []
    later = add_events(database, clock, "hold.lapsed")
    assert fan_out(database, clock, targets=()) == later  # no target wants it: marked all the same
    assert fan_out(database, clock) == []
    rows = delivery_rows(database)
    assert [(row.event_id, row.target, row.state, row.attempts) for row in rows] == [
        (first, SLACK, "pending", 0),
        (first, MAIL, "pending", 0),
        (second, SLACK, "pending", 0),
        (second, MAIL, "pending", 0),
    ]
    with UnitOfWork(database, read_only=True) as uow:
        marked = uow.session.scalars(select(EventRow.fanned_out_at)).all()
    assert marked == [clock.now()] * 3


def test_an_event_is_delivered_to_a_target_at_most_once_per_fan_out(database, clock):
    (event_id,) = add_events(database, clock, "hold.granted")
    fan_out(database, clock)
    with pytest.raises(IntegrityError), UnitOfWork(database) as uow:
        OutboxRepository(uow.session).fan_out(
            event_ids=[], deliveries=[(event_id, SLACK)], now=clock.now()
        )


def test_claims_take_each_targets_oldest_delivery_with_its_event(database, clock):
    first, second = add_events(database, clock, "hold.granted", "hold.released")
    fan_out(database, clock, (SLACK, MAIL))
    claimed = claim(database, clock)
    assert [(c.target, c.event.id, c.attempt) for c in claimed] == [
        (SLACK, first, 1),
        (MAIL, first, 1),
    ]
    event = claimed[0].event
    assert (event.kind, event.environment, event.actor, event.schema_version) == (
        "hold.granted",
        "dev",
        "platform-eng",
        1,
    )
    assert event.data == {"reason": "renaming cognito pool"} and event.at == clock.now()
    assert claimed[0].claimed_until == clock.now() + LEASE
    assert claim(database, clock, "b") == []  # the heads are being sent; the next must wait

    assert settle(database, clock, claimed[0])
    (next_one,) = claim(database, clock, "b")
    assert (next_one.target, next_one.event.id) == (SLACK, second)
    slack_first = delivery_rows(database)[0]
    assert (slack_first.state, slack_first.delivered_at, slack_first.claimed_by) == (
        "delivered",
        clock.now(),
        None,
    )


def test_a_failed_attempt_waits_for_its_time_and_holds_the_targets_queue(database, clock):
    first, _second = add_events(database, clock, "hold.granted", "hold.released")
    fan_out(database, clock)
    (claimed,) = claim(database, clock)
    url = "slack://T000/B000/XXXXsecretXXXX"
    retry_at = clock.now() + timedelta(minutes=1)
    assert settle(
        database, clock, claimed, error=f"503 from {url}", retry_at=retry_at, redact=[url]
    )
    row = delivery_rows(database)[0]
    assert (row.state, row.attempts, row.next_attempt_at) == ("failed", 1, retry_at)
    assert row.last_error == "503 from [redacted]" and "secret" not in row.last_error

    assert claim(database, clock) == []  # not due, and the later event may not overtake it
    clock.advance(timedelta(minutes=1))
    (again,) = claim(database, clock)
    assert (again.event.id, again.attempt) == (first, 2)


def test_errors_are_cut_to_size(database, clock):
    add_events(database, clock, "hold.granted")
    fan_out(database, clock)
    (claimed,) = claim(database, clock)
    settle(database, clock, claimed, error="x" * 10_000, retry_at=clock.now())
    assert len(delivery_rows(database)[0].last_error or "") == MAX_ERROR_CHARS


def test_giving_up_frees_the_queue_and_a_retry_queues_it_again_first(database, clock):
    first, second = add_events(database, clock, "hold.granted", "hold.released")
    fan_out(database, clock)
    (claimed,) = claim(database, clock)
    assert settle(database, clock, claimed, error="410 gone", retry_at=None)
    assert delivery_rows(database)[0].state == DeliveryState.GIVEN_UP

    with UnitOfWork(database, read_only=True) as uow:
        outbox = OutboxRepository(uow.session)
        (troubled,) = outbox.troubled()
        assert (troubled.event_id, troubled.state, troubled.last_error) == (
            first,
            DeliveryState.GIVEN_UP,
            "410 gone",
        )
        assert outbox.backlog() == {SLACK: 1}

    clock.advance(timedelta(hours=1))
    with UnitOfWork(database) as uow:
        assert OutboxRepository(uow.session).retry(target=SLACK, now=clock.now()) == 1
        assert OutboxRepository(uow.session).retry(target=MAIL, now=clock.now()) == 0
    (retried,) = claim(database, clock)
    assert (retried.event.id, retried.attempt, retried.queued_at) == (first, 1, clock.now())
    assert settle(database, clock, retried)
    (then,) = claim(database, clock)
    assert then.event.id == second


def test_a_claim_that_ran_out_is_taken_again_and_the_late_server_cannot_settle_it(database, clock):
    add_events(database, clock, "hold.granted")
    fan_out(database, clock)
    (lost,) = claim(database, clock, "a")
    clock.advance(LEASE - timedelta(seconds=1))
    assert claim(database, clock, "b") == []
    clock.advance(timedelta(seconds=1))
    (taken,) = claim(database, clock, "b")
    assert (taken.id, taken.attempt) == (lost.id, 2)

    assert not settle(database, clock, lost, "a")  # server a's lease ran out
    assert not settle(database, clock, lost, "a", error="timeout", retry_at=None)
    assert delivery_rows(database)[0].claimed_by == "b"
    assert settle(database, clock, taken, "b")
    assert delivery_rows(database)[0].state == "delivered"


def test_a_late_server_cannot_settle_a_delivery_queued_again_since_its_claim(database, clock):
    """A retry counts attempts from 1 again: the late server's attempt number comes back, but
    its claim was made before the delivery was queued again."""
    add_events(database, clock, "hold.granted")
    fan_out(database, clock)
    (lost,) = claim(database, clock, "a")  # attempt 1; server a is slow
    clock.advance(LEASE)
    (taken,) = claim(database, clock, "b")
    assert settle(database, clock, taken, "b", error="410 gone", retry_at=None)
    clock.advance(timedelta(minutes=1))
    with UnitOfWork(database) as uow:
        assert OutboxRepository(uow.session).retry(target=SLACK, now=clock.now()) == 1
    (again,) = claim(database, clock, "a")
    assert again.attempt == lost.attempt == 1

    assert not settle(database, clock, lost, "a", error="timeout", retry_at=None)
    assert delivery_rows(database)[0].state == "sending"
    assert settle(database, clock, again, "a")


@pytest.mark.postgres
def test_two_servers_claim_at_once_without_waiting_or_sharing_a_row(postgres_engine, clock):
    """Server a holds its claim transaction open; server b neither waits for it nor takes a's
    rows (SKIP LOCKED), and cannot fan out while a does."""
    from signalbox.testing import empty_tables

    engine = postgres_engine
    empty_tables(engine)
    add_events(engine, clock, "hold.granted")
    fan_out(engine, clock, (SLACK, MAIL))
    a_claimed = threading.Event()
    b_done = threading.Event()
    seen: dict[str, object] = {}

    def server_a() -> None:
        with UnitOfWork(engine) as uow:
            outbox = OutboxRepository(uow.session)
            seen["a"] = outbox.claim_due(
                claimant="a", now=clock.now(), lease=LEASE, limit=1, among=(SLACK, MAIL)
            )
            seen["a_fan_out"] = outbox.lock_fan_out()
            a_claimed.set()
            b_done.wait(timeout=10)

    def server_b() -> None:
        a_claimed.wait(timeout=10)
        with UnitOfWork(engine) as uow:
            outbox = OutboxRepository(uow.session)
            seen["b"] = outbox.claim_due(
                claimant="b", now=clock.now(), lease=LEASE, limit=10, among=(SLACK, MAIL)
            )
            seen["b_fan_out"] = outbox.lock_fan_out()
        b_done.set()

    threads = [threading.Thread(target=server_a), threading.Thread(target=server_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert b_done.is_set(), "server b waited for server a's transaction"
    assert [c.target for c in seen["a"]] == [SLACK]  # type: ignore[attr-defined]
    assert [c.target for c in seen["b"]] == [MAIL]  # type: ignore[attr-defined]
    assert (seen["a_fan_out"], seen["b_fan_out"]) == (True, False)
    assert {row.claimed_by for row in delivery_rows(engine)} == {"a", "b"}

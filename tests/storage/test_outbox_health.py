"""A target's health read through indexes (``OutboxRepository.health``, ``given_up_heads``):
a target that gave up on a message stays visible until something reaches it again, and a
run of claimed deliveries never skips one that is not due."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from tests.storage.test_outbox import LEASE, MAIL, SLACK, add_events, claim, fan_out, settle

from signalbox.storage.repositories.outbox import OutboxRepository
from signalbox.storage.tables import EventDeliveryRow
from signalbox.storage.uow import UnitOfWork


def given_up(engine, targets=(SLACK, MAIL)):  # type: ignore[no-untyped-def]
    with UnitOfWork(engine, read_only=True) as uow:
        return OutboxRepository(uow.session).given_up_heads(list(targets))


def health(engine, targets=(SLACK, MAIL)):  # type: ignore[no-untyped-def]
    with UnitOfWork(engine, read_only=True) as uow:
        return OutboxRepository(uow.session).health(list(targets))


def test_a_target_that_gave_up_stays_visible_until_a_later_message_goes_through(database, clock):
    first, second = add_events(database, clock, "hold.granted", "hold.released")
    fan_out(database, clock, (SLACK, MAIL))
    claimed = {c.target: c for c in claim(database, clock)}
    assert settle(database, clock, claimed[MAIL])
    assert settle(database, clock, claimed[SLACK], error="HTTP 500", retry_at=None)

    [gave_up] = given_up(database)
    assert (gave_up.target, gave_up.event_id, gave_up.last_error) == (SLACK, first, "HTTP 500")
    known = health(database)
    assert known[SLACK].gave_up == gave_up and known[SLACK].given_up == 1
    assert known[SLACK].failing is None and known[SLACK].open == 1  # the second waits
    assert known[MAIL].gave_up is None and known[MAIL].last_delivered_at == clock.now()

    clock.advance(timedelta(seconds=1))
    [next_one] = [c for c in claim(database, clock) if c.target == SLACK]
    assert next_one.event.id == second
    assert settle(database, clock, next_one)  # it works again: no longer shown as given up
    assert given_up(database) == []
    assert health(database)[SLACK].given_up == 1  # still counted, for the listing


def test_health_names_a_target_no_longer_configured_that_still_has_messages_waiting(
    database, clock
):
    add_events(database, clock, "hold.granted")
    fan_out(database, clock, (SLACK, "old-channel"))
    known = health(database, [SLACK])
    assert sorted(known) == ["old-channel", SLACK]
    assert known["old-channel"].open == 1 and known["old-channel"].last_delivered_at is None


def test_a_run_stops_before_a_delivery_that_is_not_due(database, clock):
    events = add_events(database, clock, "hold.granted", "hold.renewed", "hold.released")
    fan_out(database, clock, (SLACK,))
    with UnitOfWork(database) as uow:  # the second is not due (another server's later clock)
        uow.session.execute(
            update(EventDeliveryRow)
            .where(EventDeliveryRow.event_id == events[1])
            .values(next_attempt_at=clock.now() + timedelta(minutes=1))
        )
    with UnitOfWork(database) as uow:
        run = OutboxRepository(uow.session).claim_due(
            claimant="a", now=clock.now(), lease=LEASE, limit=5, run=10, among=(SLACK, MAIL)
        )
    assert [c.event.id for c in run] == [events[0]]  # the third does not overtake the second

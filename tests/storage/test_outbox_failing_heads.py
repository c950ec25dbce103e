"""``OutboxRepository.failing_heads``: the targets whose oldest open delivery failed (what
the notifier keeps for the environments' pictures), on SQLite and PostgreSQL, found through
the partial index of open deliveries rather than by reading every delivery."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event
from tests.storage.test_outbox import MAIL, SLACK, add_events, claim, fan_out, settle

from signalbox.storage.repositories.outbox import OutboxRepository
from signalbox.storage.uow import UnitOfWork


def heads(engine, targets=(SLACK, MAIL)):  # type: ignore[no-untyped-def]
    with UnitOfWork(engine, read_only=True) as uow:
        return OutboxRepository(uow.session).failing_heads(list(targets))


def test_a_target_is_failing_while_its_oldest_open_delivery_failed(database, clock):
    first, _second = add_events(database, clock, "hold.granted", "hold.released")
    fan_out(database, clock, (SLACK, MAIL))
    assert heads(database) == []

    claimed = {c.target: c for c in claim(database, clock)}  # each target's oldest
    assert settle(database, clock, claimed[MAIL])
    retry = clock.now() + timedelta(seconds=10)
    assert settle(database, clock, claimed[SLACK], error="HTTP 500", retry_at=retry)

    [failing] = heads(database)
    assert (failing.target, failing.event_id, failing.attempts) == (SLACK, first, 1)
    assert failing.last_error == "HTTP 500" and failing.next_attempt_at == retry
    assert heads(database, [MAIL]) == [] and heads(database, []) == []
    assert heads(database, [SLACK, "not-a-target"]) == [failing]

    # claimed again (sending): not failing while it is being tried
    clock.advance(timedelta(seconds=11))
    [again] = [c for c in claim(database, clock) if c.target == SLACK]
    assert again.event.id == first and heads(database) == []
    # given up: the target's queue moves on, so it is no longer failing
    assert settle(database, clock, again, error="HTTP 500", retry_at=None)
    assert heads(database) == []


def test_it_reads_the_partial_index_of_open_deliveries_on_sqlite(database, clock):
    if database.dialect.name != "sqlite":
        return  # PostgreSQL's planner picks by table size; the statement is the same
    add_events(database, clock, "hold.granted")
    fan_out(database, clock, (SLACK, MAIL))
    executed: list[tuple[str, object]] = []

    def seen(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        if "event_deliveries" in statement:
            executed.append((statement, parameters))

    event.listen(database, "before_cursor_execute", seen)
    try:
        heads(database)
    finally:
        event.remove(database, "before_cursor_execute", seen)
    [(statement, parameters)] = executed
    with database.connect() as connection:
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    details = " | ".join(str(row[-1]) for row in plan)
    assert "ix_event_deliveries_open" in details, details
    assert "SCAN event_deliveries" not in details, details

"""Fan-out: turn the events not yet fanned out into one delivery per target that should hear
of each, in one short transaction (one server at a time; see ``repositories.outbox``).

An event that no target wants, one not ``worth_telling``, and one older than the give-up time
when it is first seen (history from before notifications were configured, or a server that was
down for longer than that) is marked fanned out with no delivery; so is, for a target that
hears of the other, an event ``told_by_another`` event of the same batch (the automatic hold
of an out-of-band state write). With no target configured at
all, every waiting event is marked in one statement, so the outbox stays empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import Engine

from signalbox.core.events import Event, parse
from signalbox.core.notify import TELLING_OTHERS, told_by_another, worth_telling
from signalbox.services.notify.targets import Target
from signalbox.storage.repositories.outbox import OutboxRepository
from signalbox.storage.uow import UnitOfWork

__all__ = ["FAN_OUT_BATCH", "fan_out_in", "fan_out_once"]

FAN_OUT_BATCH = 500


def fan_out_once(
    engine: Engine,
    targets: Mapping[str, Target],
    *,
    now: datetime,
    give_up: timedelta,
    limit: int = FAN_OUT_BATCH,
) -> int:
    """Fan out up to ``limit`` events; how many were marked (0: nothing waits, or another
    server is fanning out)."""
    with UnitOfWork(engine, read_only=True) as uow:
        if not OutboxRepository(uow.session).waiting_to_fan_out():
            return 0  # no write transaction when there is nothing to do
    with UnitOfWork(engine) as uow:
        return fan_out_in(
            OutboxRepository(uow.session), targets, now=now, give_up=give_up, limit=limit
        )


def fan_out_in(
    outbox: OutboxRepository,
    targets: Mapping[str, Target],
    *,
    now: datetime,
    give_up: timedelta,
    limit: int = FAN_OUT_BATCH,
) -> int:
    """``fan_out_once`` in the caller's write transaction (``outbox``'s session)."""
    if not outbox.lock_fan_out():
        return 0
    if not targets:
        return outbox.mark_all_fanned_out(now=now)
    cut_off = now - give_up
    skipped = outbox.skip_older(before=cut_off, now=now)
    events = outbox.to_fan_out(limit=limit)
    if not events:
        return skipped
    records = {
        event.id: parse(event.kind, event.data) if event.schema_version is not None else None
        for event in events
    }
    tellers: dict[str | None, list[Event]] = {}  # what may tell another event of its change
    for event in events:
        record = records[event.id]
        if record is not None and event.kind in TELLING_OTHERS:
            tellers.setdefault(event.environment, []).append(record)
    deliveries: list[tuple[int, str]] = []
    for event in events:
        if event.at < cut_off:
            continue
        wanting = [t for t in targets.values() if t.wants(event.kind, event.environment)]
        record = records[event.id]
        if not wanting or (record is not None and not worth_telling(record)):
            continue
        others = tellers.get(event.environment)
        if record is not None and others:
            wanting = [
                t
                for t in wanting
                if not told_by_another(
                    record, [o for o in others if t.wants(o.kind, event.environment)]
                )
            ]
        deliveries.extend((event.id, t.name) for t in wanting)
    outbox.fan_out(event_ids=[e.id for e in events], deliveries=deliveries, now=now)
    return skipped + len(events)

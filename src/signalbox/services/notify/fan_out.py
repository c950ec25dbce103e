"""Fan-out: turn the events not yet fanned out into one delivery per target that should hear
of each, in one short transaction (one server at a time; see ``repositories.outbox``).

An event that no target wants, one not ``worth_telling``, and one older than the give-up time
when it is first seen (history from before notifications were configured, or a server that was
down for longer than that) is marked fanned out with no delivery. With no target configured at
all, every waiting event is marked in one statement, so the outbox stays empty.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import Engine

from signalbox.core.events import parse
from signalbox.core.notify import worth_telling
from signalbox.services.notify.targets import Target
from signalbox.storage.repositories.outbox import OutboxRepository
from signalbox.storage.uow import UnitOfWork

__all__ = ["FAN_OUT_BATCH", "fan_out_once"]

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
    cut_off = now - give_up
    with UnitOfWork(engine) as uow:
        outbox = OutboxRepository(uow.session)
        if not outbox.lock_fan_out():
            return 0
        if not targets:
            return outbox.mark_all_fanned_out(now=now)
        skipped = outbox.skip_older(before=cut_off, now=now)
        events = outbox.to_fan_out(limit=limit)
        if not events:
            return skipped
        deliveries: list[tuple[int, str]] = []
        for event in events:
            if event.at < cut_off:
                continue
            wanting = [t.name for t in targets.values() if t.wants(event.kind, event.environment)]
            if not wanting:
                continue
            record = parse(event.kind, event.data) if event.schema_version is not None else None
            if record is not None and not worth_telling(record):
                continue
            deliveries.extend((event.id, name) for name in wanting)
        outbox.fan_out(event_ids=[e.id for e in events], deliveries=deliveries, now=now)
        return skipped + len(events)

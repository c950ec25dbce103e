"""Following the event log as it grows (``GET /api/events/stream``, ``signalbox watch``).

A follower keeps a cursor, the highest event id it has handed out, and each ``read``
returns the events above it, oldest first. On PostgreSQL an event's id is taken when its
row is inserted but transactions commit in any order, so event 11 can be visible while
event 10 is not committed yet: a follower that only read past its cursor would never see
10. So each read also re-reads a small window of ids below the cursor (``WINDOW``) and hands
out only the ids it has not handed out before (a set kept to that window, so it stays
small). An event committed more than ``WINDOW`` ids late is not shown; signalbox's
transactions are short, so in practice none is.

A follower that starts at an id (a reconnecting client's ``Last-Event-ID``, or the end of
the log for a new one) counts the events visible in the window below it as handed out
already: they were, or they are older than what the client asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime

from sqlalchemy import Engine

from signalbox.services.events import EventView, told
from signalbox.storage.uow import UnitOfWork

__all__ = ["BATCH", "WINDOW", "EventFollower"]

WINDOW = 100
"""How many ids below the cursor each read looks at again, for late commits."""

BATCH = 200
"""At most this many new events per read (``more`` says when there are others)."""


class EventFollower:
    """Hands out each event of ``environments`` (None: all) and, with ``include_global``,
    the global ones, once, in id order as far as commits allow. Not thread-safe: one
    follower per stream, its reads one at a time (each in a worker thread)."""

    def __init__(
        self,
        engine: Engine,
        *,
        environments: Collection[str] | None,
        include_global: bool,
        timezone: Callable[[str | None], str],
        after: int | None = None,
    ) -> None:
        self.engine = engine
        self.environments = None if environments is None else list(environments)
        self.include_global = include_global
        self.timezone = timezone
        self.cursor = after
        self.more = False
        """Whether the last read stopped at ``BATCH`` with more events waiting."""
        self._sent: set[int] = set()
        self._started = False

    def start(self) -> int:
        """Fix the starting point (the end of the log when no ``after`` was given) and count
        the events visible just below it as handed out; the cursor."""
        with UnitOfWork(self.engine, read_only=True) as uow:
            if self.cursor is None:
                self.cursor = uow.events.last_id()
            rows = uow.events.since(
                environments=self.environments,
                include_global=self.include_global,
                after_id=max(0, self.cursor - WINDOW),
                limit=WINDOW,
            )
            self._sent = {row.id for row in rows if row.id <= self.cursor}
        self._started = True
        return self.cursor

    def read(self, now: datetime) -> list[EventView]:
        """The events not handed out yet, oldest first, each told in its environment's zone
        as of ``now``."""
        if not self._started:
            self.start()
        assert self.cursor is not None
        low = max(0, self.cursor - WINDOW)
        with UnitOfWork(self.engine, read_only=True) as uow:
            rows = uow.events.since(
                environments=self.environments,
                include_global=self.include_global,
                after_id=low,
                limit=WINDOW + BATCH,
            )
            self.more = len(rows) == WINDOW + BATCH
            found = [
                EventView.of(row, message=told(row, self.timezone(row.environment), now))
                for row in rows
                if row.id not in self._sent
            ]
        if found:
            self._sent.update(event.id for event in found)
            self.cursor = max(self.cursor, found[-1].id)
            floor = self.cursor - WINDOW
            self._sent = {known for known in self._sent if known > floor}
        return found

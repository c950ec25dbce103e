"""The server's housekeeping: what it tidies by itself, at start-up and every
``HOUSEKEEPING_EVERY`` seconds (``api.app.background_loops``).

- Crashed uploads: the segments of a state body whose upload died with its server (``kill -9``,
  a power loss) stay in the database until this drops them
  (``storage.state_staging.drop_orphaned_blobs``: no heartbeat for ``ORPHANED``; a live upload,
  however slow, keeps beating and is never dropped).
- Space: SQLite gives the freed pages back to the file system (``PRAGMA incremental_vacuum``,
  a step at a time); a file made before incremental auto-vacuum is converted once, at start-up
  (one VACUUM). PostgreSQL's autovacuum reuses the space of deleted rows by itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import anyio
from sqlalchemy import Engine

from signalbox.storage.engine import convert_to_incremental_vacuum, give_space_back
from signalbox.storage.state_staging import drop_orphaned_blobs

__all__ = [
    "HOUSEKEEPING_EVERY",
    "Tidied",
    "housekeeping_loop",
    "prepare_space",
    "tidy",
    "tidy_at_start",
]

log = logging.getLogger("signalbox.server")

HOUSEKEEPING_EVERY = 300.0
"""Seconds between two housekeeping rounds of a running server."""


@dataclass(frozen=True)
class Tidied:
    """What one round did: crashed uploads dropped, pages given back to the file system."""

    uploads: int
    pages: int


def tidy(engine: Engine, *, now: datetime) -> Tidied:
    """One housekeeping round (see the module doc)."""
    uploads = drop_orphaned_blobs(engine, now=now)
    pages = give_space_back(engine)
    if uploads or pages:
        log.info(
            "housekeeping: dropped %d crashed upload(s), gave %d free page(s) back",
            uploads,
            pages,
        )
    return Tidied(uploads, pages)


def prepare_space(engine: Engine) -> None:
    """At start-up: a SQLite file made before incremental auto-vacuum gets it (one VACUUM,
    logged; if another server holds the file too long it is tried at the next start)."""
    try:
        if convert_to_incremental_vacuum(engine):
            log.warning("SQLite file converted to incremental auto-vacuum (a one-off VACUUM).")
    except Exception as error:  # never stop a start for it
        log.warning("Could not convert the SQLite file to incremental auto-vacuum: %s", error)


def tidy_at_start(engine: Engine, *, now: datetime) -> None:
    """``tidy`` once at start-up; a failure (a file another process keeps busy beyond the
    busy timeout) is logged, never stops the start: the periodic round tries again."""
    try:
        tidy(engine, now=now)
    except Exception as error:
        log.warning("Start-up housekeeping failed (tried again in a while): %s", error)


async def housekeeping_loop(
    engine: Engine, now: Callable[[], datetime], every: float = HOUSEKEEPING_EVERY
) -> None:
    """``tidy`` every ``every`` seconds until cancelled; a failed round is logged and the
    next one tries again."""
    while True:
        await asyncio.sleep(every)
        try:
            await anyio.to_thread.run_sync(lambda: tidy(engine, now=now()))
        except Exception:  # the loop must survive a database hiccup
            log.exception("housekeeping failed; will retry")

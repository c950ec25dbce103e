"""The clock, injected: services take ``now``; the app asks its ``Clock`` once per request.

A write transaction does not keep the request's ``now``: queued behind another writer, it
would stamp its events earlier than the one that went first. ``attach_clock(engine,
clock.now)`` (the server does it once) makes every write unit of work read the clock again
after its write lock (``storage.uow.UnitOfWork.now``), so the event log never runs backwards.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from signalbox.core.errors import ConfigError
from signalbox.storage.uow import attach_clock

__all__ = ["Clock", "SystemClock", "attach_clock", "zone"]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; a name that does not exist is a ConfigError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{name!r} is not a time zone.", hint="Use an IANA name such as Europe/Berlin or UTC."
        ) from None

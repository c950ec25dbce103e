"""The clock, injected: services take ``now``; the app asks its ``Clock`` once per request."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from signalbox.core.errors import ConfigError

__all__ = ["Clock", "SystemClock", "zone"]


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

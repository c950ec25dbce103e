"""How the CLI shows the server's times: ISO 8601 from the API, told in the environment's
zone (``15:30 CET`` today, ``Fri 27 Nov 15:30 CET`` another day), or as an age."""

from __future__ import annotations

from datetime import datetime, timedelta

from signalbox.core.durations import format_duration
from signalbox.core.times import format_local

__all__ = ["ago", "local_time"]


def local_time(value: str | None, timezone: str, now: datetime) -> str:
    """``value`` (ISO, from the API) in ``timezone``; empty when there is none."""
    return format_local(datetime.fromisoformat(value), timezone, now=now) if value else ""


def ago(value: str, now: datetime) -> str:
    """``4m ago`` (``just now`` within a minute) from an ISO time."""
    seconds = (now - datetime.fromisoformat(value)).total_seconds()
    if seconds < 60:
        return "just now"
    return f"{format_duration(timedelta(minutes=int(seconds // 60)))} ago"

"""Durations as people type them: ``4h``, ``90m``, ``1h30m``, ``45s``, ``2d``."""

from __future__ import annotations

import re
from datetime import timedelta

from signalbox.core.errors import InvalidDuration

_PART = re.compile(r"(\d+)\s*([dhms])")
_WHOLE = re.compile(r"^\s*(?:\d+\s*[dhms]\s*)+$")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> timedelta:
    """``"1h30m"`` -> 90 minutes. A bare number is not accepted: the unit is required."""
    if not _WHOLE.match(text or ""):
        raise InvalidDuration(
            f"{text!r} is not a duration.",
            hint="Write a number and a unit, such as 30m, 4h, 1h30m or 2d.",
        )
    seconds = sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _PART.findall(text))
    if seconds <= 0:
        raise InvalidDuration(
            f"{text!r} is not a positive duration.", hint="Use a duration above zero, such as 4h."
        )
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The inverse of parse_duration for display: 5400 s -> ``1h30m``."""
    seconds = int(value.total_seconds())
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in _UNIT_SECONDS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)

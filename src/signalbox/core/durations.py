"""Durations as people type them, and as signalbox prints them: ``4h``, ``90m``, ``1h30m``,
``45s``, ``2d``, ``1d12h``.

One grammar for every flag, setting and API field: whole numbers, each followed by one of
the units ``d``, ``h``, ``m``, ``s``; each unit at most once, largest first (``1h30m``, not
``30m1h`` nor ``1h1h``, which are refused with the reason). A bare number is refused: the
unit is required. ``format_duration`` prints the same form (``15d``, ``1h30m``), so what is
printed can be typed back.
"""

from __future__ import annotations

import re
from datetime import timedelta

from signalbox.core.errors import InvalidDuration

__all__ = ["MAX_DURATION", "UNITS", "format_duration", "parse_duration"]

UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
"""Each unit and its seconds, largest first: the order a duration is written in."""

MAX_DURATION = timedelta(days=3650)
"""The longest duration read (about ten years): every moment it reaches stays a date."""

_WHOLE = re.compile(
    r"^\s*(?:(?P<d>\d+)\s*d)?\s*(?:(?P<h>\d+)\s*h)?\s*(?:(?P<m>\d+)\s*m)?\s*(?:(?P<s>\d+)\s*s)?\s*$"
)
_TOKENS = re.compile(r"^\s*(?:\d+\s*[dhms]\s*)+$")
_PART = re.compile(r"\d+\s*([dhms])")
_EXAMPLES = "such as 30m, 4h, 1h30m or 2d"


def parse_duration(text: str) -> timedelta:
    """``"1h30m"`` -> 90 minutes; anything else raises ``InvalidDuration`` saying why."""
    text = text or ""
    found = _WHOLE.match(text)
    if found is None or not any(found.groupdict().values()):
        raise InvalidDuration(f"{text!r} is not a duration.", hint=_why_not(text))
    numbers = {unit: value for unit, value in found.groupdict().items() if value is not None}
    if any(len(value.lstrip("0")) > 12 for value in numbers.values()):
        raise _too_long(text)
    seconds = sum(int(value) * UNITS[unit] for unit, value in numbers.items())
    if seconds <= 0:
        raise InvalidDuration(
            f"{text!r} is not a positive duration.", hint="Use a duration above zero, such as 4h."
        )
    if seconds > MAX_DURATION.total_seconds():
        raise _too_long(text)
    return timedelta(seconds=seconds)


def _too_long(text: str) -> InvalidDuration:
    return InvalidDuration(
        f"{text!r} is longer than the longest duration signalbox reads, "
        f"{format_duration(MAX_DURATION)}.",
        hint=f"Use a shorter duration, {_EXAMPLES}.",
    )


def _why_not(text: str) -> str:
    """The hint for text that is not a duration: which rule it breaks."""
    if _TOKENS.match(text):
        units = _PART.findall(text)
        repeated = sorted({unit for unit in units if units.count(unit) > 1}, key=list(UNITS).index)
        if repeated:
            return (
                f"Write each unit once ({', '.join(repeated)} appears more than once), {_EXAMPLES}."
            )
        return f"Write the units largest first (d, h, m, s), {_EXAMPLES}."
    return f"Write a number and a unit (d, h, m or s), {_EXAMPLES}."


def format_duration(value: timedelta) -> str:
    """The form ``parse_duration`` reads, for display: 5400 s -> ``1h30m``, 15 days ->
    ``15d``; ``0s`` for zero or less. Parts of a second are dropped."""
    seconds = int(value.total_seconds())
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in UNITS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)

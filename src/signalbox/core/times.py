"""Times as people type them and read them, in an environment's time zone.

Stored and compared times are timezone-aware UTC. People type local times ("15:30" means
15:30 today in the environment's zone) or ISO 8601 with an offset, and read local times.
Nothing here reads the clock: ``now`` is an argument.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from signalbox.core.errors import ConfigError, InvalidInput, InvalidTime

__all__ = [
    "ACCEPTED_FORMS",
    "format_for",
    "format_local",
    "format_utc",
    "load_zone",
    "parse_when",
    "require_utc",
    "to_zone",
]

ACCEPTED_FORMS = (
    "15:30 (today), 2026-11-26 15:30, 2026-11-26T15:30, "
    "or ISO 8601 with an offset such as 2026-11-26T15:30:00+01:00 or 2026-11-26T14:30Z"
)

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")
_WITH_OFFSET = re.compile(
    r"^\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|z|[+-]\d{2}(?::?\d{2})?)$"
)


def load_zone(name: str) -> ZoneInfo:
    """The IANA time zone called ``name`` (``Europe/Berlin``), or ConfigError with a hint."""
    try:
        if not name or name != name.strip() or name.startswith(("/", ".")):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ConfigError(
            f"{name!r} is not a known time zone.",
            hint="Use an IANA time zone name such as Europe/Berlin, America/New_York or UTC.",
            field="timezone",
        ) from exc


def require_utc(value: datetime, what: str = "time") -> datetime:
    """``value`` converted to UTC; a naive datetime is a programming error (InvalidInput)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(
            f"The {what} {value.isoformat()} has no time zone.",
            hint="Pass timezone-aware datetimes to the core rules.",
        )
    return value.astimezone(UTC)


def parse_when(text: str, *, now: datetime, tz: str) -> datetime:
    """A time typed by a person, as aware UTC.

    ``"15:30"`` is 15:30 today in ``tz`` (even if already past: the caller decides whether
    the past is acceptable); ``"2026-11-26 15:30"`` and ``"2026-11-26T15:30"`` are local
    times in ``tz``; ISO 8601 with an offset or ``Z`` is taken as written. A local time that
    does not exist (skipped by a daylight-saving change) is refused; an ambiguous one (repeated
    when clocks go back) is the first occurrence.
    """
    zone = load_zone(tz)
    cleaned = (text or "").strip()
    clock = _CLOCK.match(cleaned)
    if clock:
        today = require_utc(now, "current time").astimezone(zone).date()
        return _local_to_utc(today, _clock_time(cleaned, clock), zone, text)
    if _WITH_OFFSET.match(cleaned):
        return _parse_iso(cleaned, text).astimezone(UTC)
    if _DATE_TIME.match(cleaned):
        parsed = _parse_iso(cleaned, text)
        return _local_to_utc(parsed.date(), parsed.time(), zone, text)
    raise _invalid(text, "is not a time signalbox understands")


def to_zone(value: datetime, tz: str) -> datetime:
    """An aware datetime shown in the zone ``tz``."""
    return require_utc(value).astimezone(load_zone(tz))


def format_local(value: datetime, tz: str, *, now: datetime) -> str:
    """For messages: ``"15:30 CET"`` when the day is today in ``tz``, else
    ``"Fri 27 Nov 15:30 CET"`` (with the year when it is not the current year)."""
    local = to_zone(value, tz)
    today = to_zone(now, tz)
    zone_name = local.tzname() or tz
    if local.date() == today.date():
        return f"{local:%H:%M} {zone_name}"
    day = f"{local:%a} {local.day} {local:%b}"
    if local.year != today.year:
        day = f"{day} {local.year}"
    return f"{day} {local:%H:%M} {zone_name}"


def format_utc(value: datetime) -> str:
    """UTC ISO 8601 to the minute (``2026-11-26T13:00Z``), for messages made without a zone."""
    utc = require_utc(value)
    seconds = f":{utc:%S}" if utc.second else ""
    return f"{utc:%Y-%m-%dT%H:%M}{seconds}Z"


def format_for(value: datetime, tz: str | None, *, now: datetime) -> str:
    """For messages about an environment: ``value`` in its zone ``tz`` (``format_local``),
    or UTC ISO (``format_utc``) when no zone is known."""
    return format_utc(value) if tz is None else format_local(value, tz, now=now)


def _clock_time(text: str, clock: re.Match[str]) -> time:
    hour, minute, second = int(clock[1]), int(clock[2]), int(clock[3] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise _invalid(text, "is not a time of day")
    return time(hour, minute, second)


def _parse_iso(cleaned: str, original: str) -> datetime:
    normalised = cleaned[:-1] + "+00:00" if cleaned[-1] in "Zz" else cleaned
    try:
        return datetime.fromisoformat(normalised)
    except ValueError as exc:
        raise _invalid(original, "is not a valid date and time") from exc


def _local_to_utc(day: date, clock: time, zone: ZoneInfo, original: str) -> datetime:
    local = datetime.combine(day, clock, tzinfo=zone)
    utc = local.astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        after_change = utc.astimezone(zone)
        raise InvalidTime(
            f"{original!r} does not exist in {zone.key}: the clocks skip it "
            "(daylight-saving change).",
            hint=f"Choose a time after the change, such as {after_change:%Y-%m-%d %H:%M}.",
        )
    return utc


def _invalid(text: str, why: str) -> InvalidTime:
    return InvalidTime(f"{text!r} {why}.", hint=f"Write {ACCEPTED_FORMS}.")

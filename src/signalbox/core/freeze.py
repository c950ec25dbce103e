"""Recurring freeze windows: "every Friday from 16:00 for 64 hours, no deploys to prod".

Configured per environment in ``signalbox.toml``::

    [[environments.prod.freeze]]
    cron = "0 16 * * FRI"        # when a window starts: 5-field cron, in `timezone`
    duration = "64h"             # how long it lasts, on the local wall clock
    timezone = "Europe/Berlin"   # IANA name; defaults to the environment's time zone
    reason = "weekend freeze"
    owner = "release-managers"   # whom to ask (optional, default "an admin")

Windows are materialised into ReservationView values (``kind="freeze"``, ``id=None``) for a
range of time, so the gate treats them exactly like reservations.

Daylight saving: starts and ends are wall-clock times in the window's zone, so a Friday
16:00 window starts at 16:00 local in winter and in summer, and "64h" from Friday 16:00
ends Monday 08:00 local even when the clocks change in between. A start that falls in the
hour skipped in spring is shifted by that hour (02:30 becomes 03:30); a start in the hour
repeated in autumn is its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from signalbox.core.durations import parse_duration
from signalbox.core.errors import ConfigError, InvalidDuration
from signalbox.core.times import load_zone, require_utc
from signalbox.core.views import ReservationView

__all__ = [
    "DEFAULT_FREEZE_OWNER",
    "FreezeWindow",
    "materialise",
    "parse_freeze_window",
    "parse_freeze_windows",
]

DEFAULT_FREEZE_OWNER = "an admin"
_REQUIRED = ("cron", "duration", "reason")
_KNOWN = frozenset({*_REQUIRED, "timezone", "owner"})
_CRON_HINT = (
    'Write five fields: minute hour day-of-month month day-of-week, such as "0 16 * * FRI" '
    "(Fridays at 16:00)."
)


@dataclass(frozen=True, slots=True)
class FreezeWindow:
    """One recurring freeze window, validated."""

    cron: str
    duration: timedelta
    timezone: str
    reason: str
    owner: str = DEFAULT_FREEZE_OWNER


def parse_freeze_windows(
    entries: object, *, where: str, default_timezone: str | None = None
) -> tuple[FreezeWindow, ...]:
    """The ``freeze`` list of one environment (``where`` names it in errors, e.g.
    ``environments.prod.freeze``)."""
    if not isinstance(entries, list | tuple):
        raise ConfigError(
            f"{where} must be a list of freeze windows.",
            hint="Write [[environments.ENV.freeze]] tables with cron, duration and reason.",
            field=where,
        )
    return tuple(
        parse_freeze_window(entry, where=f"{where}[{index}]", default_timezone=default_timezone)
        for index, entry in enumerate(entries)
    )


def parse_freeze_window(
    entry: object, *, where: str, default_timezone: str | None = None
) -> FreezeWindow:
    """One freeze window table, or ConfigError naming the bad field (``where.cron``...)."""
    if not isinstance(entry, Mapping):
        raise _bad(where, "must be a table with cron, duration and reason")
    unknown = sorted(str(key) for key in entry if key not in _KNOWN)
    if unknown:
        raise _bad(f"{where}.{unknown[0]}", "is not a freeze window setting", _fields_hint())
    for name in _REQUIRED:
        if name not in entry:
            raise _bad(f"{where}.{name}", "is missing", _fields_hint())
    timezone = entry.get("timezone", default_timezone)
    if timezone is None:
        raise _bad(f"{where}.timezone", "is missing", "Give an IANA zone such as Europe/Berlin.")
    return FreezeWindow(
        cron=_cron(entry["cron"], f"{where}.cron"),
        duration=_duration(entry["duration"], f"{where}.duration"),
        timezone=_timezone(timezone, f"{where}.timezone"),
        reason=_text(entry["reason"], f"{where}.reason"),
        owner=_text(entry.get("owner", DEFAULT_FREEZE_OWNER), f"{where}.owner"),
    )


def materialise(
    windows: Iterable[FreezeWindow], environment: str, start: datetime, end: datetime
) -> list[ReservationView]:
    """Every freeze window occurrence that overlaps ``[start, end)``, sorted by start.

    Each occurrence is its own view, even when occurrences overlap (a window longer than its
    period): the reservation rules handle overlapping and chained windows.
    """
    start, end = require_utc(start), require_utc(end)
    found: list[ReservationView] = []
    for window in windows:
        spans = _occurrences(window, start, end)
        found.extend(
            ReservationView(
                id=None,
                environment=environment,
                owner=window.owner,
                reason=window.reason,
                starts=span_start,
                ends=span_end,
                kind="freeze",
            )
            for span_start, span_end in spans
            if span_start < end and span_end > start
        )
    return sorted(found, key=lambda view: (view.starts, view.ends, view.reason))


def _occurrences(
    window: FreezeWindow, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """(start, end) in UTC of each occurrence starting before ``end`` that may reach ``start``."""
    zone = load_zone(window.timezone)
    margin = window.duration + timedelta(days=1)  # covers wall-clock versus UTC shifts
    local_from = (start - margin).astimezone(zone).replace(tzinfo=None)
    schedule = croniter(window.cron, local_from)
    spans: list[tuple[datetime, datetime]] = []
    while True:
        wall_start: datetime = schedule.get_next(datetime)
        starts = _wall_to_utc(wall_start, zone)
        if starts >= end:
            return spans
        ends = _wall_to_utc(wall_start + window.duration, zone)
        spans.append((starts, max(ends, starts + timedelta(minutes=1))))


def _wall_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    return wall.replace(tzinfo=zone).astimezone(UTC)


def _cron(value: object, field: str) -> str:
    if not isinstance(value, str) or len(value.split()) != 5:
        raise _bad(field, f"is {value!r}, not a 5-field cron expression", _CRON_HINT)
    expression = " ".join(value.split())
    try:
        croniter(expression, datetime(2000, 1, 1)).get_next(datetime)  # never firing: error
    except (ValueError, KeyError) as exc:
        raise _bad(field, f"is {value!r}, which cron cannot read ({exc})", _CRON_HINT) from exc
    return expression


def _duration(value: object, field: str) -> timedelta:
    if not isinstance(value, str):
        raise _bad(field, f"is {value!r}, not a duration", 'Write it as text, such as "64h".')
    try:
        return parse_duration(value)
    except InvalidDuration as exc:
        raise _bad(field, f"is {value!r}, not a duration", exc.hint) from exc


def _timezone(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise _bad(field, f"is {value!r}, not a time zone name", "Such as Europe/Berlin.")
    try:
        load_zone(value)
    except ConfigError as exc:
        raise _bad(field, f"is {value!r}, not a known time zone", exc.hint) from exc
    return value


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad(field, f"is {value!r}; it must be non-empty text", "Say it in a few words.")
    return value.strip()


def _fields_hint() -> str:
    return (
        "A freeze window has cron, duration and reason, and optionally timezone and owner: "
        '{ cron = "0 16 * * FRI", duration = "64h", timezone = "Europe/Berlin", '
        'reason = "weekend freeze" }.'
    )


def _bad(field: str, problem: str, hint: str = "") -> ConfigError:
    return ConfigError(f"{field} {problem}.", hint=hint or _fields_hint(), field=field)

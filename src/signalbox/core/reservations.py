"""Reservations: windows in which someone relies on an environment.

A window is half-open, ``[starts, ends)``: a deploy that ends exactly when a demo starts
does not overlap it, and one that starts exactly when the demo ends is free to go.
Recurring freeze windows (core.freeze) are materialised into the same ReservationView
values, so every rule here applies to both.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from signalbox.core.durations import format_duration
from signalbox.core.errors import InvalidWindow
from signalbox.core.times import format_for, require_utc
from signalbox.core.views import ReservationView

__all__ = [
    "MAX_RESERVATION_LENGTH",
    "active_at",
    "conflicts",
    "first_conflict",
    "next_free_start",
    "next_reservation",
    "overlaps",
    "validate_window",
]

MAX_RESERVATION_LENGTH = timedelta(days=14)


def validate_window(
    starts: datetime,
    ends: datetime,
    now: datetime,
    *,
    max_length: timedelta = MAX_RESERVATION_LENGTH,
    timezone: str | None = None,
) -> None:
    """Raise InvalidWindow unless ``[starts, ends)`` is a window worth storing.

    Refused: a window that ends before or when it starts, one that has already ended, and
    one longer than ``max_length`` (two weeks by default: longer blocks are recurring
    freeze windows in the configuration, or a typo). A window that started a moment ago and
    is still running is accepted: booking the demo that is happening now is legitimate.
    Times in the messages are in the environment's zone ``timezone`` (``22:00 CET``), or
    UTC ISO without one.
    """
    starts, ends, now = require_utc(starts), require_utc(ends), require_utc(now)

    def at(moment: datetime) -> str:
        return format_for(moment, timezone, now=now)

    if ends <= starts:
        raise InvalidWindow(
            f"The window ends ({at(ends)}) before or when it starts ({at(starts)}).",
            hint="Give an end after the start, such as --from 15:30 --to 16:30.",
        )
    if ends <= now:
        raise InvalidWindow(
            f"The window ended already ({at(ends)}; it is now {at(now)}).",
            hint="Reserve a window that ends in the future; check the date and the time zone.",
        )
    if ends - starts > max_length:
        raise InvalidWindow(
            f"The window lasts {format_duration(ends - starts)}, longer than the "
            f"{format_duration(max_length)} a reservation may last.",
            hint="Split it into shorter reservations, or configure a recurring freeze window.",
        )


def overlaps(window: ReservationView, start: datetime, end: datetime) -> bool:
    """Whether ``[start, end)`` shares at least one instant with the window."""
    return window.starts < end and start < window.ends


def active_at(windows: Iterable[ReservationView], at: datetime) -> ReservationView | None:
    """The window in force at ``at`` (the earliest-starting one if several), or None."""
    current = [window for window in windows if window.starts <= at < window.ends]
    return min(current, key=_start_order, default=None)


def next_reservation(windows: Iterable[ReservationView], now: datetime) -> ReservationView | None:
    """The window in force now, or else the next one to start; None when there is none."""
    not_over = [window for window in windows if window.ends > now]
    return min(not_over, key=_start_order, default=None)


def conflicts(
    windows: Iterable[ReservationView], start: datetime, end: datetime
) -> list[ReservationView]:
    """Every window that ``[start, end)`` overlaps, the earliest-starting first."""
    return sorted((w for w in windows if overlaps(w, start, end)), key=_start_order)


def first_conflict(
    windows: Iterable[ReservationView], start: datetime, end: datetime
) -> ReservationView | None:
    """The earliest-starting window that ``[start, end)`` overlaps, or None."""
    return next(iter(conflicts(windows, start, end)), None)


def next_free_start(
    windows: Iterable[ReservationView], after: datetime, duration: timedelta
) -> datetime:
    """The earliest instant ``t >= after`` such that ``[t, t + duration)`` overlaps no window.

    Back-to-back or chained windows are skipped together: if the demo ends at 16:30 and a
    freeze starts at 16:40, a 17-minute deploy may start only after the freeze.
    """
    ordered = sorted(windows, key=_start_order)
    candidate = after
    moved = True
    while moved:
        moved = False
        for window in ordered:
            if overlaps(window, candidate, candidate + duration):
                candidate = window.ends
                moved = True
    return candidate


def _start_order(window: ReservationView) -> tuple[datetime, datetime, int]:
    return (window.starts, window.ends, window.id if window.id is not None else -1)

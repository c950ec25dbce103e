"""What a window about to be booked would run into, said before it is booked. Pure.

A person booking "investor demo, 15:30-16:30" should learn first that a deploy is running
that will still run at 15:30, that deploys queued now may still be running then (booking
makes the gate refuse those that would reach into the window: their authors should know),
or that someone else already relies on the environment then. Nothing here refuses a
booking: reservations may overlap, and the person decides (the pages' "Book anyway").

Deploy ends are estimates from the environment's expected deploy duration
(``core.deploy_stats``), erring late:

- the running deploy is expected to end at ``started_at + expected`` (or at ``now`` if it
  has already run longer than expected: it is still running);
- the queue starts when the running deploy is expected to end (``now`` without one), and the
  deploy at position ``p`` (1 is next) ends at the latest at ``queue start + p * expected``:
  with nothing running, ``now + p * expected``.

A window is half-open, ``[starts, ends)``, as everywhere (``core.reservations``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from signalbox.core.events import commit_ref
from signalbox.core.reservations import overlaps
from signalbox.core.status import PictureDeploy
from signalbox.core.times import format_local, require_utc, to_zone
from signalbox.core.views import ReservationView

__all__ = ["BookingConflict", "booking_conflicts", "queued_ends", "running_ends"]


@dataclass(frozen=True, slots=True)
class BookingConflict:
    """One thing a window would run into: ``kind`` is ``running``, ``queued``,
    ``reservation`` or ``freeze``; ``message`` says it in a sentence, ``whom`` to ask
    (None when nobody in particular), ``ref`` the deploy or reservation id (None for a
    freeze window)."""

    kind: str
    message: str
    whom: str | None
    ref: int | None = None


def running_ends(deploy: PictureDeploy, *, expected: timedelta, now: datetime) -> datetime:
    """When the running ``deploy`` is expected to end: ``started_at + expected``, or ``now``
    once it has run longer than that (it still runs); a deploy without a start time is
    taken to start ``now``."""
    now = require_utc(now)
    started = require_utc(deploy.started_at) if deploy.started_at is not None else now
    return max(started + expected, now)


def queued_ends(
    position: int, *, running_end: datetime | None, expected: timedelta, now: datetime
) -> datetime:
    """The latest a queued deploy at ``position`` (1 is next) is expected to end, if it and
    every deploy ahead take ``expected`` and the queue starts when the running deploy ends
    (``running_end``; ``now`` without one)."""
    now = require_utc(now)
    start = max(require_utc(running_end), now) if running_end is not None else now
    return start + max(position, 1) * expected


def _whom(deploy: PictureDeploy) -> str:
    """The person behind a deploy: its CI actor when it has one, else its requester."""
    return deploy.actor or deploy.requester


def _deploy_ref(deploy: PictureDeploy) -> str:
    ref = commit_ref(deploy.branch, deploy.commit)
    by = deploy.requester if not deploy.actor else f"{deploy.actor} (via {deploy.requester})"
    return f"Deploy {deploy.id}{f' ({ref})' if ref else ''} by {by}"


def booking_conflicts(
    *,
    starts: datetime,
    ends: datetime,
    now: datetime,
    expected_deploy: timedelta,
    running: PictureDeploy | None,
    queue: Sequence[PictureDeploy],
    windows: Iterable[ReservationView],
    timezone: str = "UTC",
) -> list[BookingConflict]:
    """Everything the window ``[starts, ends)`` would run into on an environment whose
    running deploy is ``running``, whose waiting deploys are ``queue`` (each with its
    ``position``) and whose reservations and freeze windows are ``windows``: the running
    deploy, the queued deploys, then the windows by start. Times in sentences are in
    ``timezone``."""
    starts, ends, now = require_utc(starts), require_utc(ends), require_utc(now)
    found: list[BookingConflict] = []

    def at(moment: datetime) -> str:
        return format_local(moment, timezone, now=now)

    def span(first: datetime, last: datetime) -> str:
        """``Thu 3 Dec 15:00 CET–16:00 CET``: the day once when both are on it."""
        start, end = to_zone(first, timezone), to_zone(last, timezone)
        if start.date() == end.date():
            return f"{at(first)}–{end:%H:%M} {end.tzname() or timezone}"
        return f"{at(first)}–{at(last)}"

    running_end = None
    if running is not None:
        running_end = running_ends(running, expected=expected_deploy, now=now)
        started = require_utc(running.started_at) if running.started_at is not None else now
        if _intersect(started, running_end, starts, ends):
            found.append(
                BookingConflict(
                    "running",
                    f"{_deploy_ref(running)} is running and is expected to end about "
                    f"{at(running_end)}, after your window starts ({at(starts)}). "
                    f"Ask {_whom(running)} whether it will be done in time.",
                    _whom(running),
                    running.id,
                )
            )
    for position, deploy in enumerate(queue, start=1):
        place = deploy.position if deploy.position is not None else position
        end = queued_ends(place, running_end=running_end, expected=expected_deploy, now=now)
        if _intersect(now, end, starts, ends):
            found.append(
                BookingConflict(
                    "queued",
                    f"{_deploy_ref(deploy)} is queued ({_ordinal(place)} in line) and may "
                    f"still run until about {at(end)}, into your window. Once you book, the "
                    f"gate refuses it if it would run into the window: tell {_whom(deploy)}.",
                    _whom(deploy),
                    deploy.id,
                )
            )
    hits = sorted(
        (window for window in windows if overlaps(window, starts, ends)),
        key=lambda window: (window.starts, window.ends, window.id or 0),
    )
    for window in hits:
        said = span(window.starts, window.ends)
        if window.kind == "freeze":
            found.append(
                BookingConflict(
                    "freeze",
                    f"Your window falls in the freeze window {said} ({window.reason}): no "
                    f"deploy runs then anyway.",
                    None,
                    None,
                )
            )
        else:
            found.append(
                BookingConflict(
                    "reservation",
                    f"{window.owner} has reserved {said} ({window.reason}). Ask "
                    f"{window.owner} whether you can share the environment then.",
                    window.owner,
                    window.id,
                )
            )
    return found


def _intersect(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Whether half-open ``[a_start, a_end)`` and ``[b_start, b_end)`` share an instant."""
    return a_start < b_end and b_start < a_end


def _ordinal(number: int) -> str:
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"

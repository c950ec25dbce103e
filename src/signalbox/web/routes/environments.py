"""An environment's page and booking a window on it.

GET  /environments/{env}                                  the card in full, the reservations
                                                          and freeze windows of the next two
                                                          weeks by day, recent deploys, state
                                                          versions (read-state only), events
POST /environments/{env}/reservations/{id}/cancel         cancel a reservation (its owner, or
                                                          whoever may force-release on env)
GET  /environments/{env}/reserve?date=&from=&to=          the booking form (reserve grant)
POST /environments/{env}/reserve                          book; warns first (409, "Book
                                                          anyway") when the window overlaps a
                                                          deploy or another window
GET  /environments/{env}/reserve/check?date=&from=&to=    the warnings alone, as an HTML
                                                          fragment (what booking.js shows)

The form's date and times are read in the environment's zone exactly as `signalbox reserve
--from 15:30` reads them: they become ``"2026-11-30 15:30"`` (``core.times.parse_when``'s
local date and time), or ``"15:30"`` (today) without a date. What a window would run into
is ``core.booking``'s rule; booking and cancelling call the services the API calls, with its
grant checks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from signalbox.api.context import Server, server
from signalbox.api.longpoll import wake
from signalbox.core.booking import BookingConflict, booking_conflicts
from signalbox.core.errors import (
    Forbidden,
    InvalidTime,
    InvalidTransition,
    NotFound,
    SignalboxError,
)
from signalbox.core.reservations import validate_window
from signalbox.core.roles import Action
from signalbox.core.times import parse_when, to_zone
from signalbox.core.views import ReservationView
from signalbox.services.deploys.reads import list_deploys
from signalbox.services.events import list_events
from signalbox.services.reservations import (
    FREEZE_HORIZON,
    ReservationCreate,
    cancel_reservation,
    create_reservation,
    freeze_windows_between,
    list_reservations,
    reservation_environment,
    validated_reason,
)
from signalbox.services.status import environment_picture
from signalbox.services.tfstate import list_versions
from signalbox.web.render import PAGE_HEADERS, page, render
from signalbox.web.routes.board import failing_of
from signalbox.web.security import Posted, Viewer, posted, signed_in

__all__ = [
    "NOTICES",
    "BookingFields",
    "DayOfWindows",
    "ShownWindow",
    "days_of",
    "router",
]

router = APIRouter(include_in_schema=False)

NOTICES = {
    "cancelled": "The reservation is cancelled.",
    "booked": "Booked. Deploys that would still run in your window are refused; it is "
    "listed below.",
}
"""The notices a page shows after a form (``?done=``): fixed words, never the query's."""

RECENT_DEPLOYS = 10
RECENT_VERSIONS = 10
RECENT_EVENTS = 20
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# the reservations of the next two weeks, day by day -------------------------------------


@dataclass(frozen=True, slots=True)
class ShownWindow:
    """A window as the day list shows it: local times (with the day when it ends on another
    day), and whether the viewer may cancel it."""

    window: ReservationView
    starts_text: str
    ends_text: str
    may_cancel: bool

    @property
    def is_freeze(self) -> bool:
        return self.window.kind == "freeze"


@dataclass(frozen=True, slots=True)
class DayOfWindows:
    """One day in the environment's zone that has windows, with its heading."""

    day: date
    heading: str
    windows: list[ShownWindow] = field(default_factory=list)


def _day_heading(day: date, today: date) -> str:
    said = f"{day:%A} {day.day} {day:%B}"
    if day == today:
        return f"Today, {said}"
    if day == today + timedelta(days=1):
        return f"Tomorrow, {said}"
    return said


def days_of(
    windows: Sequence[ReservationView], viewer: Viewer, timezone: str, now: datetime
) -> list[DayOfWindows]:
    """``windows`` grouped by the day they start in ``timezone``, each day with a heading
    ("Monday 30 November"); a real reservation may be cancelled by its owner or by whoever
    may force-release (the API's rule), both needing the reserve grant."""
    today = to_zone(now, timezone).date()
    days: dict[date, DayOfWindows] = {}
    for window in windows:
        starts, ends = to_zone(window.starts, timezone), to_zone(window.ends, timezone)
        same_day = ends.date() == starts.date()
        ends_text = f"{ends:%H:%M}" if same_day else f"{ends:%a} {ends.day} {ends:%b %H:%M}"
        may_cancel = (
            window.id is not None
            and viewer.may(Action.RESERVE, window.environment)
            and (
                window.owner == viewer.name or viewer.may(Action.FORCE_RELEASE, window.environment)
            )
        )
        shown = ShownWindow(
            window, f"{starts:%H:%M}", f"{ends_text} {ends.tzname() or timezone}", may_cancel
        )
        day = starts.date()
        days.setdefault(day, DayOfWindows(day, _day_heading(day, today))).windows.append(shown)
    return [days[day] for day in sorted(days)]


# the environment's page ------------------------------------------------------------------


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} kB"
    return f"{size / (1024 * 1024):.1f} MB"


def environment_context(context: Server, viewer: Viewer, env: str) -> dict[str, Any]:
    """Everything the environment page shows (read in a worker thread: the database)."""
    now = context.now()
    engine, settings = context.engine, context.settings
    picture = environment_picture(engine, settings, env, now=now, cache=context.pictures)
    windows = [
        window
        for window in list_reservations(engine, settings, environments=[env], now=now)
        if window.starts < now + FREEZE_HORIZON
    ]
    versions = []
    if viewer.may(Action.READ_STATE, env):
        found = list_versions(context.state_store, environment=env, limit=RECENT_VERSIONS)
        versions = sorted(found, key=lambda v: (v.at, v.serial), reverse=True)[:RECENT_VERSIONS]
    return {
        "env": env,
        "tz": picture.timezone,
        "p": picture,
        "failing": failing_of(context, [env]).get(env, ()),
        "days": days_of(windows, viewer, picture.timezone, now),
        "may_reserve": viewer.may(Action.RESERVE, env),
        "deploys": list_deploys(engine, environments=[env], limit=RECENT_DEPLOYS),
        "may_read_state": viewer.may(Action.READ_STATE, env),
        "versions": versions,
        "size": _size,
        "events": list_events(engine, environment=env, limit=RECENT_EVENTS, now=now),
    }


async def _environment_page(
    request: Request,
    viewer: Viewer,
    context: Server,
    env: str,
    *,
    notice: str = "",
    problem: SignalboxError | None = None,
) -> HTMLResponse:
    values = await run_in_threadpool(environment_context, context, viewer, env)
    return page(
        request,
        "environment.html",
        viewer=viewer,
        title=env,
        notice=notice,
        problem=problem,
        **values,
    )


@router.get("/environments/{env}", response_class=HTMLResponse)
async def environment(
    request: Request,
    env: str,
    done: str = "",
    viewer: Viewer = Depends(signed_in),
    context: Server = Depends(server),
) -> HTMLResponse:
    viewer.caller.require(Action.READ, context.configured(env))
    return await _environment_page(request, viewer, context, env, notice=NOTICES.get(done, ""))


@router.post("/environments/{env}/reservations/{reservation_id}/cancel")
async def cancel(
    request: Request,
    env: str,
    reservation_id: int,
    form: Posted = Depends(posted),
    context: Server = Depends(server),
) -> Response:
    caller = form.viewer.caller
    caller.require(Action.READ, context.configured(env))
    found = await run_in_threadpool(reservation_environment, context.engine, reservation_id)
    if found != env:
        raise NotFound(
            f"There is no reservation #{reservation_id} on {env}.",
            hint=f"The page of {env} lists its reservations.",
        )
    caller.require(Action.RESERVE, found)
    try:
        await run_in_threadpool(
            lambda: cancel_reservation(
                context.engine,
                reservation_id,
                by=caller.principal,
                may_cancel_any=caller.may(Action.FORCE_RELEASE, found),
                now=context.now(),
            )
        )
    except (Forbidden, InvalidTransition) as error:
        return await _environment_page(request, form.viewer, context, env, problem=error)
    wake(request, env)
    return RedirectResponse(f"/environments/{env}?done=cancelled", status_code=303)


# booking ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookingFields:
    """The booking form as typed: a date (``YYYY-MM-DD``, or empty for today), two times of
    day and a reason."""

    date: str = ""
    starts: str = ""
    ends: str = ""
    reason: str = ""

    def _when(self, clock: str, which: str, name: str) -> str:
        if not clock:
            raise InvalidTime(
                f"Give the time the window {which}, such as 15:30.",
                hint="Times are in the environment's time zone.",
                field=name,
            )
        if not self.date:
            return clock  # today in the environment's zone, as `signalbox reserve --from`
        if not _DATE.match(self.date):
            raise InvalidTime(
                f"{self.date!r} is not a date.", hint="Give the date as 2026-11-30.", field="date"
            )
        return f"{self.date} {clock}"

    def texts(self) -> tuple[str, str]:
        """The start and end as ``create_reservation`` reads them: ``2026-11-30 15:30`` (a
        local date and time in the environment's zone) or ``15:30`` (today)."""
        return self._when(self.starts, "starts", "from"), self._when(self.ends, "ends", "to")

    def window(self, *, timezone: str, now: datetime) -> tuple[datetime, datetime]:
        """The window in UTC, read as the service reads it; InvalidTime or InvalidWindow
        (with the service's words) when it cannot be booked."""
        starts_text, ends_text = self.texts()
        starts = parse_when(starts_text, now=now, tz=timezone)
        ends = parse_when(ends_text, now=now, tz=timezone)
        validate_window(starts, ends, now, timezone=timezone)
        return starts, ends

    def request(self, environment: str) -> ReservationCreate:
        starts, ends = self.texts()
        return ReservationCreate(environment, starts, ends, self.reason)


def _fields_of(form: Posted) -> BookingFields:
    return BookingFields(form.text("date"), form.text("from"), form.text("to"), form.text("reason"))


def _check_reason(reason: str) -> None:
    """The service's reason rule, checked before warning (so a warning never hides it)."""
    validated_reason(reason, hint='Say why, such as "investor demo".')


def conflicts_for(
    context: Server, env: str, starts: datetime, ends: datetime
) -> list[BookingConflict]:
    """What ``[starts, ends)`` would run into on ``env`` now (``core.booking``), from its
    picture and its windows (every freeze occurrence in the window, however far ahead)."""
    now = context.now()
    engine, settings = context.engine, context.settings
    picture = environment_picture(engine, settings, env, now=now, cache=context.pictures)
    windows = list_reservations(
        engine, settings, environments=[env], now=now, include_freezes=False
    )
    windows += freeze_windows_between(settings, env, starts, ends)
    return booking_conflicts(
        starts=starts,
        ends=ends,
        now=now,
        expected_deploy=picture.expected_deploy,
        running=picture.running,
        queue=picture.queue,
        windows=windows,
        timezone=picture.timezone,
    )


def _reserve_page(
    request: Request,
    viewer: Viewer,
    context: Server,
    env: str,
    fields: BookingFields,
    *,
    status: int | None = None,
    problem: SignalboxError | None = None,
    conflicts: Sequence[BookingConflict] = (),
) -> HTMLResponse:
    tz = context.timezone(env)
    return page(
        request,
        "reserve.html",
        viewer=viewer,
        title=f"Book a window on {env}",
        status=status,
        env=env,
        tz=tz,
        fields=fields,
        problem=problem,
        conflicts=conflicts,
    )


@router.get("/environments/{env}/reserve", response_class=HTMLResponse)
async def reserve_form(
    request: Request,
    env: str,
    day: str = Query("", alias="date"),
    starts: str = Query("", alias="from"),
    ends: str = Query("", alias="to"),
    viewer: Viewer = Depends(signed_in),
    context: Server = Depends(server),
) -> HTMLResponse:
    viewer.caller.require(Action.RESERVE, context.configured(env))
    today = to_zone(context.now(), context.timezone(env)).date().isoformat()
    fields = BookingFields(day.strip() or today, starts.strip(), ends.strip())
    return _reserve_page(request, viewer, context, env, fields)


@router.post("/environments/{env}/reserve", response_class=HTMLResponse)
async def reserve(
    request: Request, env: str, form: Posted = Depends(posted), context: Server = Depends(server)
) -> Response:
    viewer = form.viewer
    viewer.caller.require(Action.RESERVE, context.configured(env))
    fields = _fields_of(form)
    now = context.now()
    try:
        starts, ends = fields.window(timezone=context.timezone(env), now=now)
        _check_reason(fields.reason)
        if form.text("confirmed") != "yes":
            conflicts = await run_in_threadpool(conflicts_for, context, env, starts, ends)
            if conflicts:  # nothing booked yet: say so, and let the person decide
                return _reserve_page(
                    request, viewer, context, env, fields, status=409, conflicts=conflicts
                )
        await run_in_threadpool(
            lambda: create_reservation(
                context.engine,
                context.settings,
                fields.request(env),
                owner=viewer.caller.principal,
                now=now,
            )
        )
    except SignalboxError as error:
        return _reserve_page(request, viewer, context, env, fields, problem=error)
    wake(request, env)
    return RedirectResponse(f"/environments/{env}?done=booked", status_code=303)


@router.get("/environments/{env}/reserve/check", response_class=HTMLResponse)
async def reserve_check(
    request: Request,
    env: str,
    day: str = Query("", alias="date"),
    starts: str = Query("", alias="from"),
    ends: str = Query("", alias="to"),
    viewer: Viewer = Depends(signed_in),
    context: Server = Depends(server),
) -> HTMLResponse:
    """The warnings for a window, as a fragment: always 200 (what it says is for people)."""
    viewer.caller.require(Action.RESERVE, context.configured(env))
    fields = BookingFields(day.strip(), starts.strip(), ends.strip())
    problem: SignalboxError | None = None
    conflicts: list[BookingConflict] = []
    checked = bool(fields.date and fields.starts and fields.ends)
    if checked:
        try:
            window = fields.window(timezone=context.timezone(env), now=context.now())
            conflicts = await run_in_threadpool(conflicts_for, context, env, *window)
        except SignalboxError as error:
            problem = error
    html = render("_reserve_check.html", checked=checked, problem=problem, conflicts=conflicts)
    return HTMLResponse(html, headers=PAGE_HEADERS)

"""Reservations: book a window on an environment ("investor demo, 15:30-16:30"), list, cancel.

Times are read in the environment's time zone (``core.times.parse_when``), stored in UTC.
A window that cannot be stored (ends before it starts, already over, too long, a time that
cannot be read) raises before anything is written. Every change writes its event in the
same transaction. Recurring freeze windows from the configuration are listed with the
reservations (``kind="freeze"``, no id), so people see every window the gate honours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from signalbox.core.errors import Forbidden, InvalidTransition, unknown_environment
from signalbox.core.events import ReservationCancelled, ReservationCreated
from signalbox.core.freeze import materialise, parse_freeze_windows
from signalbox.core.reasons import check_reason
from signalbox.core.reservations import validate_window
from signalbox.core.times import parse_when
from signalbox.core.views import Principal, ReservationView
from signalbox.services.events import emit
from signalbox.settings import Settings
from signalbox.storage.repositories.reservations import (
    ReservationRepository,
    reservation_view,
)
from signalbox.storage.tables import ReservationRow
from signalbox.storage.uow import UnitOfWork

__all__ = [
    "FREEZE_HORIZON",
    "ReservationCreate",
    "cancel_reservation",
    "create_reservation",
    "environment_timezone",
    "freeze_windows_between",
    "list_reservations",
    "reservation_environment",
    "validated_reason",
]

FREEZE_HORIZON = timedelta(days=14)
"""How far ahead recurring freeze windows are listed."""


@dataclass(frozen=True, slots=True)
class ReservationCreate:
    environment: str
    starts: str  # as typed: "15:30", "2026-11-26 15:30", ISO 8601
    ends: str
    reason: str


def environment_timezone(settings: Settings, environment: str) -> str:
    config = settings.environments.get(environment)
    return config.timezone if config is not None else settings.timezone


def freeze_windows_between(
    settings: Settings, environment: str, start: datetime, end: datetime
) -> list[ReservationView]:
    """The configured recurring freeze windows of ``environment`` overlapping [start, end)."""
    config = settings.environments.get(environment)
    if config is None or not config.freeze_windows:
        return []
    windows = parse_freeze_windows(
        list(config.freeze_windows),
        where=f"environments.{environment}.freeze",
        default_timezone=config.timezone,
    )
    return materialise(windows, environment, start, end)


def validated_reason(reason: str, *, hint: str = 'Add --reason "investor demo".') -> str:
    """``reason`` stripped, once it is one a reservation may have (InvalidInput otherwise,
    with ``hint``: the CLI's words by default, a page passes its own)."""
    cleaned = (reason or "").strip()
    check_reason(
        cleaned,
        missing="A reservation needs a reason, so that whoever is refused knows why.",
        hint=hint,
    )
    return cleaned


def create_reservation(
    engine: Engine,
    settings: Settings,
    request: ReservationCreate,
    *,
    owner: Principal,
    now: datetime,
) -> ReservationView:
    """Book ``request``'s window; raises (and stores nothing) when it cannot be booked."""
    reason = validated_reason(request.reason)
    with UnitOfWork(engine) as uow:
        uow.lock_environment(request.environment)
        now = uow.now(now)
        tz = environment_timezone(settings, request.environment)
        starts = parse_when(request.starts, now=now, tz=tz)
        ends = parse_when(request.ends, now=now, tz=tz)
        validate_window(starts, ends, now, timezone=tz)
        row = ReservationRepository(uow.session).add(
            ReservationRow(
                environment=request.environment,
                owner=owner.name,
                reason=reason,
                starts=starts,
                ends=ends,
                created_at=now,
            )
        )
        created = ReservationCreated(reservation_id=row.id, starts=starts, ends=ends, reason=reason)
        emit(uow, created, environment=request.environment, actor=owner.name, now=now)
        return reservation_view(row)


def list_reservations(
    engine: Engine,
    settings: Settings,
    *,
    environments: list[str] | None,
    now: datetime,
    include_freezes: bool = True,
) -> list[ReservationView]:
    """Reservations not over yet (and freeze windows of the next two weeks), by start."""
    with UnitOfWork(engine, read_only=True) as uow:
        known = uow.environments.names()
        for name in environments or []:
            if name not in known:
                raise unknown_environment(name, known)
        names = environments if environments is not None else known
        rows = ReservationRepository(uow.session).not_over(environments=names, now=now)
        found = [reservation_view(row) for row in rows]
    if include_freezes:
        for name in names:
            found.extend(freeze_windows_between(settings, name, now, now + FREEZE_HORIZON))
    return sorted(found, key=lambda view: (view.starts, view.ends, view.environment))


def reservation_environment(engine: Engine, reservation_id: int) -> str:
    """The environment of reservation ``reservation_id`` (NotFound if there is none)."""
    with UnitOfWork(engine, read_only=True) as uow:
        return ReservationRepository(uow.session).get(reservation_id).environment


def cancel_reservation(
    engine: Engine,
    reservation_id: int,
    *,
    by: Principal,
    may_cancel_any: bool,
    now: datetime,
) -> ReservationView:
    """Cancel a reservation: its owner may, and whoever ``may_cancel_any`` (admins)."""
    with UnitOfWork(engine) as uow:
        repository = ReservationRepository(uow.session)
        environment = repository.get(reservation_id).environment
        uow.lock_environment(environment)
        now = uow.now(now)
        row = repository.get(reservation_id)
        if row.cancelled_at is not None:
            raise InvalidTransition(
                f"Reservation #{reservation_id} was already cancelled by {row.cancelled_by}.",
                hint="List the reservations in force with `signalbox reservations`.",
            )
        if row.owner != by.name and not may_cancel_any:
            raise Forbidden(
                f"Reservation #{reservation_id} belongs to {row.owner}, not to you ({by.name}).",
                hint=f"Ask {row.owner} to cancel it, or an admin.",
            )
        row.cancelled_at = now
        row.cancelled_by = by.name
        cancelled = ReservationCancelled(
            reservation_id=reservation_id,
            owner=row.owner,
            reason=row.reason,
            starts=row.starts,
            ends=row.ends,
        )
        emit(uow, cancelled, environment=environment, actor=by.name, now=now)
        return reservation_view(row)

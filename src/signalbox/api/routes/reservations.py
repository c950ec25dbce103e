"""Reservations: book a window on an environment, list them (with freeze windows), cancel.

POST   /api/environments/{env}/reservations   {starts, ends, reason}  (stakeholder+)
GET    /api/reservations?environment=ENV
DELETE /api/reservations/{id}                  the owner, or an admin
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from signalbox.api.auth import current_caller
from signalbox.api.context import Server, server
from signalbox.api.longpoll import wake
from signalbox.api.models.bounds import RowId
from signalbox.api.models.reservations import (
    ReservationCancelRead,
    ReservationCreate,
    ReservationCreatedRead,
    ReservationListRead,
    ReservationRead,
)
from signalbox.core.roles import Action
from signalbox.services import reservations
from signalbox.services.tokens import Caller

router = APIRouter(prefix="/api", tags=["reservations"])


@router.post(
    "/environments/{environment}/reservations",
    status_code=201,
    response_model=ReservationCreatedRead,
)
def create(
    environment: str,
    body: ReservationCreate,
    request: Request,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> ReservationCreatedRead:
    """Reserve a window; deploys that would still run inside it are refused."""
    caller.require(Action.RESERVE, context.configured(environment))
    view = reservations.create_reservation(
        context.engine,
        context.settings,
        reservations.ReservationCreate(environment, body.starts, body.ends, body.reason),
        owner=caller.principal,
        now=context.now(),
    )
    wake(request, environment)
    return ReservationCreatedRead(
        reservation=ReservationRead.of(view, context.timezone(environment))
    )


@router.get("/reservations", response_model=ReservationListRead)
def list_all(
    environment: str | None = Query(None),
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> ReservationListRead:
    """Reservations not over yet and freeze windows of the next two weeks, by start."""
    found = reservations.list_reservations(
        context.engine,
        context.settings,
        environments=context.readable(caller, environment),
        now=context.now(),
    )
    return ReservationListRead(
        reservations=[
            ReservationRead.of(view, context.timezone(view.environment)) for view in found
        ]
    )


@router.delete("/reservations/{reservation_id}", response_model=ReservationCancelRead)
def cancel(
    reservation_id: RowId,
    request: Request,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> ReservationCancelRead:
    """Cancel a reservation (its owner, or an admin of its environment)."""
    found = reservations.reservation_environment(context.engine, reservation_id)
    caller.require(Action.RESERVE, found)
    view = reservations.cancel_reservation(
        context.engine,
        reservation_id,
        by=caller.principal,
        may_cancel_any=caller.may(Action.FORCE_RELEASE, found),
        now=context.now(),
    )
    wake(request, found)
    return ReservationCancelRead(cancelled=ReservationRead.of(view, context.timezone(found)))

"""Incidents: open, list, show, post updates, resolve, reopen.

Opening and every change need ``open-incident`` on the incident's environment (developers
and admins); reading needs ``read``. A hand-over or naming responders is further limited to
the incident's commander or an admin, which the service decides (it knows the commander
under the environment's lock); the route tells it whether the caller is an admin there.
Each change wakes this process's waiting gates of the environment at once (``wake``), so
an opening that refuses them is heard now, not at the change feed's next tick.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from signalbox.api.auth import current_caller
from signalbox.api.context import Server, server
from signalbox.api.longpoll import wake
from signalbox.api.models.bounds import RowId
from signalbox.api.models.incidents import (
    IncidentCreate,
    IncidentListRead,
    IncidentNote,
    IncidentRead,
    IncidentUpdateCreate,
)
from signalbox.core.roles import Action
from signalbox.services import incidents
from signalbox.services.tokens import Caller

router = APIRouter(prefix="/api/incidents", tags=["incidents"])


@router.post("", response_model=IncidentRead, status_code=201)
def open_incident(
    body: IncidentCreate,
    request: Request,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> IncidentRead:
    """Open an incident; 409 ``incident-open`` when the environment has one open already."""
    caller.require(Action.OPEN_INCIDENT, context.configured(body.environment))
    opened = incidents.open_incident(
        context.engine,
        context.settings,
        environment=body.environment,
        title=body.title,
        severity=body.severity,
        commander=body.commander,
        freeze=body.freeze,
        eta=body.eta,
        note=body.note,
        opener=caller.principal,
        now=context.now(),
    )
    return _changed(request, body.environment, opened)  # refused gates hear it now


@router.get("", response_model=IncidentListRead)
def list_incidents(
    environment: str | None = Query(None, description="Only this environment."),
    include_resolved: bool = Query(False, alias="all", description="Resolved ones too."),
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> IncidentListRead:
    """The open incidents (``all=true``: every one) of the environments you may read, newest
    first."""
    found = incidents.list_incidents(
        context.engine,
        environments=context.readable(caller, environment),
        include_resolved=include_resolved,
    )
    return IncidentListRead(incidents=[IncidentRead.of(incident) for incident in found])


@router.get("/{incident_id}", response_model=IncidentRead)
def show_incident(
    incident_id: RowId, caller: Caller = Depends(current_caller), context: Server = Depends(server)
) -> IncidentRead:
    """One incident with its updates as posted."""
    found = incidents.get_incident(context.engine, incident_id)
    caller.require(Action.READ, found.view.environment)
    return IncidentRead.of(found)


def _environment_of(context: Server, caller: Caller, incident_id: int) -> str:
    """The incident's environment, once the caller may change incidents there."""
    environment = incidents.incident_environment(context.engine, incident_id)
    caller.require(Action.OPEN_INCIDENT, environment)
    return environment


def _changed(request: Request, environment: str, incident: incidents.Incident) -> IncidentRead:
    """The answer to a change of ``incident``, once this process's gates waiting on its
    environment are woken."""
    wake(request, environment)
    return IncidentRead.of(incident, with_effects=True)


@router.post("/{incident_id}/updates", response_model=IncidentRead)
def post_update(
    incident_id: RowId,
    body: IncidentUpdateCreate,
    request: Request,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> IncidentRead:
    """Post a status, an ETA, a note; hand over or name responders (commander or admin)."""
    environment = _environment_of(context, caller, incident_id)
    updated = incidents.update_incident(
        context.engine,
        incident_id=incident_id,
        caller=caller.principal,
        caller_is_admin=caller.may(Action.FORCE_RELEASE, environment),
        now=context.now(),
        status=body.status,
        eta=body.eta,
        note=body.note,
        commander=body.commander,
        responders=body.responders,
    )
    return _changed(request, environment, updated)


@router.post("/{incident_id}/resolve", response_model=IncidentRead)
def resolve(
    incident_id: RowId,
    request: Request,
    body: IncidentNote | None = None,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> IncidentRead:
    """Resolve it: the environment is unfrozen and suspended holds come back."""
    environment = _environment_of(context, caller, incident_id)
    resolved = incidents.resolve_incident(
        context.engine,
        incident_id=incident_id,
        caller=caller.principal,
        now=context.now(),
        note=body.note if body else "",
    )
    return _changed(request, environment, resolved)


@router.post("/{incident_id}/reopen", response_model=IncidentRead)
def reopen(
    incident_id: RowId,
    request: Request,
    body: IncidentNote | None = None,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> IncidentRead:
    """Open a resolved incident again: it freezes again as it did."""
    environment = _environment_of(context, caller, incident_id)
    reopened = incidents.reopen_incident(
        context.engine,
        context.settings,
        incident_id=incident_id,
        caller=caller.principal,
        now=context.now(),
        note=body.note if body else "",
    )
    return _changed(request, environment, reopened)

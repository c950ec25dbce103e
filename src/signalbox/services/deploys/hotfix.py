"""The hotfix lane's door: may this request be a hotfix of incident N?

Asked inside the transaction that decides (a request locks the environment first, so the
incident cannot be resolved or handed over between the check and the decision), and by a
preflight in its read-only one. The checks, in order: the incident exists (UnknownIncident,
404), is on the environment asked for (InvalidInput on ``hotfix``, 422), is open
(InvalidTransition, 409), and the caller is in its team (``core.incidents.is_responder``:
the token's name, or for a CI token the run's actor) - else Forbidden (403), naming the
commander to ask.
"""

from __future__ import annotations

from signalbox.core.errors import Forbidden, InvalidInput
from signalbox.core.incidents import (
    IncidentView,
    hotfix_not_allowed,
    is_responder,
    require_open,
)
from signalbox.core.views import Principal
from signalbox.storage.repositories.incidents import IncidentRepository, incident_view
from signalbox.storage.uow import UnitOfWork

__all__ = ["HOTFIX_PRIORITY", "hotfix_incident"]

HOTFIX_PRIORITY = 1
"""A hotfix's priority: the queue goes by priority first, so it jumps every queued deploy."""


def hotfix_incident(
    uow: UnitOfWork, incident_id: int, *, environment: str, requester: Principal, actor: str
) -> IncidentView:
    """The open incident ``incident_id`` of ``environment`` whose hotfix ``requester`` (for
    a CI token: on behalf of ``actor``) may run; the matching error otherwise."""
    incident = incident_view(IncidentRepository(uow.session).get(incident_id))
    if incident.environment != environment:
        raise InvalidInput(
            f"Incident {incident.id} is on {incident.environment}, not {environment}.",
            hint=f"Deploy the hotfix to {incident.environment}, or give the number of "
            f"{environment}'s incident (`signalbox incidents --env {environment}`).",
            field="hotfix",
        )
    require_open(incident, doing="given a hotfix")
    if not is_responder(incident, requester=requester.name, is_ci=requester.is_ci, actor=actor):
        message, hint = hotfix_not_allowed(incident, requester=requester.name, actor=actor)
        raise Forbidden(message, hint=hint, incident_id=incident.id, commander=incident.commander)
    return incident

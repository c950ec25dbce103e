"""Incidents: an environment is broken. One module per use case, each one transaction that
locks the environment, asks ``core.incidents`` (and ``core.gate`` for the freeze), writes
the rows and the catalogue events:

- ``open.open_incident``: open one (one per environment); a freezing one suspends other
  people's work holds and refuses the waiting deploys that are not its hotfix;
- ``update.update_incident``: status, ETA, note; hand-over and responders (the commander's);
- ``resolve.resolve_incident``, ``resolve.reopen_incident``: end it (suspended holds come
  back) or open it again (it freezes again);
- ``reads.list_incidents``, ``reads.get_incident``: reads.

The shared pieces: ``freeze`` (what an incident does to its environment: suspend, refuse,
at risk, return) and ``changes`` (lock, post an update, write the event).
"""

from signalbox.services.incidents.open import open_incident
from signalbox.services.incidents.reads import (
    Effects,
    Incident,
    IncidentUpdate,
    get_incident,
    incident_environment,
    list_incidents,
)
from signalbox.services.incidents.resolve import reopen_incident, resolve_incident
from signalbox.services.incidents.update import update_incident

__all__ = [
    "Effects",
    "Incident",
    "IncidentUpdate",
    "get_incident",
    "incident_environment",
    "list_incidents",
    "open_incident",
    "reopen_incident",
    "resolve_incident",
    "update_incident",
]

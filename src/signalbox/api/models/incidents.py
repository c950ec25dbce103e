"""Incidents: the request bodies and the one shape of an incident in every answer.

Times are UTC (``...Z``) with the environment's ``timezone`` to show them in, as in the
other answers; ``eta`` is typed as people say it (``30m``, ``15:30`` in that zone) and
read by the server, so every client agrees on what it means.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from signalbox.api.models.bounds import WhenText
from signalbox.services.incidents import Effects, Incident, IncidentUpdate

__all__ = [
    "EffectsRead",
    "IncidentCreate",
    "IncidentListRead",
    "IncidentNote",
    "IncidentRead",
    "IncidentUpdateCreate",
    "IncidentUpdateRead",
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IncidentCreate(_Body):
    environment: str = Field(description="The broken environment, e.g. dev.")
    title: str = Field(description="What is broken, as users see it.")
    severity: str = Field("sev2", description="sev1 (the worst), sev2 or sev3.")
    commander: str | None = Field(None, description="Who leads it (default: you).")
    freeze: bool | None = Field(
        None, description="Freeze the environment (default: yes for sev1 and sev2)."
    )
    eta: WhenText | None = Field(None, description="When it should work again: 30m, 15:30.")
    note: str = Field("", description="What is known so far.")


class IncidentUpdateCreate(_Body):
    status: str | None = Field(
        None, description="investigating, identified, mitigated or monitoring."
    )
    eta: WhenText | None = Field(None, description="A new ETA: 30m, 15:30.")
    note: str = ""
    commander: str | None = Field(None, description="Hand over (the commander or an admin).")
    responders: list[str] = Field(
        default_factory=list,
        description="Names who may run its hotfixes (the commander or an admin).",
    )


class IncidentNote(_Body):
    note: str = Field("", description="How it was resolved, or why it is reopened.")


class IncidentUpdateRead(BaseModel):
    """An update as posted: ``kind`` is opened, update, resolved or reopened."""

    kind: str
    at: datetime
    author: str
    status: str
    commander: str
    eta: datetime | None
    note: str

    @classmethod
    def of(cls, update: IncidentUpdate) -> IncidentUpdateRead:
        return cls(
            kind=update.kind,
            at=update.at,
            author=update.author,
            status=str(update.status),
            commander=update.commander,
            eta=update.eta,
            note=update.note,
        )


class EffectsRead(BaseModel):
    """What this change did to the environment."""

    refused_deploys: list[int] = Field(description="Waiting deploys refused by the freeze.")
    suspended_holds: list[str] = Field(description="Owners of the holds the freeze suspended.")
    returned_holds: list[str] = Field(description="Owners whose suspended holds came back.")
    lapsed_holds: list[str] = Field(description="Owners whose suspended holds lapsed.")
    at_risk: list[int] = Field(description="Reservations newly told they are at risk.")

    @classmethod
    def of(cls, effects: Effects) -> EffectsRead:
        return cls(
            refused_deploys=list(effects.refused_deploys),
            suspended_holds=list(effects.suspended_holds),
            returned_holds=list(effects.returned_holds),
            lapsed_holds=list(effects.lapsed_holds),
            at_risk=list(effects.at_risk),
        )


class IncidentRead(BaseModel):
    """An incident: ``frozen`` while it is open and freezes its environment (only its
    hotfixes deploy); ``team`` may run its hotfixes (the commander and the responders)."""

    id: int
    environment: str
    title: str
    severity: str
    status: str
    commander: str
    responders: list[str]
    team: list[str]
    freezes: bool
    frozen: bool
    eta: datetime | None
    opened_at: datetime
    opened_by: str
    updated_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    at_risk: list[int] = Field(description="Reservations told they are at risk (ids).")
    timezone: str = Field(description="The environment's time zone, to show times in.")
    updates: list[IncidentUpdateRead] = Field(description="Oldest first; empty in a listing.")
    effects: EffectsRead | None = Field(
        None, description="In the answer to a change: what it did to the environment."
    )

    @classmethod
    def of(cls, incident: Incident, *, with_effects: bool = False) -> IncidentRead:
        view = incident.view
        return cls(
            id=view.id,
            environment=view.environment,
            title=view.title,
            severity=str(view.severity),
            status=str(view.status),
            commander=view.commander,
            responders=list(view.responders),
            team=list(view.team),
            freezes=view.freezes,
            frozen=view.is_freezing,
            eta=view.eta,
            opened_at=view.opened_at,
            opened_by=view.opened_by,
            updated_at=view.updated_at,
            resolved_at=view.resolved_at,
            resolved_by=incident.resolved_by,
            at_risk=list(incident.at_risk),
            timezone=incident.timezone,
            updates=[IncidentUpdateRead.of(update) for update in incident.updates],
            effects=EffectsRead.of(incident.effects) if with_effects else None,
        )


class IncidentListRead(BaseModel):
    incidents: list[IncidentRead]

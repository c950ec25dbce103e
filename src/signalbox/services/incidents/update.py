"""Post an update to an open incident: a status, an ETA, a note, a new commander, responders.

Anyone who may open incidents on the environment may post a status, an ETA or a note. The
commander's hand-over (``commander``) and naming responders (who may then run its hotfixes)
are the commander's, or an admin's: anyone else is Forbidden, told whom to ask, since the
hotfix lane must not be a way around the gate. A new ETA re-checks which reservations the
incident puts at risk (each is told once). ``resolved`` is not a status an update sets:
that is ``resolve.resolve_incident``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Engine

from signalbox.core.errors import Forbidden, InvalidInput
from signalbox.core.events import IncidentUpdated
from signalbox.core.incidents import check_note, check_person, parse_eta, require_open
from signalbox.core.views import Principal
from signalbox.services.incidents.changes import lock_incident, parse_status, post_update, record
from signalbox.services.incidents.freeze import mark_at_risk
from signalbox.services.incidents.reads import Effects, Incident, incident_of
from signalbox.storage.repositories.incidents import IncidentRepository, incident_view
from signalbox.storage.uow import UnitOfWork

__all__ = ["update_incident"]


def update_incident(
    engine: Engine,
    *,
    incident_id: int,
    caller: Principal,
    caller_is_admin: bool,
    now: datetime,
    status: str | None = None,
    eta: str | None = None,
    note: str = "",
    commander: str | None = None,
    responders: Sequence[str] = (),
) -> Incident:
    """Post an update to incident ``incident_id`` (see module doc); returns it as it is now."""
    said = check_note(note)
    lead = check_person(commander, field="commander") if commander else None
    named = [check_person(name, field="responders") for name in responders]
    if not (status or eta or said or lead or named):
        raise InvalidInput(
            f"An update of incident {incident_id} needs something to say.",
            hint="Give --status, --eta, --note, --commander or --responder.",
            field="note",
        )
    with UnitOfWork(engine) as uow:
        row, env = lock_incident(uow, incident_id)
        now = uow.now(now)  # read after the environment's lock
        view = incident_view(row)
        require_open(view, doing="updated")
        new_status = parse_status(status, incident_id=row.id) if status else None
        expected = parse_eta(eta, now=now, timezone=env.timezone) if eta else None
        handover = lead is not None and lead != row.commander
        if (handover or named) and caller.name != row.commander and not caller_is_admin:
            what = "hand it over" if handover else "name its responders"
            raise Forbidden(
                f"Only incident {row.id}'s commander ({row.commander}) or an admin may {what}.",
                hint=f"Ask {row.commander} to run `signalbox incident update {row.id} ...`.",
                action="incident-commander",
                environment=row.environment,
                commander=row.commander,
            )
        previous = row.commander if handover else None
        if lead is not None:
            row.commander = lead
        added = tuple(dict.fromkeys(n for n in named if n not in row.responders and n != lead))
        if added:
            row.responders = [*row.responders, *added]
        if new_status is not None:
            row.status = str(new_status)
        if expected is not None:
            row.eta = expected
        post_update(uow, row, kind="update", author=caller.name, note=said, now=now)
        record(
            uow,
            IncidentUpdated,
            row,
            actor=caller.name,
            note=said,
            now=now,
            previous_commander=previous,
            responders_added=added,
        )
        marked = mark_at_risk(uow, row, now=now) if expected is not None else ()
        updates = IncidentRepository(uow.session).updates(row.id)
        return incident_of(row, env.timezone, updates=updates, effects=Effects(at_risk=marked))

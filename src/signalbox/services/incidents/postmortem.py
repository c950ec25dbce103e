"""Gather the facts of an incident and draft its postmortem (``core.postmortem.draft``).

The window runs from ``since`` (default 6h) before the opening to the resolution, or to now
while the incident is open. In it: the environment's events (told again in its time zone,
from the catalogue), the deploys they refer to or that were requested in it (with the plan
summary from the stored analysis: addresses, never values), and for each state write or
restore the resource addresses it removed, found by comparing the written version's
addresses with the previous version's (``services.tfstate.show_version``). State values
never leave the state store: only addresses reach the draft.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select

from signalbox.core.errors import InvalidInput, StateIntegrityError, UnknownState
from signalbox.core.postmortem import (
    DEFAULT_SINCE,
    DeployFact,
    EventFact,
    PostedUpdate,
    Postmortem,
    PostmortemFacts,
    StateWriteFact,
    draft,
)
from signalbox.core.status import plan_summary
from signalbox.core.tfstate import StateKey
from signalbox.services.events import told
from signalbox.services.tfstate import StateStore, show_version
from signalbox.storage.repositories.incidents import (
    IncidentRepository,
    action_view,
    incident_view,
)
from signalbox.storage.tables import DeployRow, EventRow, IncidentUpdateRow
from signalbox.storage.uow import UnitOfWork

__all__ = ["MAX_SINCE", "draft_postmortem"]

MAX_SINCE = timedelta(days=7)
"""How far before the opening a draft may look: enough for a change that broke slowly."""

STATE_WRITES = frozenset({"state.written", "state.restored"})


def draft_postmortem(
    store: StateStore,
    *,
    incident_id: int,
    now: datetime,
    since: timedelta = DEFAULT_SINCE,
) -> Postmortem:
    """The postmortem of incident ``incident_id`` as of ``now``, looking ``since`` before
    its opening (UnknownIncident if there is none)."""
    if since <= timedelta(0) or since > MAX_SINCE:
        raise InvalidInput(
            "--since must be a duration between 1s and 7d.",
            hint="Look back far enough for the change that broke it: 6h by default, e.g. 1d.",
            field="since",
        )
    with UnitOfWork(store.engine, read_only=True) as uow:
        repo = IncidentRepository(uow.session)
        row = repo.get(incident_id)
        incident = incident_view(row)
        timezone = uow.environments.get(incident.environment).timezone
        starts = incident.opened_at - since
        ends = incident.resolved_at if not incident.is_open and incident.resolved_at else now
        events = _events(uow, incident.environment, starts, ends, timezone, incident.opened_at)
        deploys = _deploys(uow, incident.environment, starts, ends, events)
        updates = tuple(_posted(update) for update in repo.updates(incident_id))
        actions = tuple(action_view(action) for action in repo.actions(incident_ids=[incident_id]))
    writes = tuple(_state_write(store, incident.environment, e) for e in events if _is_write(e))
    facts = PostmortemFacts(
        incident=incident,
        updates=updates,
        events=events,
        deploys=deploys,
        state_writes=writes,
        actions=actions,
        timezone=timezone,
        since=starts,
        now=now,
    )
    return draft(facts)


def _posted(row: IncidentUpdateRow) -> PostedUpdate:
    return PostedUpdate(row.kind, row.at, row.author, row.status, row.commander, row.eta, row.note)


def _events(
    uow: UnitOfWork,
    environment: str,
    starts: datetime,
    ends: datetime,
    timezone: str,
    opened: datetime,
) -> tuple[EventFact, ...]:
    """The environment's events in the window, oldest first, each told in its zone as of
    the opening (so that the day is named only for another day)."""
    query = (
        select(EventRow)
        .where(EventRow.environment == environment, EventRow.at >= starts, EventRow.at <= ends)
        .order_by(EventRow.id)
    )
    return tuple(
        EventFact(row.id, row.kind, row.at, row.actor, told(row, timezone, opened), dict(row.data))
        for row in uow.session.scalars(query)
    )


def _deploys(
    uow: UnitOfWork,
    environment: str,
    starts: datetime,
    ends: datetime,
    events: tuple[EventFact, ...],
) -> tuple[DeployFact, ...]:
    """The deploys requested in the window, and those its events refer to."""
    referred = {e.data["deploy_id"] for e in events if isinstance(e.data.get("deploy_id"), int)}
    in_window = (DeployRow.requested_at >= starts) & (DeployRow.requested_at <= ends)
    query = (
        select(DeployRow)
        .where(
            DeployRow.environment == environment,
            or_(in_window, DeployRow.id.in_(sorted(referred))),
        )
        .order_by(DeployRow.id)
    )
    return tuple(
        DeployFact(
            id=row.id,
            requester=row.requester,
            actor=row.actor,
            branch=row.branch,
            commit=row.commit,
            state=row.state,
            requested_at=row.requested_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            outcome=row.outcome,
            plan=plan_summary(row.plan_verdict, row.analysis),
            run_url=row.run_url,
            hotfix_for=row.incident_id,
        )
        for row in uow.session.scalars(query)
    )


def _is_write(event: EventFact) -> bool:
    return event.kind in STATE_WRITES and isinstance(event.data.get("serial"), int)


def _state_write(store: StateStore, environment: str, event: EventFact) -> StateWriteFact:
    """The state write of ``event`` and the addresses it removed (addresses only)."""
    name, serial = str(event.data.get("state", "")), int(event.data["serial"])
    deploy_id = event.data.get("deploy_id")
    deploy = deploy_id if isinstance(deploy_id, int) else None
    try:
        change = show_version(store, key=StateKey(environment, name), serial=serial)
    except UnknownState:
        note = "this version is no longer kept; what it removed is unknown"
        return StateWriteFact(name, serial, event.at, event.actor, deploy, (), note)
    except ValueError:  # a body that is not a state of the expected shape
        note = "its body could not be read as a state; what it removed is unknown"
        return StateWriteFact(name, serial, event.at, event.actor, deploy, (), note)
    except StateIntegrityError:  # damaged at rest: told (and recorded) by show_version
        note = "its stored body is damaged (see `signalbox db check`); what it removed is unknown"
        return StateWriteFact(name, serial, event.at, event.actor, deploy, (), note)
    if deploy is None:
        deploy = change.version.deploy_id
    return StateWriteFact(
        name, serial, event.at, event.actor, deploy, tuple(change.removed), change.note
    )

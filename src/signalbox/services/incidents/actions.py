"""Follow-up actions of an incident: what the postmortem promises, with an owner, a due
date and a status (proposed, accepted, in-progress, done, not-doing).

Each change is one transaction that locks the incident's environment, writes the row and
its event (``action.added``, ``action.updated``) on that environment, so the people who
follow it hear of it. Who may: ``Action.OPEN_INCIDENT`` on the incident's environment (the
routes check it with ``incident_environment`` / ``action_environment`` first: an
incident's environment never changes). An action past its due date and not closed is
``overdue`` (``core.incidents.is_overdue``, by the day in the environment's zone).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine

from signalbox.core.errors import InvalidInput
from signalbox.core.events import ActionAdded, ActionUpdated
from signalbox.core.incidents import (
    MAX_NOTE_CHARS,
    ActionStatus,
    ActionView,
    check_line,
    check_note,
    check_person,
    is_overdue,
    parse_due,
)
from signalbox.core.times import to_zone
from signalbox.core.views import Principal
from signalbox.services.events import emit
from signalbox.services.incidents.reads import incident_environment
from signalbox.storage.repositories.incidents import IncidentRepository, action_view
from signalbox.storage.tables import IncidentActionRow
from signalbox.storage.uow import UnitOfWork

__all__ = [
    "FollowUp",
    "action_environment",
    "add_action",
    "incident_environment",
    "list_actions",
    "parse_action_status",
    "set_action",
]


@dataclass(frozen=True, slots=True)
class FollowUp:
    """An action as people read it: the core's view, its incident's environment, its last
    note, who added it and when, and whether it is overdue today (in the env's zone)."""

    view: ActionView
    environment: str
    note: str
    created_at: datetime
    created_by: str
    updated_at: datetime
    overdue: bool

    @classmethod
    def of(cls, row: IncidentActionRow, environment: str, timezone: str, now: datetime) -> FollowUp:
        view = action_view(row)
        today = to_zone(now, timezone).date()
        return cls(
            view,
            environment,
            row.note,
            row.created_at,
            row.created_by,
            row.updated_at,
            is_overdue(view, today=today),
        )


def parse_action_status(text: str) -> ActionStatus:
    try:
        return ActionStatus(text.strip().lower())
    except ValueError:
        choices = ", ".join(status.value for status in ActionStatus)
        raise InvalidInput(
            f"{text!r} is not a status of an action.",
            hint=f"Use one of: {choices}.",
            field="status",
        ) from None


def _check_text(text: str) -> str:
    return check_line(
        text,
        field="text",
        limit=MAX_NOTE_CHARS,
        missing=(
            "An action needs a text: what will be done so that it does not happen again.",
            'Say it in a line, such as "turn on deletion protection for the user pool".',
        ),
        too_long=(
            f"The action's text is longer than {MAX_NOTE_CHARS} characters.",
            "Say what will be done in a line; link to a ticket for the details.",
        ),
    )


def action_environment(engine: Engine, action_id: int) -> str:
    """The environment of action ``action_id``'s incident (UnknownAction if there is none)."""
    with UnitOfWork(engine, read_only=True) as uow:
        repo = IncidentRepository(uow.session)
        return repo.get(repo.action(action_id).incident_id).environment


def add_action(
    engine: Engine,
    *,
    incident_id: int,
    text: str,
    by: Principal,
    now: datetime,
    owner: str = "",
    due: str | date | None = None,
) -> FollowUp:
    """Add a follow-up action (status ``proposed``) to incident ``incident_id``; ``due`` is
    ``YYYY-MM-DD``."""
    cleaned = _check_text(text)
    person = check_person(owner, field="owner") if owner.strip() else ""
    day = parse_due(due) if isinstance(due, str) and due.strip() else None
    if isinstance(due, date):
        day = due
    with UnitOfWork(engine) as uow:
        repo = IncidentRepository(uow.session)
        environment = repo.get(incident_id).environment
        env = uow.lock_environment(environment)
        now = uow.now(now)  # read after the environment's lock
        row = repo.add_action(
            IncidentActionRow(
                incident_id=incident_id,
                text=cleaned,
                owner=person,
                due=day,
                status=ActionStatus.PROPOSED.value,
                note="",
                created_at=now,
                created_by=by.name,
                updated_at=now,
            )
        )
        added = ActionAdded(
            action_id=row.id,
            incident_id=incident_id,
            text=cleaned,
            status=row.status,
            owner=person,
            due=day.isoformat() if day is not None else "",
        )
        emit(uow, added, environment=environment, actor=by.name, now=now)
        return FollowUp.of(row, environment, env.timezone, now)


def set_action(
    engine: Engine,
    *,
    action_id: int,
    status: str,
    by: Principal,
    now: datetime,
    note: str = "",
) -> FollowUp:
    """Set action ``action_id``'s status, with an optional note (kept as its last note)."""
    wanted = parse_action_status(status)
    said = check_note(note)
    with UnitOfWork(engine) as uow:
        repo = IncidentRepository(uow.session)
        environment = repo.get(repo.action(action_id).incident_id).environment
        env = uow.lock_environment(environment)
        now = uow.now(now)  # read after the environment's lock
        row = repo.action(action_id)
        row.status = wanted.value
        if said:
            row.note = said
        row.updated_at = now
        updated = ActionUpdated(
            action_id=row.id,
            incident_id=row.incident_id,
            text=row.text,
            status=row.status,
            owner=row.owner,
            due=row.due.isoformat() if row.due is not None else "",
            note=said,
        )
        emit(uow, updated, environment=environment, actor=by.name, now=now)
        return FollowUp.of(row, environment, env.timezone, now)


def list_actions(
    engine: Engine,
    *,
    now: datetime,
    environments: Collection[str] | None = None,
    incident_id: int | None = None,
    open_only: bool = False,
) -> list[FollowUp]:
    """Actions of the incidents of ``environments`` (None: every one), or of one incident,
    oldest first; ``open_only`` leaves out the done and not-doing ones."""
    with UnitOfWork(engine, read_only=True) as uow:
        zones = {row.name: row.timezone for row in uow.environments.all()}
        repo = IncidentRepository(uow.session)
        if incident_id is not None:
            incidents = [repo.get(incident_id)]
            if environments is not None and incidents[0].environment not in environments:
                incidents = []
        else:
            incidents = repo.listed(environments=environments, include_resolved=True)
        where = {row.id: row.environment for row in incidents}
        if not where:
            return []
        rows = repo.actions(incident_ids=list(where), open_only=open_only)
        return [
            FollowUp.of(row, where[row.incident_id], zones.get(where[row.incident_id], "UTC"), now)
            for row in rows
        ]

"""Incidents: the environment is broken. The rules, as pure functions.

An incident belongs to one environment and has a number, a title, a severity (``sev1`` is
the worst), a commander (who runs it), responders (whom the commander names), a status and
an ETA. sev1 and sev2 freeze the environment unless told not to (``freezes``): only deploys
marked as the incident's hotfix run, ahead of every queued deploy; other gates are refused
at once, so that they free their runners.

Only one incident is open per environment at a time: a second report of the same breakage
is an update of the first. ``is_responder`` is the hotfix lane's door: the commander and the
responders the commander named, matched against the token's name or, for a CI token, the
person CI names as the run's actor (GITHUB_ACTOR, GITLAB_USER_LOGIN), since CI runs the fix.

Follow-up actions (``ActionStatus``) are what the postmortem promises; an action past its due
date and not done (or not being done) is ``overdue``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from signalbox.core.durations import format_duration, parse_duration
from signalbox.core.errors import InvalidInput, InvalidTime, InvalidTransition
from signalbox.core.times import format_local, parse_when, require_utc
from signalbox.core.views import ReservationView

__all__ = [
    "AT_RISK_WITHOUT_ETA",
    "CLOSED_ACTIONS",
    "MAX_ETA",
    "MAX_NOTE_CHARS",
    "MAX_TITLE_CHARS",
    "OPEN_STATUSES",
    "ActionStatus",
    "ActionView",
    "IncidentStatus",
    "IncidentView",
    "Severity",
    "at_risk",
    "check_line",
    "check_note",
    "check_person",
    "check_title",
    "freezes_by_default",
    "frozen_message",
    "hotfix_not_allowed",
    "is_overdue",
    "is_responder",
    "parse_due",
    "parse_eta",
    "require_open",
    "require_resolved",
]

MAX_TITLE_CHARS = 200
MAX_NOTE_CHARS = 2000
MAX_PERSON_CHARS = 128
MAX_ETA = timedelta(days=14)
AT_RISK_WITHOUT_ETA = timedelta(hours=4)
"""Without an ETA, reservations starting within this long of now are at risk."""


class Severity(StrEnum):
    SEV1 = "sev1"
    SEV2 = "sev2"
    SEV3 = "sev3"


class IncidentStatus(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MITIGATED = "mitigated"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


OPEN_STATUSES = tuple(status for status in IncidentStatus if status is not IncidentStatus.RESOLVED)


class ActionStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in-progress"
    DONE = "done"
    NOT_DOING = "not-doing"


CLOSED_ACTIONS = frozenset({ActionStatus.DONE, ActionStatus.NOT_DOING})


def freezes_by_default(severity: Severity) -> bool:
    """sev1 and sev2 freeze the environment; sev3 leaves it open."""
    return severity in (Severity.SEV1, Severity.SEV2)


@dataclass(frozen=True, slots=True)
class IncidentView:
    """An incident as the rules see it. ``eta``: when the environment is expected back;
    ``updated_at``: the last update posted (the opening counts as one)."""

    id: int
    environment: str
    title: str
    severity: Severity
    status: IncidentStatus
    commander: str
    responders: tuple[str, ...]
    freezes: bool
    opened_at: datetime
    opened_by: str
    updated_at: datetime
    eta: datetime | None = None
    resolved_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status is not IncidentStatus.RESOLVED

    @property
    def is_freezing(self) -> bool:
        """Open and freezing: only its hotfixes deploy."""
        return self.is_open and self.freezes

    @property
    def team(self) -> tuple[str, ...]:
        """The commander and the responders: who may run its hotfixes."""
        return (self.commander, *(name for name in self.responders if name != self.commander))


@dataclass(frozen=True, slots=True)
class ActionView:
    id: int
    incident_id: int
    text: str
    status: ActionStatus
    owner: str = ""
    due: date | None = None


def is_responder(incident: IncidentView, *, requester: str, is_ci: bool, actor: str) -> bool:
    """May this caller run a hotfix of ``incident``? The commander and the named responders
    may; a person's token speaks for its own name, a CI token for the run's actor."""
    names = {requester} | ({actor} if is_ci and actor else set())
    return any(name in incident.team for name in names)


def hotfix_not_allowed(incident: IncidentView, *, requester: str, actor: str) -> tuple[str, str]:
    """(message, hint) of the 403 for a hotfix by someone outside the incident's team."""
    who = actor if actor and actor != requester else requester
    message = (
        f"{who} may not deploy a hotfix of incident {incident.id} on {incident.environment}: "
        f"only its commander ({incident.commander}) and the responders they name may."
    )
    hint = (
        f"Ask {incident.commander} to run `signalbox incident update {incident.id} "
        f"--responder {who}`, or deploy without --hotfix once the incident is resolved."
    )
    return message, hint


def frozen_message(incident: IncidentView, *, timezone: str | None, now: datetime) -> str:
    """Why a deploy that is not this incident's hotfix is refused: title, commander, ETA."""
    eta = ""
    if incident.eta is not None:
        eta = f", expected back by {_when(incident.eta, timezone, now)}"
    return (
        f"{incident.environment} is frozen by incident {incident.id} ({incident.severity}, "
        f'"{incident.title}", {incident.status}), led by {incident.commander}{eta}; only its '
        f"hotfixes deploy. Ask {incident.commander}, or run the pipeline again once "
        f"`signalbox incident resolve {incident.id}` is done."
    )


def _when(moment: datetime, timezone: str | None, now: datetime) -> str:
    if timezone is None:
        return f"{moment:%Y-%m-%dT%H:%M}Z"
    return format_local(moment, timezone, now=now)


def at_risk(
    incident: IncidentView, reservations: Iterable[ReservationView], *, now: datetime
) -> tuple[ReservationView, ...]:
    """The reservations (not freeze windows) of ``incident``'s environment that it puts at
    risk: in force now, or starting before its ETA (within ``AT_RISK_WITHOUT_ETA`` without
    one). Nothing once it is resolved."""
    if not incident.is_open:
        return ()
    now = require_utc(now)
    horizon = incident.eta if incident.eta is not None else now + AT_RISK_WITHOUT_ETA
    horizon = max(horizon, now)
    return tuple(
        window
        for window in reservations
        if window.kind == "reservation"
        and window.environment == incident.environment
        and window.ends > now
        and window.starts <= horizon
    )


def parse_eta(text: str, *, now: datetime, timezone: str) -> datetime:
    """An ETA typed by a person: a duration from now (``30m``) or a time (``15:30`` today in
    the environment's zone, or a date and time). It must be in the future and within
    ``MAX_ETA``."""
    cleaned = (text or "").strip()
    try:
        eta = now + parse_duration(cleaned)
    except InvalidInput:
        try:
            eta = parse_when(cleaned, now=now, tz=timezone)
        except InvalidTime:
            raise InvalidInput(
                f"The ETA {text!r} is neither a duration nor a time.",
                hint="Give a duration from now (30m, 1h30m) or a time (15:30, 2026-12-01 09:00).",
                field="eta",
            ) from None
    if eta <= now:
        raise InvalidInput(
            f"The ETA {text!r} ({format_local(eta, timezone, now=now)}) has already passed.",
            hint="Give a later time, or a duration from now such as 30m.",
            field="eta",
        )
    if eta - now > MAX_ETA:
        raise InvalidInput(
            f"The ETA {text!r} is more than {format_duration(MAX_ETA)} away.",
            hint="Give your best guess within two weeks, and update it as you learn more.",
            field="eta",
        )
    return eta


def parse_due(text: str) -> date:
    """An action's due date: ``2026-12-15``."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"The due date {text!r} is not a date.",
            hint="Write it as YYYY-MM-DD, such as 2026-12-15.",
            field="due",
        ) from None


def is_overdue(action: ActionView, *, today: date) -> bool:
    """Past its due date and neither done nor dropped."""
    return action.due is not None and action.due < today and action.status not in CLOSED_ACTIONS


def check_line(
    text: str, *, field: str, limit: int, missing: tuple[str, str], too_long: tuple[str, str]
) -> str:
    """``text`` on one line (runs of white space made one space), or InvalidInput naming
    ``field``: ``missing`` (message, hint) when it is blank, ``too_long`` when it has more
    than ``limit`` characters."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise InvalidInput(missing[0], hint=missing[1], field=field)
    if len(cleaned) > limit:
        raise InvalidInput(too_long[0], hint=too_long[1], field=field)
    return cleaned


def check_title(title: str) -> str:
    return check_line(
        title,
        field="title",
        limit=MAX_TITLE_CHARS,
        missing=(
            "An incident needs a title: what is broken, as users see it.",
            'Add --title "users cannot log in".',
        ),
        too_long=(
            f"The title is longer than {MAX_TITLE_CHARS} characters.",
            "Say what is broken in one line; put details in --note.",
        ),
    )


def check_note(note: str, *, field: str = "note") -> str:
    cleaned = note.strip()
    if len(cleaned) > MAX_NOTE_CHARS:
        raise InvalidInput(
            f"The {field} is longer than {MAX_NOTE_CHARS} characters.",
            hint="Keep an update short; post another one for more.",
            field=field,
        )
    return cleaned


def check_person(name: str, *, field: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_PERSON_CHARS or any(c.isspace() for c in cleaned):
        raise InvalidInput(
            f"{name!r} is not a name signalbox can use as the {field}.",
            hint="Give the person's token name or CI login, such as alice (no spaces).",
            field=field,
        )
    return cleaned


def require_open(incident: IncidentView, *, doing: str) -> None:
    """An update, a handover or a hotfix needs the incident open."""
    if not incident.is_open:
        raise InvalidTransition(
            f"Incident {incident.id} on {incident.environment} is resolved; it cannot be {doing}.",
            hint=f"Reopen it first (`signalbox incident reopen {incident.id}`), or open a new one.",
        )


def require_resolved(incident: IncidentView) -> None:
    if incident.is_open:
        raise InvalidTransition(
            f"Incident {incident.id} on {incident.environment} is still open ({incident.status}).",
            hint=f"Resolve it with `signalbox incident resolve {incident.id}`.",
        )

"""The catalogue of events: every kind of change signalbox records, declared once.

Each kind is a small frozen dataclass that subclasses ``Event``: its ``kind`` (``hold.granted``),
its fields (the event's ``data``, never secrets: no tokens, state bodies or plan values), one
line of documentation (the class docstring's first line) and ``words``, the sentence people
read ("platform-eng held dev for 4h: renaming cognito pool"), told in the environment's time
zone. ``CATALOGUE`` lists every kind explicitly; the services emit instances of these classes
and nothing else (``services.events.emit`` refuses a kind that is not declared), the API and
`signalbox events` show ``words``, ``docs/events.md`` is generated from the catalogue, and the
notifier reads the same records back from the outbox (``parse``).

Who did it (``actor``), where (``environment``) and when (``at``) are columns of every event,
not fields of the record: ``Telling`` carries them when the words are made.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

import msgspec

from signalbox.core.durations import format_duration
from signalbox.core.errors import UndeclaredEvent
from signalbox.core.times import format_local

__all__ = [
    "CATALOGUE",
    "KINDS",
    "SCHEMA_VERSION",
    "Event",
    "Telling",
    "UndeclaredEvent",
    "commit_ref",
    "declared",
    "describe_fields",
    "parse",
    "retold",
    "to_data",
]

SCHEMA_VERSION = 1
"""The version of the records' shapes, stored with every event (``events.schema_version``).
Raise it when a kind's fields change in a way ``parse`` cannot read from older data (a field
renamed or retyped), so that a reader (the notifier, during a rolling upgrade) can tell which
shape a stored event has."""


@dataclass(frozen=True, slots=True)
class Telling:
    """What the words of an event need besides its fields: who, where, and the clock and
    zone to tell times in."""

    actor: str
    environment: str | None
    timezone: str
    now: datetime

    @property
    def env(self) -> str:
        return self.environment or "signalbox"

    def time(self, moment: datetime) -> str:
        """``15:30 CET`` today, ``Fri 27 Nov 15:30 CET`` on another day."""
        return format_local(moment, self.timezone, now=self.now)

    @staticmethod
    def span(length: timedelta) -> str:
        """``4h``, ``1h30m``."""
        return format_duration(length)


def _reason(text: str) -> str:
    """``": why"`` for a sentence, or nothing when there is no reason."""
    cleaned = text.strip().rstrip(".")
    return f": {cleaned}" if cleaned else ""


def commit_ref(branch: str, commit: str) -> str:
    """``main @ 1a2b3c4`` with what is known, never ``? @ ?``."""
    short = commit[:7]
    if branch and short:
        return f"{branch} @ {short}"
    return branch or short


@dataclass(frozen=True, slots=True, kw_only=True)
class Event(abc.ABC):
    """Base of every kind. Subclasses set ``kind`` and define ``words``; a class without
    ``words`` cannot be made (TypeError), so no kind is ever told by a placeholder."""

    kind: ClassVar[str] = ""

    @abc.abstractmethod
    def words(self, telling: Telling) -> str:
        """The sentence people read, in ``telling``'s zone."""


def retold(event: Event | None, telling: Telling, stored: str) -> str:
    """``event``'s sentence as ``telling`` tells it, or ``stored`` (the words written with
    it) when there is no record, or its data cannot be told (a stored duration past
    timedelta's range): every reader of the log (the event list and stream, notifications,
    postmortems) gets words rather than an error it would meet again at each read."""
    if event is None:
        return stored
    try:
        return event.words(telling)
    except (ArithmeticError, ValueError):
        return stored


# -- environments ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvironmentAdded(Event):
    """A configured environment was taken under signalbox's management."""

    kind: ClassVar[str] = "environment.added"

    def words(self, telling: Telling) -> str:
        return f"{telling.env} is now managed by signalbox."


# -- holds ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldEvent(Event):
    """The fields every hold event carries: the hold as it was."""

    owner: str
    owner_is_ci: bool
    hold_kind: str  # "work" | "deploy"
    reason: str
    since: datetime
    until: datetime
    fencing_token: int
    deploy_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldGranted(HoldEvent):
    """Someone was granted a hold: the environment is theirs until it lapses or is released."""

    kind: ClassVar[str] = "hold.granted"

    def words(self, telling: Telling) -> str:
        if self.hold_kind == "deploy":
            return f"{self.owner} took {telling.env} for {self.reason}."
        length = telling.span(self.until - self.since)
        until, why = telling.time(self.until), _reason(self.reason)
        return f"{self.owner} held {telling.env} for {length} (until {until}){why}."


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldRenewed(HoldEvent):
    """A holder renewed their hold's lease (a deploy's heartbeat is not an event)."""

    kind: ClassVar[str] = "hold.renewed"

    def words(self, telling: Telling) -> str:
        until = telling.time(self.until)
        return f"{telling.actor} renewed the hold on {telling.env} until {until}."


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldReleased(HoldEvent):
    """The holder released their hold: the environment is free."""

    kind: ClassVar[str] = "hold.released"

    def words(self, telling: Telling) -> str:
        return f"{telling.actor} released {telling.env}."


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldForceReleased(HoldEvent):
    """An admin ended someone else's hold, with a reason."""

    kind: ClassVar[str] = "hold.force-released"
    release_reason: str

    def words(self, telling: Telling) -> str:
        return (
            f"{telling.actor} force-released {self.owner}'s hold on {telling.env}"
            f"{_reason(self.release_reason)}."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldLapsed(HoldEvent):
    """A hold was not renewed before its lease ran out: the environment is free."""

    kind: ClassVar[str] = "hold.lapsed"

    def words(self, telling: Telling) -> str:
        return (
            f"{self.owner}'s hold on {telling.env} lapsed at {telling.time(self.until)} "
            f"(not renewed); {telling.env} is free."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldSuspended(HoldEvent):
    """An incident froze the environment: someone's work hold is suspended until it is resolved."""

    kind: ClassVar[str] = "hold.suspended"
    incident_id: int

    def words(self, telling: Telling) -> str:
        return (
            f"{self.owner}'s hold on {telling.env} is suspended by incident {self.incident_id}; "
            f"it returns when the incident is resolved, if that is before "
            f"{telling.time(self.until)}."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class HoldReturned(HoldEvent):
    """An incident was resolved: a hold it suspended is back, with a new fencing token."""

    kind: ClassVar[str] = "hold.returned"
    incident_id: int

    def words(self, telling: Telling) -> str:
        return (
            f"{self.owner}'s hold on {telling.env} is back after incident {self.incident_id}, "
            f"until {telling.time(self.until)} (fencing token {self.fencing_token}); the state "
            "may have changed meanwhile: plan again before applying."
        )


# -- reservations ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ReservationCreated(Event):
    """Someone booked a window in which they rely on the environment."""

    kind: ClassVar[str] = "reservation.created"
    reservation_id: int
    starts: datetime
    ends: datetime
    reason: str

    def words(self, telling: Telling) -> str:
        window = f"{telling.time(self.starts)} to {telling.time(self.ends)}"
        return f"{telling.actor} reserved {telling.env} from {window}{_reason(self.reason)}."


@dataclass(frozen=True, slots=True, kw_only=True)
class ReservationCancelled(Event):
    """A reservation was cancelled by its owner or an admin."""

    kind: ClassVar[str] = "reservation.cancelled"
    reservation_id: int
    owner: str = ""
    reason: str = ""
    starts: datetime | None = None
    ends: datetime | None = None

    def words(self, telling: Telling) -> str:
        """``coo cancelled reservation 3 of dev (investor demo, 15:30 CET to 16:30 CET).``:
        the reason is the reservation's, not why it was cancelled."""
        whose = "" if not self.owner or self.owner == telling.actor else f"{self.owner}'s "
        about = [self.reason.strip().rstrip(".")]
        if self.starts is not None and self.ends is not None:
            about.append(f"{telling.time(self.starts)} to {telling.time(self.ends)}")
        said = ", ".join(part for part in about if part)
        return (
            f"{telling.actor} cancelled {whose}reservation {self.reservation_id} of "
            f"{telling.env}{f' ({said})' if said else ''}."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ReservationStartsSoon(Event):
    """A reservation begins within ``remind_before`` (the notifier's reminder, told once)."""

    kind: ClassVar[str] = "reservation.starting-soon"
    reservation_id: int
    owner: str
    reason: str
    starts: datetime
    ends: datetime

    def words(self, telling: Telling) -> str:
        window = f"{telling.time(self.starts)} to {telling.time(self.ends)}"
        why = self.reason.strip().rstrip(".")
        said = f" ({why})" if why else ""
        return (
            f"{self.owner}'s reservation of {telling.env}{said} starts soon: {window}. "
            f"Deploys that would run into it are refused until it ends."
        )


# -- deploys and approvals ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployEvent(Event):
    """The fields every deploy event carries: the deploy as it was (never plan values).

    ``actor`` is who triggered the CI run (e.g. GITHUB_ACTOR), ``requester`` the token that
    asked; ``state`` the deploy's state once the event happened."""

    deploy_id: int
    branch: str = ""
    commit: str = ""
    actor: str = ""
    requester: str = ""
    run_url: str = ""
    plan_verdict: str = ""
    state: str = ""
    hotfix_for: int | None = None
    """The incident this deploy is a hotfix of (``gate --hotfix N``)."""


def _deploy(event: DeployEvent) -> str:
    """``Deploy 7 (main @ 1a2b3c4)``, or ``Deploy 7`` when neither is known."""
    ref = commit_ref(event.branch, event.commit)
    return f"Deploy {event.deploy_id} ({ref})" if ref else f"Deploy {event.deploy_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployRequested(DeployEvent):
    """A gate asked to deploy to the environment, with its plan's verdict."""

    kind: ClassVar[str] = "deploy.requested"

    def words(self, telling: Telling) -> str:
        who = self.actor or self.requester or telling.actor
        ref = commit_ref(self.branch, self.commit)
        what = f" {ref}" if ref else ""
        plan = f" (plan: {self.plan_verdict})" if self.plan_verdict else ""
        if self.plan_verdict == "none":
            plan = " (no plan)"
        hotfix = f" as a hotfix of incident {self.hotfix_for}" if self.hotfix_for else ""
        return f"{who} asked to deploy{what} to {telling.env}{hotfix}{plan}."


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploySuperseded(DeployEvent):
    """A newer request of the same branch replaced a waiting deploy; its gate stops."""

    kind: ClassVar[str] = "deploy.superseded"
    superseded_by: int | None = None

    def words(self, telling: Telling) -> str:
        newer = f"deploy {self.superseded_by}" if self.superseded_by else "a newer request"
        return (
            f"{_deploy(self)} to {telling.env} was superseded by {newer} of the same branch; "
            "the newer one will deploy."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployAwaitingApproval(DeployEvent):
    """A deploy waits for an approver: its plan needs approval, or it has no plan."""

    kind: ClassVar[str] = "deploy.awaiting-approval"

    def words(self, telling: Telling) -> str:
        why = "has no plan" if self.plan_verdict == "none" else "has a plan that needs approval"
        other = f" other than {self.requester}" if self.requester else ""
        return (
            f"{_deploy(self)} to {telling.env} {why}; it waits for an approver{other} "
            f"(`signalbox approve {self.deploy_id}`)."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployStarted(DeployEvent):
    """A deploy took the environment's deploy hold and runs."""

    kind: ClassVar[str] = "deploy.started"
    fencing_token: int
    plan_summary: str = ""
    """What the plan does, in a line (``destroys aws_cognito_user_pool.main``)."""
    approved_by: tuple[str, ...] = ()

    def words(self, telling: Telling) -> str:
        who = self.actor or self.requester or telling.actor
        said = f"{_deploy(self)} to {telling.env} started by {who}"
        plan = self.plan_summary
        if self.approved_by:
            approval = f"approved by {', '.join(self.approved_by)}"
            plan = f"{plan}: {approval}" if plan else approval
        plan = f": {plan}" if plan else ""
        return f"{said}{plan} (fencing token {self.fencing_token})."


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployRefusal(DeployEvent):
    """The fields of a gate's refusal: ``reason`` (held, reserved, frozen, blocked, denied,
    wait-expired, approval-expired), ``whom`` to ask, ``until`` when it could go."""

    reason: str
    whom: str | None = None
    until: datetime | None = None


def _refused_because(event: DeployRefusal, telling: Telling) -> str:
    env, whom = telling.env, event.whom
    until = f" until {telling.time(event.until)}" if event.until is not None else ""
    if event.reason == "held":
        return f"{env} is held by {whom}{until}" if whom else f"{env} is held{until}"
    if event.reason == "reserved":
        ask = f" (ask {whom})" if whom else ""
        return f"{env} is reserved{until}{ask}"
    if event.reason == "frozen":
        ask = f" (ask {whom})" if whom else ""
        return f"{env} is frozen by an open incident{ask}"
    if event.reason == "blocked":
        return f"{env}'s policy blocks its plan"
    return event.reason


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployRefused(DeployRefusal):
    """The gate refused a deploy: the environment is held, reserved or frozen, or policy blocks it.

    A block (``blocked``) is the environment's policy refusing the deploy's plan."""

    kind: ClassVar[str] = "deploy.refused"

    def words(self, telling: Telling) -> str:
        return f"{_deploy(self)} to {telling.env} was refused: {_refused_because(self, telling)}."


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployDenied(DeployRefusal):
    """A deploy stopped because an approver denied its plan."""

    kind: ClassVar[str] = "deploy.denied"

    def words(self, telling: Telling) -> str:
        return f"{_deploy(self)} to {telling.env} stopped: an approver denied its plan."


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployExpired(DeployRefusal):
    """A deploy stopped waiting: its wait or its approval's time ran out.

    Its gate's wait ran out in the queue (``wait-expired``), or nobody approved it in time
    (``approval-expired``)."""

    kind: ClassVar[str] = "deploy.expired"

    def words(self, telling: Telling) -> str:
        if self.reason == "approval-expired":
            why = "nobody approved it in time"
        else:
            behind = f" behind {self.whom}'s deploy" if self.whom else ""
            why = f"its gate's wait ran out while it was queued{behind}"
        return f"{_deploy(self)} to {telling.env} stopped waiting: {why}."


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployFinished(DeployEvent):
    """A running deploy reported its outcome and released the environment.

    ``state`` says whether it succeeded or failed."""

    kind: ClassVar[str] = "deploy.finished"
    exit_code: int
    duration_seconds: float

    def words(self, telling: Telling) -> str:
        took = telling.span(timedelta(seconds=round(self.duration_seconds)))
        outcome = self.state or "finished"
        return (
            f"{_deploy(self)} to {telling.env} {outcome} (exit code {self.exit_code}, {took}); "
            f"{telling.env} is free."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployReportedLate(DeployEvent):
    """A deploy whose lease had lapsed reported its outcome afterwards; it stays failed."""

    kind: ClassVar[str] = "deploy.reported-late"
    exit_code: int
    duration_seconds: float

    def words(self, telling: Telling) -> str:
        took = telling.span(timedelta(seconds=round(self.duration_seconds)))
        return (
            f"{_deploy(self)} to {telling.env} reported exit code {self.exit_code} after "
            f"{took}, once its lease had lapsed; it is counted as failed."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployCancelled(DeployEvent):
    """A waiting deploy's gate stopped waiting.

    ``reason``: interrupted, or its wait ran out with nothing to refuse."""

    kind: ClassVar[str] = "deploy.cancelled"
    reason: str

    def words(self, telling: Telling) -> str:
        return f"{_deploy(self)} to {telling.env} was cancelled by its gate ({self.reason})."


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployLapsed(DeployEvent):
    """A running deploy stopped renewing its lease (its runner died): the environment is free.

    The deploy is failed."""

    kind: ClassVar[str] = "deploy.lapsed"

    def words(self, telling: Telling) -> str:
        env = telling.env
        return (
            f"{_deploy(self)} to {env} stopped renewing its lease (its runner died or lost the "
            f"network); it is counted as failed and {env} is free."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeployAbandoned(DeployEvent):
    """A waiting deploy's gate went away (it stopped asking): it left the queue."""

    kind: ClassVar[str] = "deploy.abandoned"

    def words(self, telling: Telling) -> str:
        return (
            f"{_deploy(self)} to {telling.env} was waiting but its gate went away; it left "
            "the queue."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalEvent(Event):
    """The fields of an approver's decision on a deploy's plan: ``plan_digest`` is what the
    decision is bound to (the plan's SHA-256, or ``deploy-ID`` for a deploy without a plan),
    ``decision`` ``approve`` or ``deny``."""

    deploy_id: int
    plan_digest: str
    decision: str
    reason: str = ""
    as_commander_of: int | None = None
    """Given by the commander of this incident for its hotfix, not by an approver."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalGranted(ApprovalEvent):
    """An approver approved a deploy's plan for the environment; its gate goes when it may.

    ``as_commander_of``: an incident's commander approved a hotfix of that incident."""

    kind: ClassVar[str] = "approval.granted"

    def words(self, telling: Telling) -> str:
        capacity = ""
        if self.as_commander_of is not None:
            capacity = f" as commander of incident {self.as_commander_of}"
        return (
            f"{telling.actor} approved the plan of deploy {self.deploy_id} to {telling.env}"
            f"{capacity}{_reason(self.reason)}."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalDenied(ApprovalEvent):
    """An approver denied a deploy's plan for the environment, with a reason."""

    kind: ClassVar[str] = "approval.denied"

    def words(self, telling: Telling) -> str:
        return (
            f"{telling.actor} denied the plan of deploy {self.deploy_id} to {telling.env}"
            f"{_reason(self.reason)}."
        )


# -- incidents ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ReservationAtRisk(Event):
    """An open incident puts a reservation at risk: it is in force or begins before the ETA."""

    kind: ClassVar[str] = "reservation.at-risk"
    reservation_id: int
    owner: str
    reason: str
    starts: datetime
    ends: datetime
    incident_id: int
    title: str

    def words(self, telling: Telling) -> str:
        window = f"{telling.time(self.starts)} to {telling.time(self.ends)}"
        why = self.reason.strip().rstrip(".")
        said = f"{why}, {window}" if why else window
        return (
            f"{self.owner}'s reservation of {telling.env} ({said}) is at risk: incident "
            f'{self.incident_id} ("{self.title}") is open on {telling.env}.'
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentEvent(Event):
    """The fields every incident event carries: the incident as it is after the change."""

    incident_id: int
    title: str
    severity: str
    status: str
    commander: str
    freezes: bool
    eta: datetime | None = None
    note: str = ""


def _eta(event: IncidentEvent, telling: Telling) -> str:
    return f", ETA {telling.time(event.eta)}" if event.eta is not None else ""


def _note(event: IncidentEvent) -> str:
    return f": {event.note.strip()}" if event.note.strip() else ""


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentOpened(IncidentEvent):
    """Someone opened an incident: the environment is broken (sev1 and sev2 freeze it)."""

    kind: ClassVar[str] = "incident.opened"

    def words(self, telling: Telling) -> str:
        env = telling.env
        freeze = (
            f"{env} is frozen: only its hotfixes deploy."
            if self.freezes
            else f"{env} is not frozen."
        )
        return (
            f"{telling.actor} opened incident {self.incident_id} ({self.severity}) on {env}: "
            f'"{self.title}", led by {self.commander}{_eta(self, telling)}. {freeze}'
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentUpdated(IncidentEvent):
    """An update was posted: a status, an ETA, a note, a new commander or responders.

    ``previous_commander`` is set on a handover; ``responders_added`` names who may now run
    its hotfixes."""

    kind: ClassVar[str] = "incident.updated"
    previous_commander: str | None = None
    responders_added: tuple[str, ...] = ()

    def words(self, telling: Telling) -> str:
        parts = [f"{self.status}{_eta(self, telling)}"]
        if self.previous_commander is not None:
            parts.append(f"{self.commander} now leads it (was {self.previous_commander})")
        if self.responders_added:
            parts.append(f"{', '.join(self.responders_added)} may run its hotfixes")
        return (
            f"Incident {self.incident_id} on {telling.env} ({self.title}), update by "
            f"{telling.actor}: {'; '.join(parts)}{_note(self)}."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentResolved(IncidentEvent):
    """The incident was resolved: the environment is unfrozen and suspended holds return."""

    kind: ClassVar[str] = "incident.resolved"
    duration_seconds: float

    def words(self, telling: Telling) -> str:
        took = telling.span(timedelta(seconds=round(self.duration_seconds)))
        return (
            f"{telling.actor} resolved incident {self.incident_id} on {telling.env} "
            f'("{self.title}") after {took}{_note(self)}. {telling.env} is open again.'
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentReopened(IncidentEvent):
    """A resolved incident was opened again (it was not over): it freezes again if it did."""

    kind: ClassVar[str] = "incident.reopened"

    def words(self, telling: Telling) -> str:
        freeze = f" {telling.env} is frozen again." if self.freezes else ""
        return (
            f"{telling.actor} reopened incident {self.incident_id} on {telling.env} "
            f'("{self.title}"){_note(self)}.{freeze}'
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentUpdateDue(IncidentEvent):
    """An open incident went ``incident_update_every`` without an update: its commander is reminded.

    Told again each period without an update (the notifier's reminder)."""

    kind: ClassVar[str] = "incident.update-due"
    last_update_at: datetime

    def words(self, telling: Telling) -> str:
        return (
            f'Incident {self.incident_id} on {telling.env} ("{self.title}", {self.status}) has '
            f"had no update since {telling.time(self.last_update_at)}: {self.commander}, post "
            f"one (`signalbox incident update {self.incident_id}`) so people know when "
            f"{telling.env} is back."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionEvent(Event):
    """The fields of a follow-up action of an incident: its text, owner, due date, status."""

    action_id: int
    incident_id: int
    text: str
    status: str
    owner: str = ""
    due: str = ""  # YYYY-MM-DD
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionAdded(ActionEvent):
    """A follow-up action was added to an incident's postmortem."""

    kind: ClassVar[str] = "action.added"

    def words(self, telling: Telling) -> str:
        owner = f", owned by {self.owner}" if self.owner else ""
        due = f", due {self.due}" if self.due else ""
        return (
            f"{telling.actor} added action {self.action_id} to incident {self.incident_id}: "
            f"{self.text.strip().rstrip('.')}{owner}{due}."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionUpdated(ActionEvent):
    """A follow-up action changed status (proposed, accepted, in-progress, done, not-doing)."""

    kind: ClassVar[str] = "action.updated"

    def words(self, telling: Telling) -> str:
        note = f": {self.note.strip().rstrip('.')}" if self.note.strip() else ""
        return (
            f"{telling.actor} set action {self.action_id} of incident {self.incident_id} to "
            f"{self.status}{note}."
        )


# -- tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenCreated(Event):
    """An admin created an API token for a person or a CI pipeline, with its grants."""

    kind: ClassVar[str] = "token.created"
    name: str
    grants: tuple[str, ...]
    is_ci: bool

    def words(self, telling: Telling) -> str:
        who = "CI" if self.is_ci else "person"
        return f"{telling.actor} created the token {self.name} ({who}: {', '.join(self.grants)})."


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenRevoked(Event):
    """A token was revoked: an admin revoked it, or the bootstrap token's variable is unset."""

    kind: ClassVar[str] = "token.revoked"
    name: str
    reason: str = ""

    def words(self, telling: Telling) -> str:
        return f"{telling.actor} revoked the token {self.name}{_reason(self.reason)}."


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenBootstrap(Event):
    """The server registered the bootstrap admin token from SIGNALBOX_ADMIN_TOKEN."""

    kind: ClassVar[str] = "token.bootstrap"
    name: str

    def words(self, telling: Telling) -> str:
        return f"The bootstrap admin token {self.name} was registered from SIGNALBOX_ADMIN_TOKEN."


# -- Terraform state ------------------------------------------------------------------------


def _size(size: int) -> str:
    """``812 bytes``, ``48 kB``, ``1.2 MB`` (decimal units)."""
    if size < 1000:
        return f"{size} bytes"
    if size < 1_000_000:
        return f"{size / 1000:.0f} kB"
    return f"{size / 1_000_000:.1f} MB"


def _serials(serials: tuple[int, ...]) -> str:
    """``serial 3`` or ``serials 3, 4 and 5``."""
    if len(serials) <= 1:
        return " ".join(("serial", *map(str, serials)))
    return f"serials {', '.join(map(str, serials[:-1]))} and {serials[-1]}"


@dataclass(frozen=True, slots=True, kw_only=True)
class StateEvent(Event):
    """The field every event of one Terraform state carries: its name in the environment
    (``network`` of ``/tf/dev/network``; the environment is the event's)."""

    state: str


def _state(event: StateEvent, telling: Telling) -> str:
    """``dev/network``: the state as people name it."""
    return f"{telling.env}/{event.state}"


@dataclass(frozen=True, slots=True, kw_only=True)
class StateLocked(StateEvent):
    """A Terraform run took the lock of a state (LOCK)."""

    kind: ClassVar[str] = "state.locked"
    lock_id: str
    operation: str = ""
    who: str = ""

    def words(self, telling: Telling) -> str:
        where = f" ({self.who})" if self.who else ""
        return (
            f"{telling.actor} locked {_state(self, telling)} for "
            f"{self.operation or 'Terraform'}{where}."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class StateUnlocked(StateEvent):
    """A Terraform run released the lock of a state (UNLOCK with its lock info)."""

    kind: ClassVar[str] = "state.unlocked"
    lock_id: str
    owner: str

    def words(self, telling: Telling) -> str:
        whose = "" if self.owner == telling.actor else f"; the lock was {self.owner}'s"
        return f"{telling.actor} unlocked {_state(self, telling)}{whose}."


@dataclass(frozen=True, slots=True, kw_only=True)
class StateForceUnlocked(StateEvent):
    """The lock's owner or an admin removed a state's lock (``terraform force-unlock``)."""

    kind: ClassVar[str] = "state.force-unlocked"
    lock_id: str
    owner: str

    def words(self, telling: Telling) -> str:
        whose = "their own lock" if self.owner == telling.actor else f"{self.owner}'s lock"
        return f"{telling.actor} force-unlocked {_state(self, telling)} ({whose} {self.lock_id})."


@dataclass(frozen=True, slots=True, kw_only=True)
class StateWritten(StateEvent):
    """Terraform stored a new version of a state (POST/PUT accepted)."""

    kind: ClassVar[str] = "state.written"
    serial: int
    lineage: str
    md5: str
    size: int
    is_ci: bool
    fencing_token: int | None = None
    deploy_id: int | None = None

    def words(self, telling: Telling) -> str:
        deploy = f" in deploy {self.deploy_id}" if self.deploy_id is not None else ""
        return (
            f"{telling.actor} wrote {_state(self, telling)} (serial {self.serial}, "
            f"{_size(self.size)}){deploy}."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class StateOutOfBand(StateEvent):
    """A person wrote a state while nobody held the environment: it is now held for them."""

    kind: ClassVar[str] = "state.out-of-band"
    serial: int
    until: datetime
    fencing_token: int

    def words(self, telling: Telling) -> str:
        return (
            f"{telling.actor} wrote {_state(self, telling)} (serial {self.serial}) from "
            f"outside a deploy: {telling.env} is now held for them until "
            f"{telling.time(self.until)}."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class StatePruned(StateEvent):
    """Old versions of a state lost their bodies (beyond ``state_retention``); rows stay."""

    kind: ClassVar[str] = "state.pruned"
    serials: tuple[int, ...]
    kept: int

    def words(self, telling: Telling) -> str:
        return (
            f"The bodies of {_state(self, telling)} {_serials(self.serials)} were pruned: "
            f"the newest {self.kept} versions are kept."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class StateDeleted(StateEvent):
    """Terraform deleted a state (DELETE): a deletion version; the history stays."""

    kind: ClassVar[str] = "state.deleted"
    serial: int

    def words(self, telling: Telling) -> str:
        return f"{telling.actor} deleted {_state(self, telling)} (its versions are kept)."


@dataclass(frozen=True, slots=True, kw_only=True)
class StateRestored(StateEvent):
    """An admin brought back an old version's content as the newest version of a state."""

    kind: ClassVar[str] = "state.restored"
    serial: int
    restored_from: int
    fencing_token: int

    def words(self, telling: Telling) -> str:
        return (
            f"{telling.actor} restored {_state(self, telling)} to the content of serial "
            f"{self.restored_from} (now serial {self.serial})."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class StateKeysRotated(Event):
    """Stored state bodies were re-encrypted under the first key of ``state_keys``."""

    kind: ClassVar[str] = "state.keys-rotated"
    key_id: str
    versions: int

    def words(self, telling: Telling) -> str:
        plural = "version was" if self.versions == 1 else "versions were"
        return (
            f"{self.versions} stored Terraform state {plural} re-encrypted under key {self.key_id}."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class StateIntegrityFailed(StateEvent):
    """A stored state body failed its check when read, and was not served.

    The check fails on a segment that does not authenticate, a missing segment, or a digest
    that no longer matches. ``problem`` says what was wrong, never what the body holds."""

    kind: ClassVar[str] = "state.integrity-failed"
    serial: int
    problem: str

    def words(self, telling: Telling) -> str:
        return (
            f"The stored body of {_state(self, telling)} serial {self.serial} is damaged "
            f"({self.problem}) and was not served: restore an earlier version."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class StateRefusalEvent(StateEvent):
    """The fields of every refused state request: why (``cause``, a ``RefusalCause``), whom
    to ask, and the refusal's sentence as the requester read it."""

    doing: ClassVar[str] = ""
    cause: str
    refusal: str
    whom: str | None = None

    def words(self, telling: Telling) -> str:
        return (
            f"{telling.actor}'s {self.doing} of {_state(self, telling)} was refused: {self.refusal}"
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class StateLockRefused(StateRefusalEvent):
    """A Terraform LOCK was refused (another lock, a hold, a reservation or a freeze)."""

    kind: ClassVar[str] = "state.lock-refused"
    doing: ClassVar[str] = "lock"


@dataclass(frozen=True, slots=True, kw_only=True)
class StateWriteRefused(StateRefusalEvent):
    """A state write was refused (lock, hold, checksum, lineage or serial); nothing stored."""

    kind: ClassVar[str] = "state.write-refused"
    doing: ClassVar[str] = "write"


@dataclass(frozen=True, slots=True, kw_only=True)
class StateDeleteRefused(StateRefusalEvent):
    """A state DELETE was refused (the lock or a hold stands in the way)."""

    kind: ClassVar[str] = "state.delete-refused"
    doing: ClassVar[str] = "delete"


@dataclass(frozen=True, slots=True, kw_only=True)
class StateUnlockRefused(StateRefusalEvent):
    """A Terraform UNLOCK was refused: the lock is someone else's, or another one."""

    kind: ClassVar[str] = "state.unlock-refused"
    doing: ClassVar[str] = "unlock"


CATALOGUE: tuple[type[Event], ...] = (
    EnvironmentAdded,
    HoldGranted,
    HoldRenewed,
    HoldReleased,
    HoldForceReleased,
    HoldLapsed,
    HoldSuspended,
    HoldReturned,
    ReservationCreated,
    ReservationCancelled,
    ReservationAtRisk,
    ReservationStartsSoon,
    DeployRequested,
    DeploySuperseded,
    DeployAwaitingApproval,
    DeployStarted,
    DeployRefused,
    DeployDenied,
    DeployExpired,
    DeployFinished,
    DeployReportedLate,
    DeployCancelled,
    DeployLapsed,
    DeployAbandoned,
    ApprovalGranted,
    ApprovalDenied,
    IncidentOpened,
    IncidentUpdated,
    IncidentResolved,
    IncidentReopened,
    IncidentUpdateDue,
    ActionAdded,
    ActionUpdated,
    TokenCreated,
    TokenRevoked,
    TokenBootstrap,
    StateLocked,
    StateUnlocked,
    StateForceUnlocked,
    StateWritten,
    StateOutOfBand,
    StatePruned,
    StateDeleted,
    StateRestored,
    StateKeysRotated,
    StateIntegrityFailed,
    StateLockRefused,
    StateWriteRefused,
    StateDeleteRefused,
    StateUnlockRefused,
)
"""Every kind signalbox records, in the order docs/events.md lists them."""

KINDS: Mapping[str, type[Event]] = {event.kind: event for event in CATALOGUE}


def declared(event: Event) -> type[Event]:
    """``event``'s class when the catalogue declares it; UndeclaredEvent otherwise."""
    found = KINDS.get(type(event).kind)
    if found is None or type(event) is not found:
        raise UndeclaredEvent(
            f"The event {type(event).__name__} ({type(event).kind or 'no kind'}) is not in the "
            "catalogue.",
            hint="Declare it in signalbox.core.events and add it to CATALOGUE.",
        )
    return found


def to_data(event: Event) -> dict[str, Any]:
    """The event's fields as JSON-ready data (times as ISO 8601)."""
    declared(event)
    data: dict[str, Any] = msgspec.to_builtins(event)
    return data


def parse(kind: str, data: Mapping[str, Any]) -> Event | None:
    """The record of a stored event, or None when its kind is not declared (any more) or its
    data does not fit the declared fields (an event written by an older version)."""
    cls = KINDS.get(kind)
    if cls is None:
        return None
    try:
        return msgspec.convert(dict(data), type=cls, strict=False)
    except msgspec.ValidationError:
        return None


def describe_fields(cls: type[Event]) -> list[tuple[str, str]]:
    """(name, type) of each field of ``cls``, for the generated documentation."""
    return [(field.name, str(field.type)) for field in dataclasses.fields(cls)]

"""The postmortem, drafted from what happened: a pure function of the incident's facts.

``draft(facts)`` takes what the database knows about an incident (the incident, its updates
as posted, the environment's events in a window before it and during it, the deploys in that
window with their plan summaries, the Terraform state writes with the resource addresses they
removed, and the follow-up actions) and returns a ``Postmortem``: the summary, the impact
window, the times to detect, mitigate and resolve, **the changes before the break**, the
timeline, the updates as posted, the headings only people can fill, and the actions.

Which change broke it. People reconstruct this from memory, and get it wrong under stress;
here it is a rule, and the draft says which change it took and why:

1. the last change that ran before the incident was opened and destroyed or removed
   stateful resources: a deploy whose plan destroys or replaces them (``core.status.
   plan_summary``), or a state write that removed resource addresses. A state write made
   inside a deploy belongs to that deploy: its removals are the deploy's.
2. otherwise the last deploy that ran, or state write, before the opening (the suspect, not
   a proof: the draft says so);
3. otherwise none: the impact is counted from the opening.

A deploy's change starts when it starts (``started_at``): the apply is what changes the
environment, and the destroy happens during it. The impact window runs from the breaking
change (or the opening) to the first update posted as ``mitigated`` (or the resolution);
the times to detect, to mitigate and to resolve are each measured from its start.

Only addresses, never state or plan values: the facts carry none, so the draft cannot leak
them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import msgspec

from signalbox.core.durations import format_duration
from signalbox.core.events import commit_ref
from signalbox.core.incidents import ActionView, IncidentView, is_overdue
from signalbox.core.status import PlanSummary
from signalbox.core.times import require_utc, to_zone

__all__ = [
    "DEFAULT_SINCE",
    "FOR_PEOPLE",
    "PLACEHOLDER",
    "ActionItem",
    "BreakingChange",
    "Change",
    "DeployFact",
    "EventFact",
    "Impact",
    "PostedUpdate",
    "Postmortem",
    "PostmortemFacts",
    "StateWriteFact",
    "TimelineEntry",
    "describe_duration",
    "draft",
    "from_plain",
    "to_plain",
]

DEFAULT_SINCE = timedelta(hours=6)
"""How far before the opening the draft looks for the change that broke it."""

FOR_PEOPLE = ("What went well", "What went badly", "Where we got lucky")
"""The sections only the people involved can write."""

PLACEHOLDER = "To be written by the people involved."

QUIET_KINDS = frozenset({"hold.renewed", "state.pruned", "state.keys-rotated"})
"""Events left out of the timeline: housekeeping that tells nothing about the incident."""

HOLD_KINDS = frozenset(
    {
        "hold.granted",
        "hold.released",
        "hold.force-released",
        "hold.lapsed",
        "hold.suspended",
        "hold.returned",
    }
)
RESERVATION_KINDS = frozenset(
    {"reservation.created", "reservation.cancelled", "reservation.at-risk"}
)
APPROVAL_KINDS = frozenset({"approval.granted", "approval.denied"})
OUT_OF_BAND_KINDS = frozenset({"state.out-of-band"})

# -- the facts --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostedUpdate:
    """An update as posted (the opening, each update, the resolution, a reopening)."""

    kind: str  # opened | update | resolved | reopened
    at: datetime
    author: str
    status: str
    commander: str
    eta: datetime | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class EventFact:
    """One event of the environment as stored: its words are who did what."""

    id: int
    kind: str
    at: datetime
    actor: str
    words: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeployFact:
    """A deploy of the window: who, what, when it ran, and its plan in a line."""

    id: int
    requester: str
    actor: str
    branch: str
    commit: str
    state: str
    requested_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    outcome: str | None = None
    plan: PlanSummary | None = None
    run_url: str = ""
    hotfix_for: int | None = None

    @property
    def who(self) -> str:
        return self.actor or self.requester

    @property
    def ref(self) -> str:
        return commit_ref(self.branch, self.commit)


@dataclass(frozen=True, slots=True)
class StateWriteFact:
    """A Terraform state write (or restore) of the window and the addresses it removed;
    ``note`` says why they are unknown (a pruned body)."""

    state: str
    serial: int
    at: datetime
    author: str
    deploy_id: int | None = None
    removed: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True, slots=True)
class PostmortemFacts:
    incident: IncidentView
    updates: tuple[PostedUpdate, ...]
    events: tuple[EventFact, ...]
    deploys: tuple[DeployFact, ...]
    state_writes: tuple[StateWriteFact, ...]
    actions: tuple[ActionView, ...]
    timezone: str
    since: datetime
    """The window's start (the opening minus ``--since``)."""
    now: datetime


# -- the draft ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """One of the changes before the break: ``kind`` deploy, approval, state-write,
    out-of-band, hold or reservation; ``addresses`` what it destroyed or removed."""

    kind: str
    at: datetime
    who: str
    text: str
    addresses: tuple[str, ...] = ()
    deploy_id: int | None = None


@dataclass(frozen=True, slots=True)
class BreakingChange:
    """The change taken as the one that broke it, and why (a sentence for the draft)."""

    kind: str  # deploy | state-write
    at: datetime
    who: str
    text: str
    why: str
    destroyed: tuple[str, ...] = ()
    deploy_id: int | None = None


@dataclass(frozen=True, slots=True)
class Impact:
    """From ``starts`` (the breaking change, or the opening) to ``ends`` (the first
    ``mitigated`` update, or the resolution; None while neither happened)."""

    starts: datetime
    ends: datetime | None
    starts_with: str
    ends_with: str


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    who: str
    kind: str
    words: str


@dataclass(frozen=True, slots=True)
class ActionItem:
    id: int
    text: str
    status: str
    owner: str = ""
    due: date | None = None
    overdue: bool = False


@dataclass(frozen=True, slots=True)
class Postmortem:
    incident_id: int
    title: str
    environment: str
    severity: str
    status: str
    commander: str
    responders: tuple[str, ...]
    opened_at: datetime
    opened_by: str
    resolved_at: datetime | None
    duration_seconds: float
    """Opening to resolution, or to ``generated_at`` while it is open."""
    timezone: str
    generated_at: datetime
    window_starts: datetime
    window_ends: datetime
    impact: Impact
    time_to_detect_seconds: float
    time_to_mitigate_seconds: float | None
    time_to_resolve_seconds: float | None
    breaking_change: BreakingChange | None
    changes_before: tuple[Change, ...]
    destroyed: tuple[str, ...]
    timeline: tuple[TimelineEntry, ...]
    updates: tuple[PostedUpdate, ...]
    for_people: tuple[str, ...]
    actions: tuple[ActionItem, ...]

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None or self.status != "resolved"


def draft(facts: PostmortemFacts) -> Postmortem:
    """The postmortem of ``facts.incident`` as of ``facts.now``."""
    incident, now = facts.incident, require_utc(facts.now)
    opened = require_utc(incident.opened_at)
    resolved = incident.resolved_at if not incident.is_open else None
    ends = resolved if resolved is not None else now
    deploys = tuple(sorted(facts.deploys, key=lambda d: (d.requested_at, d.id)))
    writes = tuple(sorted(facts.state_writes, key=lambda w: w.at))
    before = [event for event in facts.events if event.at < opened]
    changes = _changes_before(deploys, writes, before, opened)
    breaking = _breaking(deploys, writes, opened, facts.timezone)
    impact = _impact(breaking, facts.updates, incident, opened, resolved)
    mitigated = impact.ends
    today = to_zone(now, facts.timezone).date()
    return Postmortem(
        incident_id=incident.id,
        title=incident.title,
        environment=incident.environment,
        severity=str(incident.severity),
        status=str(incident.status),
        commander=incident.commander,
        responders=incident.responders,
        opened_at=opened,
        opened_by=incident.opened_by,
        resolved_at=resolved,
        duration_seconds=_seconds(ends - opened),
        timezone=facts.timezone,
        generated_at=now,
        window_starts=facts.since,
        window_ends=ends,
        impact=impact,
        time_to_detect_seconds=_seconds(opened - impact.starts),
        time_to_mitigate_seconds=_seconds(mitigated - impact.starts) if mitigated else None,
        time_to_resolve_seconds=_seconds(resolved - impact.starts) if resolved else None,
        breaking_change=breaking,
        changes_before=changes,
        destroyed=_destroyed(deploys, writes, opened),
        timeline=_timeline(facts.events),
        updates=tuple(sorted(facts.updates, key=lambda u: u.at)),
        for_people=FOR_PEOPLE,
        actions=tuple(
            ActionItem(
                action.id,
                action.text,
                str(action.status),
                action.owner,
                action.due,
                is_overdue(action, today=today),
            )
            for action in sorted(facts.actions, key=lambda a: a.id)
        ),
    )


def _seconds(length: timedelta) -> float:
    return max(length.total_seconds(), 0.0)


def _ran_before(deploy: DeployFact, opened: datetime) -> bool:
    return deploy.started_at is not None and deploy.started_at < opened


def _removed_in(deploy: DeployFact, writes: tuple[StateWriteFact, ...]) -> tuple[str, ...]:
    """The addresses the state writes made inside ``deploy`` removed."""
    return _unique(a for w in writes if w.deploy_id == deploy.id for a in w.removed)


def _destroys(deploy: DeployFact, writes: tuple[StateWriteFact, ...]) -> tuple[str, ...]:
    """What a deploy destroyed: its plan's stateful destroys, then its writes' removals."""
    planned = deploy.plan.destroys if deploy.plan is not None else ()
    return _unique((*planned, *_removed_in(deploy, writes)))


def _unique(addresses: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(addresses))


def _own_writes(
    writes: tuple[StateWriteFact, ...], deploys: tuple[DeployFact, ...]
) -> tuple[StateWriteFact, ...]:
    """State writes not made inside one of ``deploys`` (a laptop, or a deploy out of the
    window): changes of their own."""
    known = {deploy.id for deploy in deploys}
    return tuple(w for w in writes if w.deploy_id is None or w.deploy_id not in known)


def _deploy_text(deploy: DeployFact) -> str:
    ref = f" ({deploy.ref})" if deploy.ref else ""
    hotfix = f", hotfix of incident {deploy.hotfix_for}" if deploy.hotfix_for else ""
    plan = f"; plan: {deploy.plan.line}" if deploy.plan is not None else "; no plan"
    return f"Deploy {deploy.id}{ref} by {deploy.who}: {deploy.state}{hotfix}{plan}"


def _write_text(write: StateWriteFact) -> str:
    inside = f" in deploy {write.deploy_id}" if write.deploy_id is not None else ""
    if write.note:
        removed = f"; {write.note}"
    elif write.removed:
        removed = f"; removed {', '.join(write.removed)}"
    else:
        removed = "; removed no resources"
    return f"{write.author} wrote state {write.state} (serial {write.serial}){inside}{removed}"


def _changes_before(
    deploys: tuple[DeployFact, ...],
    writes: tuple[StateWriteFact, ...],
    events: list[EventFact],
    opened: datetime,
) -> tuple[Change, ...]:
    found: list[Change] = []
    for deploy in deploys:
        if deploy.requested_at >= opened:
            continue
        at = deploy.started_at if _ran_before(deploy, opened) else deploy.requested_at
        assert at is not None
        found.append(
            Change(
                "deploy", at, deploy.who, _deploy_text(deploy), _destroys(deploy, writes), deploy.id
            )
        )
    for write in writes:
        if write.at < opened:
            text = _write_text(write)
            found.append(
                Change("state-write", write.at, write.author, text, write.removed, write.deploy_id)
            )
    for event in events:
        kind = _change_kind(event.kind)
        if kind == "hold" and event.data.get("hold_kind") == "deploy":
            continue  # a deploy's own hold: the deploy is listed already
        if kind is not None:
            deploy_id = event.data.get("deploy_id")
            found.append(
                Change(
                    kind,
                    event.at,
                    event.actor,
                    event.words,
                    deploy_id=deploy_id if isinstance(deploy_id, int) else None,
                )
            )
    return tuple(sorted(found, key=lambda change: change.at))


def _change_kind(kind: str) -> str | None:
    if kind in APPROVAL_KINDS:
        return "approval"
    if kind in OUT_OF_BAND_KINDS:
        return "out-of-band"
    if kind in HOLD_KINDS:
        return "hold"
    if kind in RESERVATION_KINDS:
        return "reservation"
    return None


def _breaking(
    deploys: tuple[DeployFact, ...],
    writes: tuple[StateWriteFact, ...],
    opened: datetime,
    timezone: str,
) -> BreakingChange | None:
    """The change that broke it, by the module's rule, with the sentence saying why."""
    candidates: list[BreakingChange] = []
    for deploy in deploys:
        if _ran_before(deploy, opened):
            assert deploy.started_at is not None
            candidates.append(
                BreakingChange(
                    "deploy",
                    deploy.started_at,
                    deploy.who,
                    _deploy_text(deploy),
                    "",
                    _destroys(deploy, writes),
                    deploy.id,
                )
            )
    for write in _own_writes(writes, deploys):
        if write.at < opened:
            candidates.append(
                BreakingChange(
                    "state-write",
                    write.at,
                    write.author,
                    _write_text(write),
                    "",
                    write.removed,
                    write.deploy_id,
                )
            )
    if not candidates:
        return None
    candidates.sort(key=lambda change: change.at)
    destroying = [change for change in candidates if change.destroyed]
    opening = _clock(opened, timezone)
    if destroying:
        taken = destroying[-1]
        what = "destroyed" if taken.kind == "deploy" else "removed"
        why = (
            f"It is the last change before the incident was opened ({opening}) that "
            f"{what} stateful resources ({', '.join(taken.destroyed)})."
        )
    else:
        taken = candidates[-1]
        why = (
            "No change before the opening destroyed or removed resources; this is the last "
            f"{'deploy' if taken.kind == 'deploy' else 'state write'} before the incident was "
            f"opened ({opening}): a suspect, not a proof."
        )
    return BreakingChange(
        taken.kind, taken.at, taken.who, taken.text, why, taken.destroyed, taken.deploy_id
    )


def _impact(
    breaking: BreakingChange | None,
    updates: tuple[PostedUpdate, ...],
    incident: IncidentView,
    opened: datetime,
    resolved: datetime | None,
) -> Impact:
    if breaking is not None:
        starts, starts_with = breaking.at, _breaking_name(breaking)
    else:
        starts, starts_with = opened, "the opening (no change found before it)"
    mitigated = min(
        (u.at for u in updates if u.status == "mitigated" and u.at >= opened), default=None
    )
    if mitigated is not None and (resolved is None or mitigated <= resolved):
        return Impact(starts, mitigated, starts_with, 'the first "mitigated" update')
    if resolved is not None:
        return Impact(starts, resolved, starts_with, "the resolution")
    return Impact(starts, None, starts_with, f"not over: incident {incident.id} is open")


def _breaking_name(breaking: BreakingChange) -> str:
    if breaking.kind == "deploy":
        return f"the breaking change (deploy {breaking.deploy_id})"
    return "the breaking change (a state write)"


def _destroyed(
    deploys: tuple[DeployFact, ...], writes: tuple[StateWriteFact, ...], opened: datetime
) -> tuple[str, ...]:
    """Every stateful resource destroyed or removed before the opening, by name."""
    names: list[str] = []
    for deploy in deploys:
        if _ran_before(deploy, opened):
            names.extend(_destroys(deploy, writes))
    for write in writes:
        if write.at < opened:
            names.extend(write.removed)
    return _unique(names)


def _timeline(events: tuple[EventFact, ...]) -> tuple[TimelineEntry, ...]:
    ordered = sorted(events, key=lambda event: (event.at, event.id))
    return tuple(
        TimelineEntry(event.at, event.actor, event.kind, event.words)
        for event in ordered
        if event.kind not in QUIET_KINDS
    )


def _clock(moment: datetime, timezone: str) -> str:
    local = to_zone(moment, timezone)
    return f"{local:%H:%M} {local.tzname() or timezone}"


def describe_duration(seconds: float | None) -> str:
    """``3m``, ``1h30m``; ``-`` for an unknown length."""
    if seconds is None:
        return "-"
    if 0 < seconds < 60:
        return f"{round(seconds)}s"
    return format_duration(timedelta(seconds=round(seconds)))


def to_plain(postmortem: Postmortem) -> dict[str, Any]:
    """The postmortem as plain data (JSON types; times as ISO 8601 in UTC)."""
    plain: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(postmortem))
    return plain


def from_plain(data: Mapping[str, Any]) -> Postmortem:
    """``to_plain``'s inverse: a postmortem read back from its JSON form."""
    return msgspec.convert(data, Postmortem)

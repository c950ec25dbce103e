"""Notifications, the pure part: who hears of which event, what they read, and when a failed
delivery is tried again.

- ``Subscription``: a target's environments and kind globs (``deploy.*``); ``wants`` says
  whether it hears of an event. ``DEFAULT_EVENTS`` is what a target hears when its
  configuration names no kinds: the changes people act on, not the Terraform protocol's
  chatter (locks, every state write) nor token administration.
- ``worth_telling``: some events are recorded for the log but not worth a message (a deploy's
  own hold, which ``deploy.started`` already tells; a hold renewed to an ordinary length);
  ``told_by_another``: nor is one that another event of the same change tells better (the
  automatic hold of an out-of-band state write).
- ``compose``: the message of an event: a title and one or two sentences, told in the
  environment's time zone, with a link and the event id (a receiver drops duplicates by it).
- ``retry_at``: exponential backoff (10 s, doubling, at most 5 min apart) until the give-up
  time after the delivery was queued.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from signalbox.core.events import (
    KINDS,
    DeployEvent,
    Event,
    HoldEvent,
    HoldGranted,
    HoldRenewed,
    IncidentEvent,
    ReservationCancelled,
    ReservationCreated,
    ReservationStartsSoon,
    StateOutOfBand,
    Telling,
    retold,
)

__all__ = [
    "DEFAULT_EVENTS",
    "FIRST_RETRY",
    "LONG_HOLD",
    "MAX_RETRY_GAP",
    "TELLING_OTHERS",
    "Message",
    "Subscription",
    "compose",
    "link_of",
    "matching_kinds",
    "retry_at",
    "told_by_another",
    "unknown_globs",
    "worth_telling",
]

DEFAULT_EVENTS: tuple[str, ...] = (
    "deploy.started",
    "deploy.finished",
    "deploy.awaiting-approval",
    "deploy.denied",
    "deploy.lapsed",
    "deploy.abandoned",
    "deploy.reported-late",
    "approval.*",
    "hold.*",
    "reservation.*",
    "incident.*",
    "state.out-of-band",
    "state.force-unlocked",
    "state.restored",
    "state.deleted",
)
"""The kinds a target hears of when its configuration has no ``events``."""

FIRST_RETRY = timedelta(seconds=10)
MAX_RETRY_GAP = timedelta(minutes=5)
LONG_HOLD = timedelta(hours=4)
"""A hold renewed to last longer than this (from when it was taken) is told; shorter
renewals are routine."""


def matching_kinds(glob: str) -> list[str]:
    """The catalogue's kinds that ``glob`` (``deploy.*``, ``hold.lapsed``) matches."""
    return [kind for kind in KINDS if fnmatch.fnmatchcase(kind, glob)]


def unknown_globs(globs: Iterable[str]) -> list[str]:
    """The globs that match no kind of the catalogue (a typo, or a kind that does not exist)."""
    return [glob for glob in globs if not matching_kinds(glob)]


@dataclass(frozen=True, slots=True)
class Subscription:
    """What one target hears of: ``environments`` (None: all, and global events) and the
    kinds its ``events`` globs match."""

    environments: frozenset[str] | None
    kinds: frozenset[str]

    @classmethod
    def of(cls, environments: Iterable[str] | None, events: Sequence[str] | None) -> Subscription:
        globs = DEFAULT_EVENTS if events is None else tuple(events)
        kinds = frozenset(kind for glob in globs for kind in matching_kinds(glob))
        return cls(None if environments is None else frozenset(environments), kinds)

    def wants(self, kind: str, environment: str | None) -> bool:
        if kind not in self.kinds:
            return False
        if self.environments is None:
            return True
        return environment is not None and environment in self.environments


def worth_telling(event: Event) -> bool:
    """Whether ``event`` deserves a message at all (whoever subscribed to its kind)."""
    if isinstance(event, HoldEvent) and event.hold_kind == "deploy":
        return False  # the deploy's own events tell it, with more to say
    if isinstance(event, HoldRenewed):
        return event.until - event.since > LONG_HOLD
    return True


TELLING_OTHERS = frozenset({StateOutOfBand.kind})
"""The kinds that may tell another event of the same change (``told_by_another``)."""


def told_by_another(event: Event, alongside: Iterable[Event]) -> bool:
    """Whether another event of the same change (``alongside``: events of the same
    environment fanned out with it) tells what ``event`` says, with more to say: the hold an
    out-of-band state write placed is told by ``state.out-of-band`` (which state, which serial,
    until when), not a second time as ``hold.granted``."""
    if isinstance(event, HoldGranted):
        return any(
            isinstance(other, StateOutOfBand) and other.fencing_token == event.fencing_token
            for other in alongside
        )
    return False


def retry_at(
    *, attempt: int, queued_at: datetime, now: datetime, give_up: timedelta
) -> datetime | None:
    """When to try again after failed attempt number ``attempt`` (from 1): 10 s after the
    first, doubling, at most 5 min apart; None once that would be past ``queued_at +
    give_up`` (the delivery is given up)."""
    gap = FIRST_RETRY * (1 << min(max(attempt - 1, 0), 16))
    later = now + min(gap, MAX_RETRY_GAP)
    if later > queued_at + give_up:
        return None
    return later


# -- messages -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    """What one event says to people: ``title`` and ``body`` (plain text)."""

    title: str
    body: str


def link_of(event: Event | None, environment: str | None, base_url: str) -> str:
    """The page a reader opens for ``event``: its deploy, its incident (an incident's own
    events, its follow-up actions, a reservation it puts at risk), its reservation, or the
    environment."""
    base = base_url.rstrip("/")
    if isinstance(event, DeployEvent):
        return f"{base}/deploys/{event.deploy_id}"
    deploy_id = getattr(event, "deploy_id", None)
    if isinstance(deploy_id, int):
        return f"{base}/deploys/{deploy_id}"
    if isinstance(event, IncidentEvent):
        return f"{base}/incidents/{event.incident_id}"
    incident_id = getattr(event, "incident_id", None)  # an action, a reservation at risk
    if isinstance(incident_id, int):
        return f"{base}/incidents/{incident_id}"
    if isinstance(event, ReservationCreated | ReservationCancelled | ReservationStartsSoon):
        return f"{base}/environments/{environment}/reservations/{event.reservation_id}"
    if environment is not None:
        return f"{base}/environments/{environment}"
    return f"{base}/"


_TITLES: Mapping[str, str] = {
    "deploy.started": "apply started",
    "deploy.finished": "apply finished",
    "deploy.awaiting-approval": "plan waits for approval",
    "approval.granted": "plan approved",
    "approval.denied": "plan denied",
    "reservation.starting-soon": "reservation starts soon",
    "reservation.at-risk": "reservation at risk",
    "incident.update-due": "incident update due",
    "state.out-of-band": "state written outside a deploy",
    "hold.force-released": "hold force-released",
    "state.force-unlocked": "state force-unlocked",
}


def _title(kind: str, environment: str | None, event: Event | None) -> str:
    what = _TITLES.get(kind) or kind.replace(".", " ").replace("-", " ")
    if isinstance(event, DeployEvent) and kind == "deploy.finished" and event.state:
        what = f"apply {event.state}"
    where = environment or "signalbox"
    return f"{where}: {what}"


def compose(
    *,
    event_id: int,
    kind: str,
    environment: str | None,
    actor: str,
    stored_message: str,
    event: Event | None,
    timezone: str,
    now: datetime,
    base_url: str,
) -> Message:
    """The message of a stored event: its sentence told again in ``timezone`` as of ``now``
    (the stored words when the catalogue cannot read it), the link to open, and the event id
    (``signalbox event 42``) so a receiver can drop a message delivered twice."""
    # data the words cannot tell gives the stored words, not a message that can never be
    # sent and holds up the target
    sentence = retold(event, Telling(actor, environment, timezone, now), stored_message)
    link = link_of(event, environment, base_url)
    body = f"{sentence}\n{link}\nsignalbox event {event_id}"
    return Message(title=_title(kind, environment, event), body=body)

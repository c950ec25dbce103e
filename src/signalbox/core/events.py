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
    "Event",
    "Telling",
    "UndeclaredEvent",
    "declared",
    "describe_fields",
    "parse",
    "to_data",
]


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


def _ref(branch: str, commit: str) -> str:
    """``main @ 1a2b3c4`` with what is known, never ``? @ ?``."""
    short = commit[:7]
    if branch and short:
        return f"{branch} @ {short}"
    return branch or short


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every kind. Subclasses set ``kind`` and define ``words``."""

    kind: ClassVar[str] = ""

    def words(self, telling: Telling) -> str:
        raise NotImplementedError


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
        whose = "" if not self.owner or self.owner == telling.actor else f"{self.owner}'s "
        window = ""
        if self.starts is not None and self.ends is not None:
            window = f" ({telling.time(self.starts)} to {telling.time(self.ends)})"
        return (
            f"{telling.actor} cancelled {whose}reservation {self.reservation_id} of "
            f"{telling.env}{window}{_reason(self.reason)}."
        )


# -- deploys and approvals: (the deploys section) ---------------------------------------------

# -- tokens: (the tokens section) -------------------------------------------------------------

# -- Terraform state: (the state section) -----------------------------------------------------


CATALOGUE: tuple[type[Event], ...] = (
    EnvironmentAdded,
    HoldGranted,
    HoldRenewed,
    HoldReleased,
    HoldForceReleased,
    HoldLapsed,
    ReservationCreated,
    ReservationCancelled,
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

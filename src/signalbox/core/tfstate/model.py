"""Values the Terraform state rules take and return (no I/O; every datetime is UTC-aware)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import NamedTuple

from signalbox.core.errors import InvalidInput
from signalbox.core.tfstate.lockinfo import LockInfo
from signalbox.core.views import HoldView, Principal, ReservationView

__all__ = [
    "Accepted",
    "EnvironmentFacts",
    "Refusal",
    "RefusalCause",
    "StateHead",
    "StateKey",
    "TerraformLock",
    "WriteRequest",
    "validate_state_name",
]

_STATE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class StateKey(NamedTuple):
    """Which Terraform state: its environment and its name there (``/tf/{environment}/{name}``).

    States are identified by this pair everywhere; ``label`` (``dev/network``) is only for
    what people read."""

    environment: str
    name: str

    @property
    def label(self) -> str:
        return f"{self.environment}/{self.name}"


def validate_state_name(name: str) -> str:
    """``name`` when it can name a state; InvalidInput saying what a name may hold."""
    if not _STATE_NAME.match(name or ""):
        raise InvalidInput(
            f"{name!r} is not a state name.",
            hint="Use letters, digits, '.', '_' and '-' (up to 128), e.g. network or app.",
        )
    return name


@dataclass(frozen=True, slots=True)
class TerraformLock:
    """A Terraform lock that signalbox granted and stores for one state."""

    key: StateKey
    info: LockInfo
    owner: Principal
    created: datetime


@dataclass(frozen=True, slots=True)
class EnvironmentFacts:
    """What the rules need to know about the environment a state belongs to.

    ``hold`` may be lapsed (check with ``now``); ``reservations`` are the current and
    upcoming windows, recurring freezes materialised; ``timezone`` is for messages only.
    """

    name: str
    hold: HoldView | None = None
    reservations: tuple[ReservationView, ...] = ()
    frozen: bool = False
    frozen_reason: str = ""
    timezone: tzinfo = UTC


@dataclass(frozen=True, slots=True)
class StateHead:
    """The two fields of a state body that decide whether it may replace the stored one."""

    lineage: str
    serial: int


@dataclass(frozen=True, slots=True)
class WriteRequest:
    """One state write (POST/PUT) as the server received it.

    ``lock_id`` is the ``?ID=`` query value (None when Terraform runs with ``-lock=false``
    or without a lock address); ``declared_md5`` is the decoded ``Content-MD5`` header (None
    when absent); ``actual_md5`` is the MD5 of the body received; ``head`` is None when the
    body is not a Terraform state, and ``head_problem`` then says why and where.
    """

    writer: Principal
    lock_id: str | None
    declared_md5: bytes | None
    actual_md5: bytes
    head: StateHead | None
    head_problem: str = ""


class RefusalCause(StrEnum):
    """Why a LOCK, write or UNLOCK was refused; stable values, shown in answers."""

    LOCKED = "locked"  # another Terraform lock is live
    HELD = "held"  # the environment is held by someone else
    RESERVED = "reserved"  # an apply inside a reservation window
    FROZEN = "frozen"  # an apply while the environment is frozen by an incident
    LOCK_MISMATCH = "lock-mismatch"  # a write without the current lock's id
    CHECKSUM = "checksum"  # Content-MD5 does not match the body
    NOT_A_STATE = "not-a-state"  # not one JSON object with one lineage and serial
    LINEAGE = "lineage"  # the body belongs to another state
    SERIAL = "serial"  # the serial goes backwards
    NOT_OWNER = "not-owner"  # an UNLOCK of someone else's lock
    NOT_LOCKED = "not-locked"  # a force-unlock of a state nobody has locked


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused LOCK, write or UNLOCK: a normal answer, not an error.

    ``message`` is one full sentence naming whom to ask and what to do. ``lock_body`` is the
    7-field lock JSON for the 423 answer to a LOCK: its ID and Info carry the explanation,
    because Terraform 1.0.3 prints only the ID and 1.15.5 prints the whole lock info.
    """

    cause: RefusalCause
    message: str
    whom: str | None = None
    until: datetime | None = None
    lock_body: LockInfo | None = None


@dataclass(frozen=True, slots=True)
class Accepted:
    """An accepted LOCK, write or UNLOCK.

    ``unchanged``: the request repeats what is already stored (a retried LOCK or write), so
    nothing new is stored. ``fencing_token``: the writer's live hold's token, recorded with
    the version. ``forced``: an UNLOCK without the lock's JSON (``terraform force-unlock``).
    """

    unchanged: bool = False
    fencing_token: int | None = None
    forced: bool = False
    notes: tuple[str, ...] = field(default=())

"""Values shared by the core rules and the services (SERVER_CONTRACT.md).

Every datetime here is timezone-aware UTC. Every value is a frozen dataclass with slots, so
a rule can never change what it was given: it returns a decision, the service persists it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = [
    "DeployState",
    "DeployView",
    "HoldKind",
    "HoldView",
    "Principal",
    "ReservationView",
]


class HoldKind(StrEnum):
    """A work hold is taken by a person for hours; a deploy hold by CI for one apply."""

    WORK = "work"
    DEPLOY = "deploy"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who asks: a token's identity (``name`` is the token name, e.g. ``platform-eng``)."""

    name: str
    is_ci: bool


@dataclass(frozen=True, slots=True)
class HoldView:
    """An exclusive claim on an environment; lapsed when ``until <= now``."""

    environment: str
    owner: Principal
    kind: HoldKind
    reason: str
    since: datetime
    until: datetime
    fencing_token: int
    deploy_id: int | None = None


@dataclass(frozen=True, slots=True)
class ReservationView:
    """A window in which someone relies on the environment.

    ``id`` is None for a materialised recurring freeze window; ``kind`` is ``"reservation"``
    or ``"freeze"``.
    """

    id: int | None
    environment: str
    owner: str
    reason: str
    starts: datetime
    ends: datetime
    kind: str = "reservation"


class DeployState(StrEnum):
    """Where a deploy is in its life: queued and awaiting-approval wait in the queue
    (``core.queue.WAITING_STATES``), running holds the environment (with them,
    ``ACTIVE_STATES``); the others are final."""

    QUEUED = "queued"
    AWAITING_APPROVAL = "awaiting-approval"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUSED = "refused"
    SUPERSEDED = "superseded"
    DENIED = "denied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class DeployView:
    """One CI run's request to change an environment.

    ``plan_verdict`` is ``"routine"``, ``"needs-approval"``, ``"blocked"`` or ``"none"`` (no
    plan given). ``approved`` means an approval for (environment, plan_digest) exists and was
    not denied; ``priority`` 0 is normal, higher goes first (a hotfix). ``incident_id`` is
    the incident a hotfix was asked for (``gate --hotfix N``).
    """

    id: int
    environment: str
    requester: Principal
    branch: str
    commit: str
    state: DeployState
    priority: int
    requested_at: datetime
    plan_verdict: str
    plan_digest: str | None
    approved: bool = False
    denied: bool = False
    started_at: datetime | None = None
    incident_id: int | None = None

"""SQLAlchemy 2 tables of the server, as typed declarative models.

Times are stored as UTC (``UtcDateTime``: naive UTC in the database, aware UTC in Python).
The Alembic migrations in ``storage/migrations/versions`` create exactly these tables; a test
compares them. Holds, reservations, deploys, approvals and events are history: rows are
closed (released, cancelled, finished), never deleted.

The events table is also the notifications' outbox: an event is written with the change it
records, ``fanned_out_at`` is empty until the notifier has made its deliveries (one
``EventDeliveryRow`` per event and target), see ``repositories.outbox``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "OPEN_DELIVERY_STATES",
    "ApprovalRow",
    "Base",
    "DeliveryState",
    "DeployRow",
    "EnvironmentRow",
    "EventDeliveryRow",
    "EventRow",
    "HoldRow",
    "IncidentActionRow",
    "IncidentRow",
    "IncidentUpdateRow",
    "ReservationRow",
    "TokenRow",
    "UtcDateTime",
    "WebSessionRow",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database (the same on both backends)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("signalbox stores only timezone-aware datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


ACTIVE_DEPLOYS = "state IN ('queued', 'awaiting-approval', 'running')"
"""core.queue.ACTIVE_STATES as SQL, for the partial index of active deploys."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, list[str]: JSON}  # noqa: RUF012


class EnvironmentRow(Base):
    """A configured environment. ``last_fencing_token`` only grows; ``version`` grows with
    every change to the environment (for clients that wait for a change);
    ``recent_deploy_seconds`` and ``last_deploy_id`` are kept by the deploys' outcomes."""

    __tablename__ = "environments"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_fencing_token: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=0)
    configured: Mapped[bool] = mapped_column(Boolean, default=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime]
    # written with each deploy's outcome, so that the picture and the gate read one row:
    recent_deploy_seconds: Mapped[list[float]] = mapped_column(
        JSON, default=list, server_default=text("'[]'")
    )  # durations of the last successful deploys, oldest first
    last_deploy_id: Mapped[int | None] = mapped_column(Integer)  # the last that ran to an end


class TokenRow(Base):
    """An API token: only the SHA-256 of the secret is stored."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    is_ci: Mapped[bool] = mapped_column(Boolean, default=False)
    grants: Mapped[list[str]]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128), default="")
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class HoldRow(Base):
    """One hold, from grant to release or lapse. Current = ``released_at IS NULL``."""

    __tablename__ = "holds"
    __table_args__ = (
        UniqueConstraint("environment", "fencing_token"),
        Index(
            "ix_holds_current",
            "environment",
            unique=True,
            sqlite_where=text("released_at IS NULL"),
            postgresql_where=text("released_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    environment: Mapped[str] = mapped_column(ForeignKey("environments.name"))
    owner: Mapped[str] = mapped_column(String(128))
    owner_is_ci: Mapped[bool] = mapped_column(Boolean)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    since: Mapped[datetime]
    until: Mapped[datetime]
    lease_seconds: Mapped[int] = mapped_column(Integer)
    fencing_token: Mapped[int] = mapped_column(Integer)
    deploy_id: Mapped[int | None] = mapped_column(ForeignKey("deploys.id"))
    released_at: Mapped[datetime | None]
    released_by: Mapped[str | None] = mapped_column(String(128))
    release_reason: Mapped[str | None] = mapped_column(Text)
    # an incident's freeze closed it for now (released_at is then set): it returns when the
    # incident is resolved unless it lapsed; suspension_ended_at says it was dealt with
    suspended_by: Mapped[int | None] = mapped_column(Integer)
    suspension_ended_at: Mapped[datetime | None]


class ReservationRow(Base):
    """A window in which someone relies on the environment."""

    __tablename__ = "reservations"
    __table_args__ = (
        Index("ix_reservations_env_ends", "environment", "ends"),
        Index("ix_reservations_ends", "ends"),  # those not over, in every environment
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    environment: Mapped[str] = mapped_column(ForeignKey("environments.name"))
    owner: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    starts: Mapped[datetime]
    ends: Mapped[datetime]
    created_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(128))
    reminded_at: Mapped[datetime | None]  # told "starts soon" (the notifier's reminder)


class DeployRow(Base):
    """One CI run's request to change an environment. ``analysis`` never holds values."""

    __tablename__ = "deploys"
    __table_args__ = (
        Index("ix_deploys_env_state", "environment", "state"),
        Index(  # the few active deploys among the whole history, in every environment
            "ix_deploys_active",
            "environment",
            sqlite_where=text(ACTIVE_DEPLOYS),
            postgresql_where=text(ACTIVE_DEPLOYS),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    environment: Mapped[str] = mapped_column(ForeignKey("environments.name"))
    requester: Mapped[str] = mapped_column(String(128))
    requester_is_ci: Mapped[bool] = mapped_column(Boolean)
    actor: Mapped[str] = mapped_column(String(128), default="")
    branch: Mapped[str] = mapped_column(String(255), default="")
    commit: Mapped[str] = mapped_column(String(64), default="")
    run_url: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    plan_verdict: Mapped[str] = mapped_column(String(32), default="none")
    plan_digest: Mapped[str | None] = mapped_column(String(64))
    analysis: Mapped[dict[str, Any] | None]
    requested_at: Mapped[datetime]
    granted_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(32))
    exit_code: Mapped[int | None] = mapped_column(Integer)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    refusal_reason: Mapped[str | None] = mapped_column(String(32))
    refusal_message: Mapped[str | None] = mapped_column(Text)
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("deploys.id"))
    wait_deadline: Mapped[datetime | None]
    incident_id: Mapped[int | None] = mapped_column(Integer)  # a hotfix of this incident


class ApprovalRow(Base):
    """An approver's decision on one plan (digest) for one environment."""

    __tablename__ = "approvals"
    __table_args__ = (Index("ix_approvals_env_digest", "environment", "plan_digest"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    deploy_id: Mapped[int] = mapped_column(ForeignKey("deploys.id"))
    environment: Mapped[str] = mapped_column(ForeignKey("environments.name"))
    plan_digest: Mapped[str] = mapped_column(String(64))
    approver: Mapped[str] = mapped_column(String(128))
    decision: Mapped[str] = mapped_column(String(16))  # "approve" | "deny"
    reason: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]
    as_commander_of: Mapped[int | None] = mapped_column(Integer)  # a hotfix, by its commander


OPEN_INCIDENT = "status != 'resolved'"
"""An incident not resolved, as SQL: at most one per environment (a partial unique index)."""


class IncidentRow(Base):
    """An incident: an environment is broken. Open until resolved (reopening opens it again);
    ``freezes``: only its hotfixes deploy while it is open. ``responders`` are the names the
    commander allowed to run its hotfixes; ``at_risk`` the reservations already told they
    are at risk (so that each is told once)."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index(
            "ix_incidents_open",
            "environment",
            unique=True,
            sqlite_where=text(OPEN_INCIDENT),
            postgresql_where=text(OPEN_INCIDENT),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    environment: Mapped[str] = mapped_column(ForeignKey("environments.name"))
    title: Mapped[str] = mapped_column(String(200))
    severity: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    commander: Mapped[str] = mapped_column(String(128))
    responders: Mapped[list[str]]
    freezes: Mapped[bool] = mapped_column(Boolean)
    eta: Mapped[datetime | None]
    opened_at: Mapped[datetime]
    opened_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    at_risk: Mapped[list[str]]  # reservation ids, as strings
    update_reminded_at: Mapped[datetime | None]  # the commander was last reminded to update


class IncidentUpdateRow(Base):
    """An update as posted (the opening, each update, the resolution, a reopening): what
    people read and what the postmortem quotes."""

    __tablename__ = "incident_updates"
    __table_args__ = (Index("ix_incident_updates_incident", "incident_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    kind: Mapped[str] = mapped_column(String(16))  # opened | update | resolved | reopened
    at: Mapped[datetime]
    author: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    eta: Mapped[datetime | None]
    commander: Mapped[str] = mapped_column(String(128))
    note: Mapped[str] = mapped_column(Text, default="")


class IncidentActionRow(Base):
    """A follow-up action of an incident (what the postmortem promises)."""

    __tablename__ = "incident_actions"
    __table_args__ = (Index("ix_incident_actions_incident", "incident_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(128), default="")
    due: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime]


class EventRow(Base):
    """Every change, written in the transaction that made it: who, what, when, why.

    ``schema_version`` is the catalogue's version the ``data`` was written with
    (``core.events.SCHEMA_VERSION``; empty for events written before the catalogue).
    ``fanned_out_at`` is empty until the notifier has made the event's deliveries; the
    partial index holds only those rows, so finding them stays cheap however long the
    history grows.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_env_id", "environment", "id"),
        Index(
            "ix_events_to_fan_out",
            "id",
            sqlite_where=text("fanned_out_at IS NULL"),
            postgresql_where=text("fanned_out_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    environment: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]]
    deploy_id: Mapped[int | None] = mapped_column(Integer)
    schema_version: Mapped[int | None] = mapped_column(Integer)
    fanned_out_at: Mapped[datetime | None]


class DeliveryState(StrEnum):
    """Where one delivery of an event to one target stands."""

    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # claimed by a server (claimed_by) until claimed_until
    DELIVERED = "delivered"
    FAILED = "failed"  # the last attempt failed; tried again at next_attempt_at
    GIVEN_UP = "given-up"  # no more attempts until someone retries the target


OPEN_DELIVERY_STATES = (DeliveryState.PENDING, DeliveryState.SENDING, DeliveryState.FAILED)
"""States of a delivery that is not finished: the oldest open one of a target goes first."""

_OPEN_DELIVERY = "state IN ({})".format(", ".join(f"'{state}'" for state in OPEN_DELIVERY_STATES))
_GIVEN_UP_DELIVERY = f"state = '{DeliveryState.GIVEN_UP}'"


class EventDeliveryRow(Base):
    """One event to one notification target (a name from the settings; never its URL).

    Deliveries of a target go out one at a time in ``id`` order: a target's oldest open
    delivery is the only one that may be claimed. ``attempts`` counts the claims since the
    delivery was queued (``queued_at``: made, or retried after giving up); with
    ``queued_at`` it fences a claim: a server marks the outcome of the attempt it claimed,
    not a later one.
    ``last_error`` is what went wrong, with the target's URL left out.
    """

    __tablename__ = "event_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "target"),
        Index(
            "ix_event_deliveries_open",
            "target",
            "id",
            sqlite_where=text(_OPEN_DELIVERY),
            postgresql_where=text(_OPEN_DELIVERY),
        ),
        Index(  # a target's newest given-up delivery, and how many (migration 0006)
            "ix_event_deliveries_given_up",
            "target",
            "id",
            sqlite_where=text(_GIVEN_UP_DELIVERY),
            postgresql_where=text(_GIVEN_UP_DELIVERY),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    target: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]


class WebSessionRow(Base):
    """A browser's sign-in (``web.sessions``): only the SHA-256 of the cookie's secret is
    stored, with the token it was made from (the session ends when that token is revoked)
    and the session's form token (CSRF)."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("tokens.id", ondelete="CASCADE"), index=True)
    form_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


# Registration: the Terraform state backend's tables live in their own module on
# this Base, so Alembic and the tests see every table through ``Base.metadata``.
from signalbox.storage import tfstate_tables as _tfstate_tables  # noqa: E402, F401

"""Holds: acquire, renew, release, force-release and expire, each in one transaction.

Every function locks the environment first (``UnitOfWork.lock_environment``), reads the
current hold, asks ``core.holds``, writes, and records the event, all in one transaction, so
two servers on one database can never both grant. ``*_in(uow, ...)`` variants run inside a
caller's unit of work (the gate takes its deploy hold that way).

Events (core.events): HoldGranted, HoldRenewed, HoldReleased, HoldForceReleased, HoldLapsed.

While an open incident freezes the environment, a WORK hold by someone outside the
incident's team is refused (``Conflict``, naming the incident, its commander and ETA): the
freeze suspended the holds there were, and a new one must not stop the fix either. DEPLOY
holds are the gate's, which decides about the freeze itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine, Row

from signalbox.core.errors import Conflict, Held, InvalidInput, NotHolder
from signalbox.core.events import (
    HoldEvent,
    HoldForceReleased,
    HoldGranted,
    HoldLapsed,
    HoldReleased,
    HoldRenewed,
)
from signalbox.core.holds import (
    Denied,
    Granted,
    HoldRequest,
    decide_hold,
    decide_release,
    decide_renew,
    describe_holder,
)
from signalbox.core.incidents import frozen_message
from signalbox.core.views import HoldKind, HoldView, Principal
from signalbox.services.events import emit, event_fields
from signalbox.storage.repositories import hold_view
from signalbox.storage.repositories.events import insert_event
from signalbox.storage.repositories.holds import (
    HOLD_REQUEST_VIEW,
    HoldRequestView,
    advance_environment,
    close_hold,
    held,
    insert_hold,
    open_incident,
    renew_hold_row,
)
from signalbox.storage.repositories.incidents import IncidentRepository, incident_view
from signalbox.storage.tables import HoldRow, IncidentRow
from signalbox.storage.uow import UnitOfWork, run_write, run_write_async

T = TypeVar("T")
P = ParamSpec("P")

__all__ = [
    "HoldWork",
    "acquire_hold",
    "acquire_hold_in",
    "acquiring",
    "current_hold",
    "denial_error",
    "describe_denial",
    "expire_lapsed",
    "force_release",
    "record_hold_event",
    "release_hold",
    "releasing",
    "renew_hold",
    "renewing",
    "run_hold_work",
]


def _hold_fields(hold: HoldView) -> dict[str, Any]:
    return {
        "owner": hold.owner.name,
        "owner_is_ci": hold.owner.is_ci,
        "hold_kind": str(hold.kind),
        "reason": hold.reason,
        "since": hold.since,
        "until": hold.until,
        "fencing_token": hold.fencing_token,
        "deploy_id": hold.deploy_id,
    }


def record_hold_event(
    uow: UnitOfWork,
    kind: type[HoldEvent],
    hold: HoldView,
    *,
    actor: str,
    now: datetime,
    **extra: Any,
) -> None:
    """The ``kind`` event (HoldGranted, ...) about ``hold``, with its fields."""
    record = kind(**_hold_fields(hold), **extra)
    emit(uow, record, environment=hold.environment, actor=actor, now=now)


def _current(uow: UnitOfWork, environment: str) -> tuple[HoldRow | None, HoldView | None]:
    row = uow.holds.current(environment)
    return row, (hold_view(row) if row is not None else None)


def _close_lapsed(uow: UnitOfWork, row: HoldRow, *, now: datetime) -> None:
    hold = hold_view(row)
    uow.holds.close(row, at=hold.until, by="signalbox", reason="lapsed")
    record_hold_event(uow, HoldLapsed, hold, actor="signalbox", now=now)


def acquire_hold_in(uow: UnitOfWork, request: HoldRequest, *, now: datetime) -> Granted | Denied:
    """Grant, renew or deny ``request`` inside ``uow`` (which it locks the environment of).
    A unit of work without a Session yet takes the Core path (``_acquire_core``)."""
    if not uow.session_started:
        return _acquire_core(uow, request, now=now)
    environment = uow.lock_environment(request.environment)
    now = uow.now(now)
    if request.kind is HoldKind.WORK:
        incident = IncidentRepository(uow.session).open_in(environment.name)
        _refuse_if_frozen(incident, environment.name, environment.timezone, request, now=now)
    row, current = _current(uow, request.environment)
    decision = decide_hold(current, request, last_token=environment.last_fencing_token, now=now)
    if isinstance(decision, Denied):
        return decision
    hold = decision.hold
    if decision.renewed:
        assert row is not None
        row.until, row.reason = hold.until, hold.reason
        row.lease_seconds = int(request.duration.total_seconds())
        record_hold_event(uow, HoldRenewed, hold, actor=hold.owner.name, now=now)
        return decision
    if row is not None:
        _close_lapsed(uow, row, now=now)
    token = uow.environments.next_fencing_token(environment)
    assert token == hold.fencing_token, "the fencing counter moved under the row lock"
    uow.holds.grant(hold, lease_seconds=int(request.duration.total_seconds()))
    record_hold_event(uow, HoldGranted, hold, actor=hold.owner.name, now=now)
    return decision


def _acquire_core(uow: UnitOfWork, request: HoldRequest, *, now: datetime) -> Granted | Denied:
    """``acquire_hold_in`` with compiled Core statements on ``uow.connection``: the same
    steps in the same order (lock, freeze, current, decide, close a lapsed hold, next token,
    grant, events), on plain rows."""
    connection = uow.connection
    row = uow.lock_environment_core(request.environment, HOLD_REQUEST_VIEW)
    now = uow.now(now)
    if request.kind is HoldKind.WORK and row.open_incident_id is not None:
        incident = open_incident(connection, row.name)
        _refuse_if_frozen(incident, row.name, row.timezone, request, now=now)
    current = held(row)
    decision = decide_hold(current, request, last_token=row.last_fencing_token, now=now)
    if isinstance(decision, Denied):
        return decision
    hold = decision.hold
    lease = int(request.duration.total_seconds())
    owner = hold.owner.name
    if decision.renewed:
        renew_hold_row(
            connection, row.id, until=hold.until, reason=hold.reason, lease_seconds=lease
        )
        _write_events(uow, row, [(HoldRenewed, hold, owner)], tokens=0, now=now)
        return decision
    events: list[tuple[type[HoldEvent], HoldView, str]] = []
    if current is not None:
        close_hold(connection, row.id, at=current.until, by="signalbox", reason="lapsed")
        events.append((HoldLapsed, current, "signalbox"))
    events.append((HoldGranted, hold, owner))
    token = _write_events(uow, row, events, tokens=1, now=now)
    assert token == hold.fencing_token, "the fencing counter moved under the row lock"
    insert_hold(connection, hold, lease_seconds=lease)
    return decision


def _write_events(
    uow: UnitOfWork,
    row: HoldRequestView,
    events: list[tuple[type[HoldEvent], HoldView, str]],
    *,
    tokens: int,
    now: datetime,
) -> int:
    """The hold events ``events`` ((kind, hold, actor)) about ``row``'s environment, and
    its fencing counter advanced by ``tokens`` and its version by one per event, in one
    statement (``record_hold_event``'s ``emit`` would take one per event); the counter."""
    token = advance_environment(uow.connection, row.name, tokens=tokens, events=len(events))
    for kind, hold, actor in events:
        record = kind(**_hold_fields(hold))
        fields = event_fields(
            record, environment=row.name, timezone=row.timezone, actor=actor, now=now
        )
        insert_event(uow.connection, fields)
    return token


def _refuse_if_frozen(
    incident_row: IncidentRow | Row[Any] | None,
    environment: str,
    timezone: str,
    request: HoldRequest,
    *,
    now: datetime,
) -> None:
    """Conflict when an open incident (``incident_row``) freezes the environment and the
    requester is not in its team (the commander and the responders it named)."""
    if incident_row is None:
        return
    incident = incident_view(incident_row)
    if not incident.is_freezing or request.owner.name in incident.team:
        return
    raise Conflict(
        frozen_message(incident, timezone=timezone, now=now),
        hint=(
            f"Holds there return once incident {incident.id} is resolved; ask "
            f"{incident.commander} to add you (`signalbox incident update {incident.id} "
            f"--responder {request.owner.name}`) if you are working on the fix."
        ),
        environment=environment,
        incident_id=incident.id,
        commander=incident.commander,
    )


HoldWork = Callable[[UnitOfWork], T]
"""A hold request as the work of a write unit of work (``acquiring``, ``renewing``,
``releasing``): run it with ``run_hold_work`` from a coroutine, or the ``*_hold`` functions."""


def acquiring(
    *,
    environment: str,
    principal: Principal,
    reason: str,
    duration: timedelta,
    now: datetime,
    kind: HoldKind = HoldKind.WORK,
    deploy_id: int | None = None,
) -> HoldWork[Granted | Denied]:
    """The work of holding ``environment`` for ``duration`` (or renewing your live hold)."""
    request = HoldRequest(environment, principal, kind, reason, duration, deploy_id)
    return lambda uow: _acquire_core(uow, request, now=now)


def renewing(
    *,
    environment: str,
    principal: Principal,
    now: datetime,
    duration: timedelta | None = None,
    fencing_token: int | None = None,
) -> HoldWork[HoldView]:
    """The work of extending your live hold to ``now + duration`` (default: its lease)."""

    def renew(uow: UnitOfWork) -> HoldView:
        row = uow.lock_environment_core(environment, HOLD_REQUEST_VIEW)
        at = uow.now(now)
        lease = duration or timedelta(seconds=row.lease_seconds or 0)
        hold = decide_renew(
            held(row),
            owner=principal,
            environment=environment,
            duration=lease,
            now=at,
            fencing_token=fencing_token,
            timezone=row.timezone,
        )
        renew_hold_row(
            uow.connection,
            row.id,
            until=hold.until,
            reason=hold.reason,
            lease_seconds=int(lease.total_seconds()),
        )
        _write_events(uow, row, [(HoldRenewed, hold, principal.name)], tokens=0, now=at)
        return hold

    return renew


def releasing(
    *,
    environment: str,
    principal: Principal,
    now: datetime,
    fencing_token: int | None = None,
) -> HoldWork[HoldView]:
    """The work of releasing your hold; NotHolder if you do not hold it,
    StaleFencingToken if the token given is not the current one."""

    def release(uow: UnitOfWork) -> HoldView:
        row = uow.lock_environment_core(environment, HOLD_REQUEST_VIEW)
        at = uow.now(now)
        hold = decide_release(
            held(row),
            owner=principal,
            environment=environment,
            now=at,
            fencing_token=fencing_token,
            timezone=row.timezone,
        )
        close_hold(uow.connection, row.id, at=at, by=principal.name, reason="released")
        _write_events(uow, row, [(HoldReleased, hold, principal.name)], tokens=0, now=at)
        return hold

    return release


async def run_hold_work(engine: Engine, work: HoldWork[T]) -> T:
    """``work`` committed, awaited on the event loop (SQLite: queued for the writer thread
    with the other writes of its group commit; no worker thread per request)."""
    return await run_write_async(engine, work)


def _committed(build: Callable[P, HoldWork[T]], doc: str) -> Callable[Concatenate[Engine, P], T]:
    """``build``'s work as a function of the engine that runs it and returns its outcome,
    committed (``run_write``): for callers in a thread (tests, the CLI)."""

    def run(engine: Engine, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return run_write(engine, build(*args, **kwargs))

    run.__doc__ = doc
    return run


acquire_hold = _committed(
    acquiring, "Hold ``environment`` for ``duration`` (or renew your own live hold)."
)
renew_hold = _committed(
    renewing, "Extend your live hold to ``now + duration`` (default: its original lease)."
)
release_hold = _committed(
    releasing,
    "Release your hold; NotHolder if you do not hold it, StaleFencingToken if the token "
    "given is not the current one.",
)


def force_release(
    engine: Engine, *, environment: str, admin: Principal, reason: str, now: datetime
) -> HoldView:
    """An admin ends someone's hold (the caller checks the admin grant); needs a reason."""
    if not reason.strip():
        raise InvalidInput(
            "A force-release needs a reason; the holder will read it.",
            hint='Add --reason "why".',
            field="reason",
        )
    with UnitOfWork(engine) as uow:
        uow.lock_environment(environment)
        now = uow.now(now)
        row, current = _current(uow, environment)
        if row is None or current is None:
            raise NotHolder(
                f"{environment} is not held; there is nothing to release.",
                hint="See signalbox status.",
                environment=environment,
            )
        uow.holds.close(row, at=now, by=admin.name, reason=reason)
        record_hold_event(
            uow, HoldForceReleased, current, actor=admin.name, now=now, release_reason=reason
        )
        return current


def expire_lapsed(engine: Engine, *, now: datetime) -> list[HoldView]:
    """Close every hold whose lease lapsed, writing ``hold.lapsed``; returns them."""
    with UnitOfWork(engine, read_only=True) as uow:
        candidates = uow.holds.lapsed_environments(now)
    expired = []
    for environment in candidates:
        with UnitOfWork(engine) as uow:
            uow.lock_environment(environment)
            at = uow.now(now)
            row = uow.holds.current(environment)
            if row is not None and row.until <= now:
                expired.append(hold_view(row))
                _close_lapsed(uow, row, now=at)
    return expired


def current_hold(engine: Engine, *, environment: str, now: datetime) -> HoldView | None:
    """The live hold on ``environment``, or None (UnknownEnvironment if not configured)."""
    with UnitOfWork(engine, read_only=True) as uow:
        uow.environments.get(environment)
        _, current = _current(uow, environment)
        return current if current is not None and current.until > now else None


def describe_denial(denied: Denied, where: str, *, now: datetime) -> tuple[str, str]:
    """(message, hint) in the environment's time zone, for people."""
    holder = denied.holder
    message = describe_holder(holder, timezone=where, now=now)
    hint = f"Ask {holder.owner.name}, or wait for `signalbox release {holder.environment}`."
    return message, hint


def denial_error(denied: Denied, timezone: str, *, now: datetime) -> Held:
    """The refusal as the ``held`` answer (409) with the holder's fields."""
    message, hint = describe_denial(denied, timezone, now=now)
    holder = denied.holder
    return Held(
        message,
        hint=hint,
        environment=holder.environment,
        holder=holder.owner.name,
        holder_is_ci=holder.owner.is_ci,
        kind=str(holder.kind),
        reason=holder.reason,
        since=holder.since.isoformat(),
        until=holder.until.isoformat(),
        timezone=timezone,
        deploy_id=holder.deploy_id,
    )

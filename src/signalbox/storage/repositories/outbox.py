"""The notifications' outbox: events to fan out, and deliveries to claim and settle.

The notifier (a loop in every ``signalbox serve``) works in three short units of work:

1. Fan out: ``lock_fan_out()`` (one server at a time), ``to_fan_out(limit=...)`` (the oldest
   events not fanned out yet), then ``fan_out(...)`` writes one delivery per (event, target)
   that should hear of it and marks those events fanned out, in the same transaction.
2. Claim: ``claim_due(...)`` takes each target's oldest open delivery when it is due
   (``FOR UPDATE SKIP LOCKED`` on PostgreSQL: two servers never take the same row, nor wait
   for each other), marks it ``sending`` until ``now + lease`` and returns it with its event.
   The sending happens outside any transaction.
3. Settle: ``mark_delivered`` or ``mark_failed`` (try again at a time, or give up), fenced by
   the claim (claimant, attempt, and when the delivery was queued): a server whose lease ran
   out cannot overwrite the outcome of a later claim, even once ``retry`` has queued the
   delivery again and counts its attempts from 1 anew.

A target is served in order: only its oldest open delivery can be claimed, so a later event
never overtakes an earlier one, and a delivery that is being retried holds the target's
queue until it is delivered or given up.

Events are marked when fanned out (``events.fanned_out_at``) rather than read past a cursor
("the last event id handed out"): on PostgreSQL an id is taken when the row is inserted but
transactions commit in any order, so event 11 can be visible while event 10 is not committed
yet, and a cursor moved past 11 would never see 10. A mark cannot miss one.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    Table,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from signalbox.storage.tables import (
    OPEN_DELIVERY_STATES,
    DeliveryState,
    EventDeliveryRow,
    EventRow,
)

__all__ = [
    "FAN_OUT_LOCK_ID",
    "MAX_ERROR_CHARS",
    "ClaimedDelivery",
    "DeliveryView",
    "OutboxEvent",
    "OutboxRepository",
    "TargetHealth",
]

FAN_OUT_LOCK_ID = 0x5167_B0C7
"""PostgreSQL advisory lock taken (not waited for) by the server that fans out."""

MAX_ERROR_CHARS = 2000

_PENDING, _SENDING, _DELIVERED = (
    DeliveryState.PENDING,
    DeliveryState.SENDING,
    DeliveryState.DELIVERED,
)
_FAILED, _GIVEN_UP = DeliveryState.FAILED, DeliveryState.GIVEN_UP


_DELIVERIES = cast(Table, EventDeliveryRow.__table__)


def _among(
    column: InstrumentedAttribute[str], states: Iterable[DeliveryState]
) -> ColumnElement[bool]:
    """``column IN ('pending', ...)`` with the values written into the SQL, so PostgreSQL's
    planner can match it to a partial index's predicate whatever plan it caches."""
    values = [str(state) for state in states]
    return column.in_(bindparam(None, values, expanding=True, literal_execute=True))


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    """An event as the notifier reads it (``data`` goes to ``core.events.parse``)."""

    id: int
    environment: str | None
    at: datetime
    actor: str
    kind: str
    message: str
    data: dict[str, Any]
    schema_version: int | None


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery this server may now send, until ``claimed_until``. ``attempt`` counts from 1
    since the delivery was queued (``queued_at``); settle it with the same claimant: the
    attempt and ``queued_at`` fence the claim."""

    id: int
    target: str
    attempt: int
    queued_at: datetime
    claimed_until: datetime
    event: OutboxEvent


@dataclass(frozen=True, slots=True)
class TargetHealth:
    """How one target fares: ``failing`` is its oldest failed delivery (retried later) when
    there is one; ``gave_up`` its newest given-up delivery when nothing was delivered to it
    since (a target that gave up and has not been heard to work again)."""

    target: str
    open: int
    given_up: int
    last_delivered_at: datetime | None
    failing: DeliveryView | None
    gave_up: DeliveryView | None = None


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """A delivery as it stands, for whoever shows the notifier's health."""

    id: int
    event_id: int
    target: str
    state: DeliveryState
    attempts: int
    queued_at: datetime
    next_attempt_at: datetime
    claimed_by: str | None
    claimed_until: datetime | None
    last_error: str | None
    delivered_at: datetime | None


_EVENT_COLUMNS = (
    EventRow.id,
    EventRow.environment,
    EventRow.at,
    EventRow.actor,
    EventRow.kind,
    EventRow.message,
    EventRow.data,
    EventRow.schema_version,
)


def _outbox_event(row: Any, prefix: str = "") -> OutboxEvent:
    """The event of ``row``, whose event columns are named ``prefix`` + their key."""
    field = {column.key: getattr(row, prefix + column.key) for column in _EVENT_COLUMNS}
    return OutboxEvent(**{**field, "data": dict(field["data"])})


def _delivery_view(row: EventDeliveryRow) -> DeliveryView:
    return DeliveryView(
        id=row.id,
        event_id=row.event_id,
        target=row.target,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        queued_at=row.queued_at,
        next_attempt_at=row.next_attempt_at,
        claimed_by=row.claimed_by,
        claimed_until=row.claimed_until,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
    )


def _clean_error(error: str, redact: Collection[str]) -> str:
    """The error without any of ``redact`` (a target's URL, its secrets), cut to size."""
    for secret in sorted((s for s in redact if s), key=len, reverse=True):
        error = error.replace(secret, "[redacted]")
    return error[:MAX_ERROR_CHARS]


class OutboxRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- fan-out -------------------------------------------------------------------------------

    def lock_fan_out(self) -> bool:
        """Whether this transaction may fan out: False when another server is doing it now
        (PostgreSQL: an advisory lock until commit, not waited for). SQLite's write
        transactions are serialised already."""
        if self.session.get_bind().dialect.name != "postgresql":
            return True
        taken = self.session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": FAN_OUT_LOCK_ID}
        )
        return bool(taken)

    def waiting_to_fan_out(self) -> bool:
        """Whether any event waits to be fanned out (a read: skip the write when not)."""
        query = select(EventRow.id).where(EventRow.fanned_out_at.is_(None)).limit(1)
        return self.session.execute(query).first() is not None

    def skip_older(self, *, before: datetime, now: datetime) -> int:
        """Mark events older than ``before`` fanned out with no delivery, in one statement
        (history older than the give-up time, when the notifier first sees it)."""
        marked = self.session.execute(
            update(EventRow)
            .where(EventRow.fanned_out_at.is_(None), EventRow.at < before)
            .values(fanned_out_at=now)
        )
        return int(marked.rowcount)  # type: ignore[attr-defined]

    def to_fan_out(self, *, limit: int) -> list[OutboxEvent]:
        """The oldest events not fanned out yet, oldest first."""
        query = (
            select(*_EVENT_COLUMNS)
            .where(EventRow.fanned_out_at.is_(None))
            .order_by(EventRow.id)
            .limit(limit)
        )
        return [_outbox_event(row) for row in self.session.execute(query)]

    def fan_out(
        self,
        *,
        event_ids: Collection[int],
        deliveries: Iterable[tuple[int, str]],
        now: datetime,
    ) -> None:
        """Queue ``deliveries`` ((event id, target) pairs, due now) and mark ``event_ids``
        fanned out: an event that no target wants is in ``event_ids`` with no delivery."""
        rows = [
            {
                "event_id": event_id,
                "target": target,
                "state": str(_PENDING),
                "attempts": 0,
                "queued_at": now,
                "next_attempt_at": now,
            }
            for event_id, target in deliveries
        ]
        if rows:
            self.session.execute(insert(EventDeliveryRow), rows)
        if event_ids:
            self.session.execute(
                update(EventRow)
                .where(EventRow.id.in_(list(event_ids)), EventRow.fanned_out_at.is_(None))
                .values(fanned_out_at=now)
            )

    # -- claims ----------------------------------------------------------------------------------

    def claim_due(
        self,
        *,
        claimant: str,
        now: datetime,
        lease: timedelta,
        limit: int,
        run: int = 1,
        among: Collection[str],
        skip_targets: Collection[str] = (),
    ) -> list[ClaimedDelivery]:
        """Claim up to ``limit`` targets' deliveries: each target's oldest open delivery, when
        it is due (pending or failed and ``next_attempt_at`` has come, or sending and its
        claim ran out), followed by up to ``run - 1`` of the target's next open deliveries
        that are due too (sent one after the other, in order, by whoever holds the claim).
        Targets in ``skip_targets`` (this server is sending to them) and rows another server
        is claiming are skipped. Listed by target, then in order.

        Only targets in ``among`` (the configured ones) are claimed for: each one's oldest
        open delivery is looked up on its own in the partial index of open deliveries, a few
        index reads however large the backlog."""
        delivery = EventDeliveryRow
        names = sorted(set(among) - set(skip_targets))
        if not names:
            return []
        query = (
            self._claimable(now)
            .where(delivery.id.in_(self._oldest_open(names)))
            .order_by(delivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=delivery)
        )
        if skip_targets:
            query = query.where(delivery.target.not_in(list(skip_targets)))
        rows = list(self.session.execute(query).all())
        if not rows:
            return []
        if run > 1:  # the heads are locked by this transaction: their followers are ours
            rows = [follower for row in rows for follower in [row, *self._followers(row, now, run)]]
        claimed_until = now + lease
        self.session.execute(
            update(delivery)
            .where(delivery.id.in_([row.id for row in rows]))
            .values(
                state=str(_SENDING),
                claimed_by=claimant,
                claimed_until=claimed_until,
                attempts=delivery.attempts + 1,
            )
        )
        return [
            ClaimedDelivery(
                id=row.id,
                target=row.target,
                attempt=row.attempts + 1,
                queued_at=row.queued_at,
                claimed_until=claimed_until,
                event=_outbox_event(row, prefix="event_"),
            )
            for row in rows
        ]

    def anything_due(self, *, now: datetime, skip_targets: Collection[str] = ()) -> bool:
        """Whether any open delivery of a target not in ``skip_targets`` is due (a read:
        skip the claiming write when not). It may be a target's later delivery, behind one
        that is not due: the claim then finds nothing, which is harmless."""
        query = self._claimable(now).limit(1)
        if skip_targets:
            query = query.where(EventDeliveryRow.target.not_in(list(skip_targets)))
        return self.session.execute(query).first() is not None

    @staticmethod
    def _oldest_open(names: Sequence[str]) -> CompoundSelect[Any]:
        """Each named target's oldest open delivery id: one look-up per target in the
        partial index of open deliveries."""
        head = aliased(EventDeliveryRow)
        return union_all(
            *(
                select(func.min(head.id)).where(
                    head.target == name, _among(head.state, OPEN_DELIVERY_STATES)
                )
                for name in names
            )
        )

    @staticmethod
    def _claimable(now: datetime, *, due_only: bool = True) -> Select[Any]:
        """Open deliveries (only those due, with ``due_only``), with their events' columns
        and whether each is ``due``."""
        delivery = EventDeliveryRow
        due = or_(
            and_(_among(delivery.state, (_PENDING, _FAILED)), delivery.next_attempt_at <= now),
            and_(delivery.state == str(_SENDING), delivery.claimed_until <= now),
        )
        query = (
            select(delivery.id, delivery.target, delivery.attempts, delivery.queued_at)
            .add_columns(*(column.label(f"event_{column.key}") for column in _EVENT_COLUMNS))
            .add_columns(due.label("due"))
            .join(EventRow, EventRow.id == delivery.event_id)
            .where(_among(delivery.state, OPEN_DELIVERY_STATES))
        )
        return query.where(due) if due_only else query

    def _followers(self, head: Any, now: datetime, run: int) -> list[Any]:
        """The open deliveries right after ``head`` of its target, up to the first that is
        not due (none is ever skipped: a later one must not overtake it)."""
        delivery = EventDeliveryRow
        following = self.session.execute(
            self._claimable(now, due_only=False)
            .where(delivery.target == head.target, delivery.id > head.id)
            .order_by(delivery.id)
            .limit(run - 1)
        ).all()
        return list(itertools.takewhile(lambda row: bool(row.due), following))

    def _settle(self, claim: ClaimedDelivery, claimant: str, **values: Any) -> bool:
        settled = self.session.execute(
            update(EventDeliveryRow)
            .where(
                EventDeliveryRow.id == claim.id,
                EventDeliveryRow.state == str(_SENDING),
                EventDeliveryRow.claimed_by == claimant,
                EventDeliveryRow.attempts == claim.attempt,
                EventDeliveryRow.queued_at == claim.queued_at,
            )
            .values(claimed_by=None, claimed_until=None, **values)
        )
        return bool(settled.rowcount)  # type: ignore[attr-defined]

    def mark_delivered(self, claim: ClaimedDelivery, *, claimant: str, now: datetime) -> bool:
        """Record that ``claim`` was delivered; False (and nothing changes) when the claim is
        no longer this one (it ran out and another server claimed the delivery again)."""
        return self._settle(
            claim, claimant, state=str(_DELIVERED), delivered_at=now, last_error=None
        )

    def mark_all_delivered(
        self, claims: Sequence[ClaimedDelivery], *, claimant: str, now: datetime
    ) -> int:
        """``mark_delivered`` for each of ``claims``, in one statement; how many were still
        this claimant's to mark."""
        values = {"state": str(_DELIVERED), "delivered_at": now, "last_error": None}
        return self._settle_all(claims, claimant, values, same_queueing=True)

    def release(self, claims: Sequence[ClaimedDelivery], *, claimant: str) -> int:
        """Give back claimed deliveries that were not attempted (an earlier one of the same
        run failed): pending again, due at once, their attempt not counted."""
        values = {"state": str(_PENDING), "attempts": _DELIVERIES.c.attempts - 1}
        return self._settle_all(claims, claimant, values, same_queueing=False)

    def _settle_all(
        self,
        claims: Sequence[ClaimedDelivery],
        claimant: str,
        values: dict[str, Any],
        *,
        same_queueing: bool,
    ) -> int:
        """Set ``values`` (and end the claim) on each of ``claims`` still this claimant's
        (the same attempt, and with ``same_queueing`` the same ``queued_at``), in one
        executemany statement; how many."""
        if not claims:
            return 0
        table = _DELIVERIES
        fence = [
            table.c.id == bindparam("claim_id"),
            table.c.state == str(_SENDING),
            table.c.claimed_by == claimant,
            table.c.attempts == bindparam("claim_attempt"),
        ]
        if same_queueing:
            fence.append(table.c.queued_at == bindparam("claim_queued_at"))
        statement = (
            table.update().where(*fence).values(claimed_by=None, claimed_until=None, **values)
        )
        params = [
            {"claim_id": c.id, "claim_attempt": c.attempt, "claim_queued_at": c.queued_at}
            for c in claims
        ]
        return int(self.session.connection().execute(statement, params).rowcount)

    def mark_failed(
        self,
        claim: ClaimedDelivery,
        *,
        claimant: str,
        error: str,
        retry_at: datetime | None,
        redact: Collection[str] = (),
    ) -> bool:
        """Record that the attempt failed: try again at ``retry_at``, or give up when it is
        None. ``error`` is stored without any of ``redact`` (pass the target's URL and its
        secrets) and cut to MAX_ERROR_CHARS. False when the claim is no longer this one."""
        values: dict[str, Any] = {"last_error": _clean_error(error, redact)}
        if retry_at is None:
            values["state"] = str(_GIVEN_UP)
        else:
            values.update(state=str(_FAILED), next_attempt_at=retry_at)
        return self._settle(claim, claimant, **values)

    def retry(self, *, target: str, now: datetime) -> int:
        """Queue ``target``'s failed and given-up deliveries again, due now, with their
        attempts counted afresh; returns how many."""
        queued = self.session.execute(
            update(EventDeliveryRow)
            .where(
                EventDeliveryRow.target == target,
                _among(EventDeliveryRow.state, (_FAILED, _GIVEN_UP)),
            )
            .values(
                state=str(_PENDING),
                attempts=0,
                queued_at=now,
                next_attempt_at=now,
                claimed_by=None,
                claimed_until=None,
            )
        )
        return int(queued.rowcount)  # type: ignore[attr-defined]

    def retry_one(self, delivery_id: int, *, now: datetime) -> DeliveryView | None:
        """Queue delivery ``delivery_id`` again, due now, attempts counted afresh, whatever
        its state (a delivered one is sent again), unless it is being sent right now; None
        when there is no such delivery or it is being sent."""
        row = self.session.get(EventDeliveryRow, delivery_id, with_for_update=True)
        if row is None or row.state == str(_SENDING):
            return None
        row.state = str(_PENDING)
        row.attempts = 0
        row.queued_at = row.next_attempt_at = now
        row.claimed_by = row.claimed_until = row.delivered_at = None
        self.session.flush()
        return _delivery_view(row)

    def event(self, event_id: int) -> OutboxEvent:
        """Event ``event_id`` as the notifier reads it (a delivery's event: it exists)."""
        row = self.session.execute(select(*_EVENT_COLUMNS).where(EventRow.id == event_id)).one()
        return _outbox_event(row)

    def get(self, delivery_id: int) -> DeliveryView | None:
        row = self.session.get(EventDeliveryRow, delivery_id)
        return None if row is None else _delivery_view(row)

    def mark_all_fanned_out(self, *, now: datetime) -> int:
        """Mark every event not fanned out yet as fanned out, with no delivery (no target is
        configured: nothing is owed to anyone)."""
        marked = self.session.execute(
            update(EventRow).where(EventRow.fanned_out_at.is_(None)).values(fanned_out_at=now)
        )
        return int(marked.rowcount)  # type: ignore[attr-defined]

    # -- health ----------------------------------------------------------------------------------

    def listed(
        self,
        *,
        states: Collection[DeliveryState] | None = None,
        targets: Collection[str] | None = None,
        limit: int = 50,
        before_id: int | None = None,
    ) -> list[tuple[DeliveryView, OutboxEvent]]:
        """Deliveries with their events, newest first, filtered by state and target."""
        delivery = EventDeliveryRow
        query = (
            select(delivery)
            .add_columns(*(column.label(f"event_{column.key}") for column in _EVENT_COLUMNS))
            .join(EventRow, EventRow.id == delivery.event_id)
            .order_by(delivery.id.desc())
            .limit(limit)
        )
        if states is not None:
            query = query.where(_among(delivery.state, states))
        if targets is not None:
            query = query.where(delivery.target.in_(list(targets)))
        if before_id is not None:
            query = query.where(delivery.id < before_id)
        return [
            (_delivery_view(row[0]), _outbox_event(row, prefix="event_"))
            for row in self.session.execute(query)
        ]

    def health(self, targets: Collection[str]) -> dict[str, TargetHealth]:
        """How each of ``targets`` fares, and each other target that still has open
        deliveries (one no longer configured). A few index look-ups per target, however
        long the history: open and given-up deliveries are in partial indexes; the latest
        delivered one is read backwards from the newest delivery (an admin's listing)."""
        delivery = EventDeliveryRow
        waiting = select(delivery.target).where(_among(delivery.state, OPEN_DELIVERY_STATES))
        names = sorted(set(targets) | set(self.session.scalars(waiting.distinct())))
        failing = {view.target: view for view in self.failing_heads(names)}
        gave_up = {view.target: view for view in self.given_up_heads(names)}
        found: dict[str, TargetHealth] = {}
        for name in names:
            open_ = self.session.scalar(
                select(func.count())
                .select_from(delivery)
                .where(delivery.target == name, _among(delivery.state, OPEN_DELIVERY_STATES))
            )
            given_up = self.session.scalar(
                select(func.count())
                .select_from(delivery)
                .where(delivery.target == name, delivery.state == str(_GIVEN_UP))
            )
            last_delivered = self.session.scalar(
                select(delivery.delivered_at)
                .where(delivery.target == name, delivery.state == str(_DELIVERED))
                .order_by(delivery.id.desc())
                .limit(1)
            )
            found[name] = TargetHealth(
                name,
                int(open_ or 0),
                int(given_up or 0),
                last_delivered,
                failing.get(name),
                gave_up.get(name),
            )
        return found

    def given_up_heads(self, targets: Collection[str]) -> list[DeliveryView]:
        """For each of ``targets``, its newest given-up delivery when none of its deliveries
        was delivered after it: the target gave up and has not been heard to work since."""
        delivery = EventDeliveryRow
        later = aliased(EventDeliveryRow)
        found: list[DeliveryView] = []
        for name in sorted(set(targets)):
            newest = self.session.scalars(
                select(delivery)
                .where(delivery.target == name, delivery.state == str(_GIVEN_UP))
                .order_by(delivery.id.desc())
                .limit(1)
            ).first()
            if newest is None:
                continue
            delivered_since = self.session.scalar(
                select(later.id)
                .where(
                    later.target == name,
                    later.id > newest.id,
                    later.state == str(_DELIVERED),
                )
                .limit(1)
            )
            if delivered_since is None:
                found.append(_delivery_view(newest))
        return found

    def backlog(self) -> dict[str, int]:
        """target -> how many of its deliveries are open (pending, sending or failed)."""
        query = (
            select(EventDeliveryRow.target, func.count())
            .where(_among(EventDeliveryRow.state, OPEN_DELIVERY_STATES))
            .group_by(EventDeliveryRow.target)
        )
        return {target: count for target, count in self.session.execute(query)}

    def troubled(self, *, limit: int = 50) -> list[DeliveryView]:
        """Failed and given-up deliveries, newest first: what a failing target looks like."""
        query = (
            select(EventDeliveryRow)
            .where(_among(EventDeliveryRow.state, (_FAILED, _GIVEN_UP)))
            .order_by(EventDeliveryRow.id.desc())
            .limit(limit)
        )
        return [_delivery_view(row) for row in self.session.scalars(query)]

    def failing_heads(self, targets: Collection[str]) -> list[DeliveryView]:
        """For each of ``targets`` whose oldest open delivery has failed (and is tried again
        later), that delivery. One look-up per target in the partial index of open
        deliveries, however long the history (``health`` reads every delivery)."""
        if not targets:
            return []
        query = (
            select(EventDeliveryRow)
            .where(
                EventDeliveryRow.id.in_(self._oldest_open(sorted(set(targets)))),
                EventDeliveryRow.state == str(_FAILED),
            )
            .order_by(EventDeliveryRow.target)
        )
        return [_delivery_view(row) for row in self.session.scalars(query)]

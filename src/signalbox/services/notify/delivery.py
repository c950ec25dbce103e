"""Delivery: claim what is due, send it through Apprise outside any transaction, settle it.

A claim is a run of one target's deliveries in order (``claim_due(run=...)``); the run is
sent one message after the other and stops at the first failure: that delivery is marked
failed with its next attempt (``core.notify.retry_at``) or given up, and the rest of the run
is given back untried, so nothing overtakes it. It stops too once the claim has run out
(another server may take the same deliveries then). Delivered ones are marked in one
statement.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Engine

from signalbox.core.events import parse
from signalbox.core.notify import Message, compose, retry_at
from signalbox.services.notify.fan_out import fan_out_in
from signalbox.services.notify.targets import Sent, Target
from signalbox.services.reservations import environment_timezone
from signalbox.settings import Settings
from signalbox.storage.repositories.outbox import ClaimedDelivery, OutboxEvent, OutboxRepository
from signalbox.storage.uow import UnitOfWork

__all__ = [
    "RunOutcome",
    "claim_runs_in",
    "fan_out_and_claim",
    "message_of",
    "send_run",
]

log = logging.getLogger("signalbox.notify")


def message_of(event: OutboxEvent, settings: Settings, *, now: datetime) -> Message:
    """The message people read for ``event``, told in its environment's zone."""
    timezone = environment_timezone(settings, event.environment or "")
    record = parse(event.kind, event.data) if event.schema_version is not None else None
    return compose(
        event_id=event.id,
        kind=event.kind,
        environment=event.environment,
        actor=event.actor,
        stored_message=event.message,
        event=record,
        timezone=timezone,
        now=now,
        base_url=settings.base_url,
    )


def claim_runs_in(
    outbox: OutboxRepository,
    *,
    claimant: str,
    now: datetime,
    lease: timedelta,
    targets: int,
    run: int,
    skip_targets: Sequence[str] = (),
    among: Collection[str],
) -> dict[str, list[ClaimedDelivery]]:
    """Claim runs for up to ``targets`` of the targets ``among`` (the configured ones: a
    target no longer configured keeps its deliveries until it is back), in the caller's
    write transaction; target -> its run, in order."""
    claims = outbox.claim_due(
        claimant=claimant,
        now=now,
        lease=lease,
        limit=targets,
        run=run,
        skip_targets=skip_targets,
        among=among,
    )
    runs: dict[str, list[ClaimedDelivery]] = {}
    for claim in claims:
        runs.setdefault(claim.target, []).append(claim)
    return runs


def fan_out_and_claim(
    engine: Engine,
    targets: Mapping[str, Target],
    *,
    claimant: str,
    now: datetime,
    lease: timedelta,
    give_up: timedelta,
    free: int,
    run: int,
    skip_targets: Sequence[str] = (),
) -> tuple[int, dict[str, list[ClaimedDelivery]]]:
    """One notifier turn's database work in at most one write transaction: fan out what
    waits, then claim runs (including the deliveries just made) for up to ``free`` targets
    not in ``skip_targets``. Two reads first, so that an idle turn writes nothing."""
    with UnitOfWork(engine, read_only=True) as uow:
        outbox = OutboxRepository(uow.session)
        waiting = outbox.waiting_to_fan_out()
        due = free > 0 and outbox.anything_due(now=now, skip_targets=skip_targets)
    if not waiting and not due:
        return 0, {}
    with UnitOfWork(engine) as uow:
        outbox = OutboxRepository(uow.session)
        fanned = fan_out_in(outbox, targets, now=now, give_up=give_up) if waiting else 0
        if free <= 0:
            return fanned, {}
        runs = claim_runs_in(
            outbox,
            claimant=claimant,
            now=now,
            lease=lease,
            targets=free,
            run=run,
            skip_targets=skip_targets,
            among=list(targets),
        )
        return fanned, runs


class RunOutcome:
    """What sending one run came to (for logs, tests and the benchmark)."""

    __slots__ = ("delivered", "failed", "gave_up", "released")

    def __init__(self) -> None:
        self.delivered = 0
        self.failed = 0
        self.gave_up = 0
        self.released = 0


def send_run(
    engine: Engine,
    settings: Settings,
    target: Target,
    run: Sequence[ClaimedDelivery],
    *,
    claimant: str,
    clock: Callable[[], datetime],
    give_up: timedelta,
) -> RunOutcome:
    """Send ``run`` (one target's claimed deliveries, in order) and settle it."""
    outcome = RunOutcome()
    delivered: list[ClaimedDelivery] = []
    failure: tuple[ClaimedDelivery, Sent] | None = None
    for claim in run:
        if clock() >= claim.claimed_until:
            # the claim ran out (slow sends): another server may be sending these now, and
            # going on would interleave our copies with its messages; give the rest back
            break
        sent = target.send(message_of(claim.event, settings, now=clock()))
        if not sent.ok:
            failure = (claim, sent)
            break
        delivered.append(claim)
    untried = list(run[len(delivered) + (1 if failure else 0) :])
    now = clock()
    with UnitOfWork(engine) as uow:
        outbox = OutboxRepository(uow.session)
        outcome.delivered = outbox.mark_all_delivered(delivered, claimant=claimant, now=now)
        if failure is not None:
            claim, sent = failure
            later = retry_at(
                attempt=claim.attempt, queued_at=claim.queued_at, now=now, give_up=give_up
            )
            secrets = list(target.secrets)
            outbox.mark_failed(
                claim, claimant=claimant, error=sent.answer, retry_at=later, redact=secrets
            )
            if later is None:
                outcome.gave_up = 1
                log.warning(
                    "notify: gave up delivering event %s to %s after %s: %s",
                    claim.event.id,
                    claim.target,
                    f"{claim.attempt} attempt{'s' if claim.attempt != 1 else ''}",
                    sent.answer,
                )
            else:
                outcome.failed = 1
                log.info(
                    "notify: delivering event %s to %s failed (attempt %s), next at %s: %s",
                    claim.event.id,
                    claim.target,
                    claim.attempt,
                    later.isoformat(),
                    sent.answer,
                )
        outcome.released = outbox.release(untried, claimant=claimant)
    return outcome

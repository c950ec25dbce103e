"""Decide again: one waiting gate asks (``decide_deploy``), or every waiting deploy of an
environment at once (``decide_waiting``), each in one transaction that locks the environment.

When an environment changes, every gate waiting on it is woken. Deciding each of them in
its own transaction would read the same snapshot N times (N waiting deploys: N² work);
``decide_waiting`` reads it once and decides them all in queue order, updating the snapshot
as it goes (the first that may go takes the deploy hold, and the others then queue behind
it; a refused one leaves the queue). Only a deploy whose gate is asking now is started.
The API coalesces the woken waiters of one process onto one such call
(``api.longpoll.Batches``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Engine

from signalbox.core.gate import EnvironmentSnapshot, Go, decide_gate
from signalbox.core.queue import ACTIVE_STATES, WAITING_LEASE, WAITING_STATES, is_abandoned
from signalbox.services.deploys.answers import GateAnswer, settled_answer
from signalbox.services.deploys.outcomes import (
    Outcome,
    apply_decision,
    decide_row,
    pending_recheck,
)
from signalbox.services.deploys.snapshot import load_snapshot, view_in, views_of
from signalbox.settings import Settings
from signalbox.storage.repositories.deploys import DeployRepository
from signalbox.storage.tables import DeployRow
from signalbox.storage.uow import UnitOfWork

__all__ = ["decide_deploy", "decide_waiting"]


def decide_deploy(
    engine: Engine, settings: Settings, *, deploy_id: int, now: datetime
) -> GateAnswer:
    """Decide again (a waiting gate asks): may deploy ``deploy_id`` go now?"""
    with UnitOfWork(engine) as uow:
        row, env = uow.lock_deploy(deploy_id)
        now = uow.now(now)
        if row.state not in WAITING_STATES:
            return settled_answer(uow, settings, row, version=env.version)
        # a gate that asks after its deadline has left the queue (tidying records it, as
        # housekeeping would have): its place is not given back without an event
        if not is_abandoned(row.wait_deadline, now=now):
            row.wait_deadline = now + WAITING_LEASE
        return decide_row(uow, settings, row, env, now=now)


def decide_waiting(
    engine: Engine,
    settings: Settings,
    *,
    environment: str,
    present: Collection[int],
    now: datetime,
) -> dict[int, GateAnswer]:
    """The answer for the deploys of ``environment`` that were waiting, by deploy id.

    Only a deploy in ``present`` (whose gate is known to be asking now) is started: a gate
    that went away must not take the environment. A deploy that may go but is not present
    gets no answer here (its own gate's request decides it).
    """
    with UnitOfWork(engine) as uow:
        env = uow.lock_environment(environment)
        now = uow.now(now)
        snapshot = load_snapshot(uow, settings, environment, timezone=env.timezone, now=now)
        rows = {row.id: row for row in DeployRepository(uow.session).active(environment)}
        answers: dict[int, GateAnswer] = {}
        for view in snapshot.queue:
            row = rows[view.id]
            if row.state not in WAITING_STATES:
                continue
            decision = decide_gate(snapshot, view_in(uow, snapshot, row), now=now)
            if isinstance(decision, Go) and row.id not in present:
                continue
            outcome = apply_decision(uow, settings, row, decision, timezone=env.timezone, now=now)
            answers[row.id] = outcome.answer
            snapshot = _after(uow, snapshot, rows, outcome)
        return {
            deploy_id: replace(
                answer, version=env.version, recheck_at=pending_recheck(answer, snapshot, now)
            )
            for deploy_id, answer in answers.items()
        }


def _after(
    uow: UnitOfWork, snapshot: EnvironmentSnapshot, rows: dict[int, DeployRow], outcome: Outcome
) -> EnvironmentSnapshot:
    """The snapshot once ``outcome`` is written."""
    if outcome.hold is not None:  # went: it holds the environment and runs
        active = [row for row in rows.values() if row.state in ACTIVE_STATES]
        return replace(snapshot, hold=outcome.hold, deploys=views_of(uow, snapshot.name, active))
    if outcome.answer.decision == "refused":
        kept = tuple(view for view in snapshot.deploys if view.id != outcome.answer.deploy.id)
        return replace(snapshot, deploys=kept)
    return snapshot

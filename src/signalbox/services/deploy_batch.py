"""Decide every waiting deploy of one environment at once, in one transaction.

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
from signalbox.core.views import DeployState
from signalbox.services.deploy_answers import GateAnswer
from signalbox.services.deploy_snapshot import load_snapshot, recheck_at, views_of
from signalbox.services.deploys import apply_decision
from signalbox.settings import Settings
from signalbox.storage.repositories import hold_view
from signalbox.storage.repositories.deploys import ACTIVE, DeployRepository
from signalbox.storage.tables import DeployRow
from signalbox.storage.uow import UnitOfWork

__all__ = ["decide_waiting"]


def _after(
    uow: UnitOfWork, snapshot: EnvironmentSnapshot, rows: dict[int, DeployRow], answer: GateAnswer
) -> EnvironmentSnapshot:
    """The snapshot once ``answer`` is written."""
    if answer.decision == "go":
        active = [row for row in rows.values() if row.state in ACTIVE]
        hold = uow.holds.current(snapshot.name)
        return replace(
            snapshot,
            hold=hold_view(hold) if hold is not None else None,
            deploys=views_of(uow, snapshot.name, active),
        )
    if answer.decision == "refused":
        kept = tuple(view for view in snapshot.deploys if view.id != answer.deploy.id)
        return replace(snapshot, deploys=kept)
    return snapshot


def decide_waiting(
    engine: Engine,
    settings: Settings,
    environment: str,
    *,
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
        snapshot = load_snapshot(uow, settings, environment, timezone=env.timezone, now=now)
        rows = {row.id: row for row in DeployRepository(uow.session).active(environment)}
        answers: dict[int, GateAnswer] = {}
        for view in snapshot.queue:
            row = rows[view.id]
            if row.state not in (DeployState.QUEUED, DeployState.AWAITING_APPROVAL):
                continue
            current = snapshot.waiting_deploy(view.id) or next(
                v for v in snapshot.deploys if v.id == view.id
            )
            decision = decide_gate(snapshot, current, now=now)
            if isinstance(decision, Go) and row.id not in present:
                continue
            answer = apply_decision(uow, settings, row, decision, timezone=env.timezone, now=now)
            answers[row.id] = answer
            snapshot = _after(uow, snapshot, rows, answer)
        uow.session.flush()
        version = env.version
        recheck = recheck_at(snapshot, now=now)
        return {
            deploy_id: replace(
                answer,
                version=version,
                recheck_at=recheck if answer.decision in ("wait", "needs-approval") else None,
            )
            for deploy_id, answer in answers.items()
        }

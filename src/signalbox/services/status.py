"""The picture of environments (``core.status``), for one or for all a caller may see.

``environment_pictures`` reads the facts of every asked-for environment in one read-only
transaction with a fixed number of queries (at most eight, whatever the number of
environments), then asks ``core.status.picture`` for each. It writes nothing: a running
deploy whose lease lapsed is shown as not running, a waiting deploy whose gate went away
as not waiting, exactly as the next decision will record them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row

from signalbox.core.gate import EnvironmentSnapshot
from signalbox.core.status import (
    DeployDetails,
    EnvironmentFacts,
    EnvironmentPicture,
    FinishedDeploy,
    picture,
    plan_summary,
)
from signalbox.core.views import ReservationView
from signalbox.services.deploys.snapshot import expected_for
from signalbox.services.reservations import FREEZE_HORIZON, freeze_windows_between
from signalbox.settings import Settings
from signalbox.storage.repositories import hold_view
from signalbox.storage.repositories.deploys import approval_key, deploy_view
from signalbox.storage.repositories.environment_facts import EnvironmentFactsRepository
from signalbox.storage.repositories.environments import unknown_environment
from signalbox.storage.repositories.reservations import reservation_view
from signalbox.storage.repositories.tfstate import terraform_lock
from signalbox.storage.uow import read_connection

__all__ = ["environment_picture", "environment_pictures"]

_RESERVATION_HORIZON = timedelta(days=2)
"""Reservations further ahead than this (beyond the expected deploy) cannot stop a deploy
now; past it only each environment's next one is read."""

DEFAULT_EXPECTED = timedelta(minutes=10)


def environment_picture(
    engine: Engine, settings: Settings, name: str, *, now: datetime
) -> EnvironmentPicture:
    """The picture of environment ``name`` (UnknownEnvironment if it is not one)."""
    [found] = environment_pictures(engine, settings, names=[name], now=now)
    return found


def environment_pictures(
    engine: Engine, settings: Settings, *, names: Sequence[str] | None, now: datetime
) -> list[EnvironmentPicture]:
    """The pictures of ``names`` (every environment when None), by name. An unknown name
    raises UnknownEnvironment before anything else is read."""
    with read_connection(engine) as connection:
        facts = EnvironmentFactsRepository(connection)
        rows = facts.environments()
        known = [row.name for row in rows]
        for name in names or ():
            if name not in known:
                raise unknown_environment(name, known)
        if names is not None:
            wanted = set(names)
            rows = [row for row in rows if row.name in wanted]
        chosen = None if names is None else [row.name for row in rows]
        holds = facts.current_holds(chosen)
        active = facts.active_deploys(chosen, now)
        keys = {(run.environment, approval_key(run)) for runs in active.values() for run in runs}
        decisions = facts.approval_decisions(keys)
        expected = {row.name: expected_for(settings, row) for row in rows}
        horizon = now + max(expected.values(), default=DEFAULT_EXPECTED) + _RESERVATION_HORIZON
        reservations = facts.reservations(chosen, now, horizon)
        last = facts.deploys([row.last_deploy_id for row in rows if row.last_deploy_id])
        locks = facts.terraform_locks(chosen)
        pictures = []
        for row in rows:
            name = row.name
            runs = active.get(name, [])
            hold = holds.get(name)
            snapshot = EnvironmentSnapshot(
                name=name,
                hold=hold_view(hold) if hold is not None else None,
                deploys=tuple(
                    deploy_view(run, approval=decisions.get((name, approval_key(run))))
                    for run in runs
                ),
                reservations=_windows(settings, name, reservations.get(name, []), now),
                expected_duration=expected[name],
                timezone=row.timezone,
            )
            environment = EnvironmentFacts(
                snapshot=snapshot,
                version=row.version,
                last_fencing_token=row.last_fencing_token,
                details={run.id: _details(run) for run in runs},
                last_finished=_finished(last.get(row.last_deploy_id)),
                terraform_locks=[terraform_lock(*found) for found in locks.get(name, [])],
            )
            pictures.append(picture(environment, now=now))
        return pictures


def _windows(
    settings: Settings, name: str, rows: list[Row[Any]], now: datetime
) -> tuple[ReservationView, ...]:
    windows = [reservation_view(row) for row in rows]
    windows.extend(freeze_windows_between(settings, name, now, now + FREEZE_HORIZON))
    return tuple(sorted(windows, key=lambda window: (window.starts, window.ends)))


def _details(row: Row[Any]) -> DeployDetails:
    return DeployDetails(
        actor=row.actor, run_url=row.run_url, plan=plan_summary(row.plan_verdict, row.analysis)
    )


def _finished(row: Row[Any] | None) -> FinishedDeploy | None:
    if row is None or row.finished_at is None:
        return None
    return FinishedDeploy(
        id=row.id,
        requester=row.requester,
        branch=row.branch,
        commit=row.commit,
        state=str(row.state),
        outcome=row.outcome,
        finished_at=row.finished_at,
        duration_seconds=row.duration_seconds,
    )

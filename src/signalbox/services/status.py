"""The picture of environments (``core.status``), for one or for all a caller may see.

``environment_pictures`` reads the facts of every asked-for environment in one read-only
transaction with a fixed number of queries (at most eight, whatever the number of
environments: environments, holds, active deploys, approvals, reservations, open incidents,
last deploys, Terraform locks), then asks ``core.status.picture`` for each. It writes
nothing: a running deploy whose lease lapsed is shown as not running, a waiting deploy
whose gate went away as not waiting, exactly as the next decision will record them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row

from signalbox.core.errors import unknown_environment
from signalbox.core.gate import EnvironmentSnapshot
from signalbox.core.queue import WAITING_STATES
from signalbox.core.status import (
    DeployDetails,
    EnvironmentFacts,
    EnvironmentPicture,
    FinishedDeploy,
    changes_at,
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
from signalbox.storage.repositories.incidents import incident_view
from signalbox.storage.repositories.reservations import reservation_view
from signalbox.storage.repositories.tfstate import terraform_lock
from signalbox.storage.uow import read_connection

__all__ = ["PictureCache", "environment_picture", "environment_pictures"]

_RESERVATION_HORIZON = timedelta(days=2)
"""Reservations further ahead than this (beyond the expected deploy) cannot stop a deploy
now; past it only each environment's next one is read."""

DEFAULT_EXPECTED = timedelta(minutes=10)


Stamp = tuple[int, datetime | None]
"""What one query of the environments tells of an environment's changes: its ``version``
and the ``until`` of its current hold."""


class PictureCache:
    """The pictures last computed, each kept while its environment's stamp is the same and
    until time alone may change it (``core.status.changes_at``: a lease lapses, a waiting
    gate's deadline passes, a window comes near, begins or ends, the day changes). A board
    that asks every few seconds then costs one query of the environments while nothing
    happens, and the work of the environments that changed when something does.

    The stamp is the environment's ``version``, which every event advances in the event's
    transaction (``services.events.emit``), and its hold's ``until``, which a deploy's
    heartbeat moves without an event. A waiting gate's deadline, also moved without an
    event, is not in the picture: it ends the kept picture by time (the deploy leaves the
    queue then unless its gate asked again). One per server (thread-safe)."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[Stamp, datetime, datetime | None, EnvironmentPicture]] = {}
        self._lock = threading.Lock()

    def get(self, name: str, stamp: Stamp, now: datetime) -> EnvironmentPicture | None:
        with self._lock:
            found = self._kept.get(name)
        if found is None:
            return None
        kept_stamp, made_at, valid_until, kept = found
        fresh = valid_until is None or now < valid_until
        return kept if kept_stamp == stamp and made_at <= now and fresh else None

    def put(
        self, name: str, stamp: Stamp, now: datetime, facts: EnvironmentFacts
    ) -> EnvironmentPicture:
        """The picture of ``facts`` at ``now``, kept for environment ``name``."""
        found = picture(facts, now=now)
        valid_until = changes_at(facts, now=now)
        with self._lock:
            self._kept[name] = (stamp, now, valid_until, found)
        return found


def _stamp(row: Row[Any]) -> Stamp:
    return (row.version, row.hold_until)


def environment_picture(
    engine: Engine,
    settings: Settings,
    name: str,
    *,
    now: datetime,
    cache: PictureCache | None = None,
) -> EnvironmentPicture:
    """The picture of environment ``name`` (UnknownEnvironment if it is not one)."""
    [found] = environment_pictures(engine, settings, names=[name], now=now, cache=cache)
    return found


def environment_pictures(
    engine: Engine,
    settings: Settings,
    *,
    names: Sequence[str] | None,
    now: datetime,
    cache: PictureCache | None = None,
) -> list[EnvironmentPicture]:
    """The pictures of ``names`` (every environment when None), by name. An unknown name
    raises UnknownEnvironment before anything else is read. With ``cache``, the picture of
    an environment that has not changed is the one computed before."""
    with read_connection(engine) as connection:
        facts = EnvironmentFactsRepository(connection)
        every = facts.environments()
        rows = _chosen(every, names)
        kept = {row.name: cache.get(row.name, _stamp(row), now) for row in rows} if cache else {}
        stale = [row for row in rows if kept.get(row.name) is None]
        fresh: dict[str, EnvironmentPicture] = {}
        if stale:
            for row, found in _facts(facts, settings, stale, len(stale) == len(every), now):
                if cache is None:
                    fresh[row.name] = picture(found, now=now)
                else:
                    fresh[row.name] = cache.put(row.name, _stamp(row), now, found)
    return [kept.get(row.name) or fresh[row.name] for row in rows]


def _chosen(rows: list[Row[Any]], names: Sequence[str] | None) -> list[Row[Any]]:
    """The rows of ``names`` (all when None); UnknownEnvironment for a name that is none."""
    if names is None:
        return rows
    known = [row.name for row in rows]
    for name in names:
        if name not in known:
            raise unknown_environment(name, known)
    wanted = set(names)
    return [row for row in rows if row.name in wanted]


def _facts(
    facts: EnvironmentFactsRepository,
    settings: Settings,
    rows: list[Row[Any]],
    every: bool,
    now: datetime,
) -> Iterator[tuple[Row[Any], EnvironmentFacts]]:
    """The facts of the environments of ``rows`` (``every``: all there are, unfiltered)."""
    chosen = None if every else [row.name for row in rows]
    holds = facts.current_holds(chosen)
    active = facts.active_deploys(chosen, now)
    keys = {(run.environment, approval_key(run)) for runs in active.values() for run in runs}
    decisions = facts.approval_decisions(keys)
    expected = {row.name: expected_for(settings, row) for row in rows}
    horizon = now + max(expected.values(), default=DEFAULT_EXPECTED) + _RESERVATION_HORIZON
    reservations = facts.reservations(chosen, now, horizon)
    incidents = facts.open_incidents(chosen)
    last = facts.deploys([row.last_deploy_id for row in rows if row.last_deploy_id])
    locks = facts.terraform_locks(chosen)
    for row in rows:
        name = row.name
        runs = active.get(name, [])
        hold = holds.get(name)
        incident = incidents.get(name)
        snapshot = EnvironmentSnapshot(
            name=name,
            hold=hold_view(hold) if hold is not None else None,
            deploys=tuple(
                deploy_view(run, approval=decisions.get((name, approval_key(run)))) for run in runs
            ),
            reservations=_windows(settings, name, reservations.get(name, []), now),
            expected_duration=expected[name],
            incident=incident_view(incident) if incident is not None else None,
            timezone=row.timezone,
        )
        yield (
            row,
            EnvironmentFacts(
                snapshot=snapshot,
                version=row.version,
                last_fencing_token=row.last_fencing_token,
                details={run.id: _details(run) for run in runs},
                last_finished=_finished(last.get(row.last_deploy_id)),
                terraform_locks=[terraform_lock(*found) for found in locks.get(name, [])],
                wait_deadlines={
                    run.id: run.wait_deadline
                    for run in runs
                    if run.state in WAITING_STATES and run.wait_deadline is not None
                },
            ),
        )


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

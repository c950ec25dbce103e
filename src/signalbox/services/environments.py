"""Environments: the configured ones, synced into the database at start, and their status.

Status is derived, never stored: ``held`` (a live work hold), ``deploying`` (a live deploy
hold), else ``ok``. Later parts add ``reserved`` and ``frozen`` in ``environment_status``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from signalbox.core.holds import is_live
from signalbox.core.views import HoldKind, HoldView
from signalbox.services.clock import zone
from signalbox.services.events import record_event
from signalbox.settings import Settings
from signalbox.storage.repositories import hold_view
from signalbox.storage.repositories.environments import unknown_environment
from signalbox.storage.uow import UnitOfWork

__all__ = ["EnvironmentStatus", "list_environments", "sync_environments"]


@dataclass(frozen=True, slots=True)
class EnvironmentStatus:
    name: str
    state: str  # "ok" | "held" | "deploying"
    timezone: str
    hold: HoldView | None  # the live hold, if any
    last_fencing_token: int
    version: int

    @property
    def zone(self) -> ZoneInfo:
        return zone(self.timezone)


def sync_environments(engine: Engine, settings: Settings, *, now: datetime) -> list[str]:
    """Make the configured environments the known ones; returns the names added."""
    zones = {name: config.timezone for name, config in settings.environments.items()}
    for name in zones.values():
        zone(name)  # an unknown time zone stops the start, with the name in the message
    with UnitOfWork(engine) as uow:
        uow.lock_startup()
        added = uow.environments.sync(zones, now=now)
        for name in added:
            record_event(
                uow,
                environment=name,
                actor="signalbox",
                kind="environment.added",
                message=f"{name} is now managed by signalbox.",
                now=now,
            )
        return added


def environment_status(
    name: str,
    timezone: str,
    hold: HoldView | None,
    *,
    last_fencing_token: int,
    version: int,
    now: datetime,
) -> EnvironmentStatus:
    live = hold if is_live(hold, now) else None
    state = "ok"
    if live is not None:
        state = "deploying" if live.kind is HoldKind.DEPLOY else "held"
    return EnvironmentStatus(name, state, timezone, live, last_fencing_token, version)


def list_environments(
    engine: Engine, *, now: datetime, names: list[str] | None = None
) -> list[EnvironmentStatus]:
    """Status of every configured environment (or of ``names``), by name."""
    with UnitOfWork(engine, read_only=True) as uow:
        rows = uow.environments.all()
        if names is not None:
            known = [row.name for row in rows]
            for name in names:
                if name not in known:
                    raise unknown_environment(name, known)
            rows = [row for row in rows if row.name in names]
        holds = uow.holds.current_all()
        return [
            environment_status(
                row.name,
                row.timezone,
                hold_view(holds[row.name]) if row.name in holds else None,
                last_fencing_token=row.last_fencing_token,
                version=row.version,
                now=now,
            )
            for row in rows
        ]

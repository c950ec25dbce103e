"""Environments: the configured ones, synced into the database at start.

What is going on in an environment is its picture: ``services.status`` (computed by
``core.status``), never a state stored or derived here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from signalbox.core.events import EnvironmentAdded
from signalbox.services.clock import zone
from signalbox.services.events import emit
from signalbox.settings import Settings
from signalbox.storage.uow import UnitOfWork

__all__ = ["sync_environments"]


def sync_environments(engine: Engine, settings: Settings, *, now: datetime) -> list[str]:
    """Make the configured environments the known ones; returns the names added."""
    zones = {name: config.timezone for name, config in settings.environments.items()}
    for name in zones.values():
        zone(name)  # an unknown time zone stops the start, with the name in the message
    with UnitOfWork(engine) as uow:
        uow.lock_startup()
        now = uow.now(now)
        added = uow.environments.sync(zones, now=now)
        for name in added:
            emit(uow, EnvironmentAdded(), environment=name, actor="signalbox", now=now)
        return added

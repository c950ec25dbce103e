"""The server's database, as the API and the CLI see it: open it, migrate it, set it up at
start, and read every environment's change counter.

The API builds its engine and starts through here, so it never imports storage itself.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Engine, select

from signalbox.services.environments import sync_environments
from signalbox.services.housekeeping import prepare_space, tidy_at_start
from signalbox.services.tfstate.store import StateStore, state_storage_notice
from signalbox.services.tokens import register_bootstrap_token
from signalbox.settings import Settings
from signalbox.storage import build_engine, current_revision, head_revision, upgrade
from signalbox.storage.tables import EnvironmentRow
from signalbox.storage.uow import UnitOfWork

__all__ = [
    "current_revision",
    "environment_versions",
    "head_revision",
    "open_engine",
    "start_up",
    "upgrade",
]

log = logging.getLogger("signalbox.server")

_VERSIONS = select(EnvironmentRow.name, EnvironmentRow.version)


def open_engine(settings: Settings) -> Engine:
    """The engine for ``settings.database_url`` (the caller disposes of it)."""
    return build_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)


def start_up(store: StateStore, *, now: datetime) -> None:
    """What a server does before it answers, on ``store``'s database with its settings:
    migrate, say how states are stored, sync the configured environments, register the
    bootstrap admin token, and tidy (``services.housekeeping``: crashed uploads' segments,
    free space). Several servers may do it at once on one database: each step is done once."""
    engine, settings = store.engine, store.settings
    prepare_space(engine)
    upgrade(engine)
    log.log(*state_storage_notice(store.keyring))
    sync_environments(engine, settings, now=now)
    register_bootstrap_token(engine, settings.admin_token, now=now)
    if not settings.environments:
        log.warning("No environments are configured: add [environments.NAME] tables.")
    tidy_at_start(engine, now=now)


def environment_versions(engine: Engine) -> dict[str, int]:
    """``{environment: version}`` for every environment, in one query: the change counters
    the long-poll watches (a service bumps an environment's version with each change)."""
    with UnitOfWork(engine, read_only=True) as uow:
        return {name: version for name, version in uow.session.execute(_VERSIONS)}

"""Repositories: small, one per entity, each over the unit of work's session.

They load and store rows and convert them to the core's values (``core.views``); they never
decide anything and never commit (the ``UnitOfWork`` does).
"""

from signalbox.storage.repositories.environments import EnvironmentRepository
from signalbox.storage.repositories.events import EventRepository
from signalbox.storage.repositories.holds import HoldRepository, hold_view
from signalbox.storage.repositories.tokens import TokenRepository

__all__ = [
    "EnvironmentRepository",
    "EventRepository",
    "HoldRepository",
    "TokenRepository",
    "hold_view",
]

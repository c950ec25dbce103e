"""Storage: engine, tables, repositories, unit of work and Alembic migrations."""

from signalbox.storage.engine import build_engine, is_sqlite
from signalbox.storage.migrate import current_revision, head_revision, upgrade
from signalbox.storage.uow import UnitOfWork

__all__ = [
    "UnitOfWork",
    "build_engine",
    "current_revision",
    "head_revision",
    "is_sqlite",
    "upgrade",
]

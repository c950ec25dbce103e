"""The unit of work: one transaction, its repositories, commit on success, rollback on error.

    with UnitOfWork(engine) as uow:
        env = uow.lock_environment("dev")     # serialises deciders of this environment
        current = uow.holds.current("dev")
        ...                                   # decide with core/, write rows and the event
    # committed here; any exception rolled everything back

Write units of work on SQLite start with ``BEGIN IMMEDIATE`` (see ``engine``), so only one
writer decides at a time; on PostgreSQL ``lock_environment`` takes ``SELECT ... FOR UPDATE``
on the environment row, so deciders of the same environment queue up on that row and each
sees the previous one's committed result. ``read_only=True`` is for pure reads.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from signalbox.storage.engine import READ_ONLY
from signalbox.storage.repositories import (
    EnvironmentRepository,
    EventRepository,
    HoldRepository,
    TokenRepository,
)
from signalbox.storage.tables import EnvironmentRow

__all__ = ["UnitOfWork"]


class UnitOfWork:
    session: Session
    environments: EnvironmentRepository
    events: EventRepository
    holds: HoldRepository
    tokens: TokenRepository

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self.engine = engine
        self.read_only = read_only

    def __enter__(self) -> Self:
        bind = self.engine.execution_options(**{READ_ONLY: True}) if self.read_only else self.engine
        self.session = Session(bind=bind, expire_on_commit=False, autoflush=True)
        self.session.begin()
        self.environments = EnvironmentRepository(self.session)
        self.events = EventRepository(self.session)
        self.holds = HoldRepository(self.session)
        self.tokens = TokenRepository(self.session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None and not self.read_only:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()

    def lock_environment(self, name: str) -> EnvironmentRow:
        """Load environment ``name`` locked for this transaction (UnknownEnvironment if none)."""
        return self.environments.get(name, for_update=True)

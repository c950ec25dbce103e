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

**The transaction's time is read after its write lock** (``uow.now(requested)``): a
service that read the clock before queueing for the lock would write its events with a time
earlier than the writer that went before it, and the event log (ordered by id) would run
backwards. With a clock attached to the engine (``attach_clock``: the server attaches its
own), ``now`` reads it once the lock is held (SQLite: after ``BEGIN IMMEDIATE``; PostgreSQL:
re-read by each ``lock_environment``, after its ``FOR UPDATE``), never earlier than what the
caller asked with; without one (tests that pass their own times), it is the caller's time.

Write units of work do not nest (in one thread, on one engine): the inner one would wait for
the outer one's locks. Opening one inside another raises at once; compose with the
``*_in(uow, ...)`` service variants instead.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from signalbox.storage.engine import READ_ONLY
from signalbox.storage.repositories import (
    EnvironmentRepository,
    EventRepository,
    HoldRepository,
    TokenRepository,
)
from signalbox.storage.repositories.deploys import DeployRepository
from signalbox.storage.tables import DeployRow, EnvironmentRow

__all__ = ["STARTUP_LOCK_ID", "UnitOfWork", "attach_clock", "read_connection"]

STARTUP_LOCK_ID = 0x5167_B0C6


def _read_only(engine: Engine) -> Engine:
    """The engine's read-only twin (same pool), made once and kept on the engine."""
    twin: Engine | None = getattr(engine, "_signalbox_read_only", None)
    if twin is None:
        twin = engine.execution_options(**{READ_ONLY: True})
        engine._signalbox_read_only = twin  # type: ignore[attr-defined]
    return twin


def attach_clock(engine: Engine, now: Callable[[], datetime] | None) -> None:
    """Make ``now`` (the server's clock) the time of every write unit of work on ``engine``,
    read after its write lock (``UnitOfWork.now``); None detaches it."""
    engine._signalbox_clock = now  # type: ignore[attr-defined]


def _clock_of(engine: Engine) -> Callable[[], datetime] | None:
    clock: Callable[[], datetime] | None = getattr(engine, "_signalbox_clock", None)
    return clock


def _sqlite_writer_lock(engine: Engine) -> threading.RLock | None:
    """One lock per SQLite engine that write units of work take before ``BEGIN IMMEDIATE``.

    SQLite makes a waiting writer sleep and retry (up to ~100 ms a time) until the lock is
    free, which turns a queue of writers into a long tail; queueing them on a lock in this
    process wakes the next one as soon as the previous commits. Other processes on the same
    file are still serialised by SQLite itself.
    """
    if engine.dialect.name != "sqlite":
        return None
    lock: threading.RLock | None = getattr(engine, "_signalbox_writer_lock", None)
    if lock is None:
        lock = threading.RLock()
        engine._signalbox_writer_lock = lock  # type: ignore[attr-defined]
    return lock


@contextlib.contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction on a plain Core connection (no Session), rolled back at the
    end: for the lookups every request makes (authentication), where a Session's set-up,
    identity map and ORM loading cost more than the query."""
    with _read_only(engine).connect() as connection, connection.begin() as transaction:
        yield connection
        transaction.rollback()


_OPEN = threading.local()


def _enter_write(engine: Engine) -> None:
    open_writes: set[int] = _OPEN.__dict__.setdefault("engines", set())
    if id(engine) in open_writes:
        raise RuntimeError(
            "A write UnitOfWork was opened inside another one in the same thread: it would "
            "wait for the outer one's locks forever (PostgreSQL) or until the busy timeout "
            "(SQLite). Pass the open uow to the `*_in(uow, ...)` variant instead."
        )
    open_writes.add(id(engine))


def _leave_write(engine: Engine) -> None:
    _OPEN.__dict__.setdefault("engines", set()).discard(id(engine))


class UnitOfWork:
    session: Session
    environments: EnvironmentRepository
    events: EventRepository
    holds: HoldRepository
    tokens: TokenRepository

    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self.engine = engine
        self.read_only = read_only
        self._clock = None if read_only else _clock_of(engine)
        self._now: datetime | None = None

    def __enter__(self) -> Self:
        if not self.read_only:
            _enter_write(self.engine)
        self._writer_lock = None if self.read_only else _sqlite_writer_lock(self.engine)
        if self._writer_lock is not None:
            self._writer_lock.acquire()
        try:
            bind = _read_only(self.engine) if self.read_only else self.engine
            self.session = Session(bind=bind, expire_on_commit=False, autoflush=True)
            self.session.begin()
        except BaseException:
            if self._writer_lock is not None:
                self._writer_lock.release()
            if not self.read_only:
                _leave_write(self.engine)
            raise
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
            if self._writer_lock is not None:
                self._writer_lock.release()
            if not self.read_only:
                _leave_write(self.engine)

    def lock_startup(self) -> None:
        """Serialise start-up work (syncing environments, the bootstrap token) between
        servers starting at once: a PostgreSQL advisory lock until commit; SQLite's write
        transactions are serialised already."""
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": STARTUP_LOCK_ID})

    def now(self, requested: datetime) -> datetime:
        """The time of this transaction's writes, read after its write lock.

        Without a clock attached to the engine (or in a read-only unit of work): ``requested``,
        the caller's time. With one: the clock read once the write lock is held (SQLite: this
        starts the ``BEGIN IMMEDIATE`` transaction first; PostgreSQL: read again by every
        ``lock_environment``), never earlier than ``requested``. Services call it right after
        taking their lock; ``services.events.emit`` stamps events with it."""
        if self._clock is None:
            return requested
        if self._now is None:
            self.session.connection()  # SQLite: BEGIN IMMEDIATE, the write lock, if not yet
            self._now = self._clock()
        return max(self._now, requested)

    def lock_environment(self, name: str) -> EnvironmentRow:
        """Load environment ``name`` locked for this transaction (UnknownEnvironment if none);
        with a clock attached, the transaction's ``now`` is read again behind the lock."""
        row = self.environments.get(name, for_update=True)
        if self._clock is not None:
            self._now = self._clock()
        return row

    def lock_deploy(self, deploy_id: int) -> tuple[DeployRow, EnvironmentRow]:
        """Deploy ``deploy_id`` read again once its environment is locked (UnknownDeploy if
        none), with that environment: how every use case that changes a deploy begins."""
        row = DeployRepository(self.session).get(deploy_id)
        environment = self.lock_environment(row.environment)
        self.session.refresh(row)
        return row, environment

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

**Group commit** (``run_write``): on SQLite, every commit waits for its fsync
(``synchronous=FULL``) while holding the one write lock, so writers queue behind each other's
disk flushes. ``run_write(engine, work)`` runs ``work(uow)`` in a unit of work shared with the
other threads that ask at the same time: one thread leads, runs each queued work in turn
(each inside its own SAVEPOINT, so one that raises undoes only its own writes and gets its
exception), commits once, and only then hands every result back; a failed commit fails them
all. Each work still sees the writes of the ones before it, under the same lock, and nothing
is acknowledged before it is on disk. On PostgreSQL (row locks, its own group commit) it is a
plain unit of work.

**The Session is made on first use.** The transaction is a Core connection's, begun on entry
(SQLite: ``BEGIN IMMEDIATE`` then); ``uow.session`` (and the repositories built on it) joins
it when first touched. A hot path that writes with Core statements on ``uow.connection``
(the hold requests, ``services.holds``) never pays for a Session's set-up, identity map and
flush; a unit of work that mixes both sees one transaction.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from types import TracebackType
from typing import Generic, Self, TypeVar, cast

from sqlalchemy import Connection, Engine, RootTransaction, bindparam, select, text
from sqlalchemy.orm import Session

from signalbox.core.errors import unknown_environment
from signalbox.storage.engine import READ_ONLY, kept_on
from signalbox.storage.repositories import (
    EnvironmentRepository,
    EventRepository,
    HoldRepository,
    TokenRepository,
)
from signalbox.storage.repositories.deploys import DeployRepository
from signalbox.storage.tables import DeployRow, EnvironmentRow

__all__ = [
    "STARTUP_LOCK_ID",
    "UnitOfWork",
    "attach_clock",
    "read_connection",
    "run_write",
]

STARTUP_LOCK_ID = 0x5167_B0C6

_LOCK_ENVIRONMENT = (
    select(EnvironmentRow.configured)
    .where(EnvironmentRow.name == bindparam("name"))
    .with_for_update()
)
"""Built once: every hold request locks its environment with it (Core, no ORM row)."""
_CONFIGURED_NAMES = (
    select(EnvironmentRow.name).where(EnvironmentRow.configured).order_by(EnvironmentRow.name)
)


def _read_only(engine: Engine) -> Engine:
    """The engine's read-only twin (same pool), made once and kept on the engine."""
    return kept_on(engine, "read_only", lambda: engine.execution_options(**{READ_ONLY: True}))


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
    return kept_on(engine, "writer_lock", threading.RLock)


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
    def __init__(self, engine: Engine, *, read_only: bool = False) -> None:
        self.engine = engine
        self.read_only = read_only
        self._clock = None if read_only else _clock_of(engine)
        self._now: datetime | None = None
        self._session: Session | None = None

    def __enter__(self) -> Self:
        if not self.read_only:
            _enter_write(self.engine)
        self._writer_lock = None if self.read_only else _sqlite_writer_lock(self.engine)
        if self._writer_lock is not None:
            self._writer_lock.acquire()
        try:
            bind = _read_only(self.engine) if self.read_only else self.engine
            self.connection: Connection = bind.connect()
            try:
                self._transaction: RootTransaction = self.connection.begin()
            except BaseException:
                self.connection.close()
                raise
        except BaseException:
            if self._writer_lock is not None:
                self._writer_lock.release()
            if not self.read_only:
                _leave_write(self.engine)
            raise
        return self

    @property
    def session(self) -> Session:
        """The ORM session of this transaction, made when first asked for."""
        if self._session is None:
            # "rollback_only": the session never commits the connection's transaction (the
            # unit of work does, on exit), but a rollback of the session rolls it back.
            self._session = Session(
                bind=self.connection,
                expire_on_commit=False,
                autoflush=True,
                join_transaction_mode="rollback_only",
            )
        return self._session

    @property
    def session_started(self) -> bool:
        """Whether ``session`` was made (ORM rows of this transaction may be loaded)."""
        return self._session is not None

    # The repositories on the session, each made when first used (see ``session``).
    @functools.cached_property
    def environments(self) -> EnvironmentRepository:
        return EnvironmentRepository(self.session)

    @functools.cached_property
    def events(self) -> EventRepository:
        return EventRepository(self.session)

    @functools.cached_property
    def holds(self) -> HoldRepository:
        return HoldRepository(self.session)

    @functools.cached_property
    def tokens(self) -> TokenRepository:
        return TokenRepository(self.session)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        session = self._session
        try:
            try:
                if exc_type is None and not self.read_only:
                    if session is not None:
                        session.commit()  # flushes; the transaction is committed below
                    try:
                        self._transaction.commit()
                    except BaseException:
                        # its state is unknown: never back into the pool (closing the
                        # driver's connection ends the transaction in the database)
                        self.connection.invalidate()
                        raise
                else:
                    if session is not None:
                        session.rollback()
                    if self._transaction.is_active:
                        self._transaction.rollback()
            finally:
                if session is not None:
                    session.close()
                self.connection.close()  # rolls back whatever a failed commit left open
        finally:
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
            self._now = self._clock()  # the transaction began (BEGIN IMMEDIATE) on entry
        return max(self._now, requested)

    def lock_environment(self, name: str) -> EnvironmentRow:
        """Load environment ``name`` locked for this transaction (UnknownEnvironment if none);
        with a clock attached, the transaction's ``now`` is read again behind the lock."""
        row = self.environments.get(name, for_update=True)
        if self._clock is not None:
            self._now = self._clock()
        return row

    def lock_environment_core(self, name: str) -> None:
        """``lock_environment`` without the ORM, for the hot paths that write with Core
        statements: the row locked (UnknownEnvironment if ``name`` is not a configured
        environment), nothing else read; the caller reads what it needs behind the lock."""
        configured = self.connection.execute(_LOCK_ENVIRONMENT, {"name": name}).scalar()
        if not configured:
            known = list(self.connection.scalars(_CONFIGURED_NAMES))
            raise unknown_environment(name, known)
        if self._clock is not None:
            self._now = self._clock()

    def lock_deploy(self, deploy_id: int) -> tuple[DeployRow, EnvironmentRow]:
        """Deploy ``deploy_id`` read again once its environment is locked (UnknownDeploy if
        none), with that environment: how every use case that changes a deploy begins."""
        row = DeployRepository(self.session).get(deploy_id)
        environment = self.lock_environment(row.environment)
        self.session.refresh(row)
        return row, environment


T = TypeVar("T")


class _Work(Generic[T]):
    """One thread's work waiting for a group commit, and what became of it."""

    def __init__(self, work: Callable[[UnitOfWork], T]) -> None:
        self.work = work
        self.done = threading.Event()
        self.lead = False  # woken to lead the next group rather than with an outcome
        self.result: T | None = None
        self.error: BaseException | None = None

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class _GroupCommit:
    """The works waiting for the next group commit on one SQLite engine."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiting: list[_Work[object]] = []
        self.leading = False

    def run(self, engine: Engine, work: _Work[T]) -> T:
        _enter_write(engine)  # fails here, before the group, inside a write unit of work
        _leave_write(engine)
        with self.lock:
            self.waiting.append(work)  # type: ignore[arg-type]
            lead = not self.leading
            self.leading = True
        if not lead:
            work.done.wait()
            if not work.lead:
                return work.outcome()
            work.done.clear()
        self._lead(engine)
        work.done.wait()
        return work.outcome()

    def _lead(self, engine: Engine) -> None:
        """Run every waiting work in one unit of work, then wake the next leader, if any."""
        with self.lock:
            group, self.waiting = self.waiting, []
        try:
            _run_group(engine, group)
        finally:
            for each in group:
                each.done.set()
            with self.lock:
                if self.waiting:
                    follower = self.waiting[0]
                    follower.lead = True
                    follower.done.set()
                else:
                    self.leading = False


def _run_group(engine: Engine, group: list[_Work[object]]) -> None:
    try:
        with UnitOfWork(engine) as uow:
            if len(group) == 1:  # alone: what it raises rolls the unit of work back
                group[0].result = group[0].work(uow)
                return
            sqlite = cast(sqlite3.Connection, uow.connection.connection.driver_connection)
            for each in group:
                sqlite.execute("SAVEPOINT work")
                try:
                    each.result = each.work(uow)
                except BaseException as error:  # its own answer; the others go on
                    sqlite.execute("ROLLBACK TO work")
                    each.error = error
                sqlite.execute("RELEASE work")
                assert not uow.session_started, "a grouped work must write with Core only"
    except BaseException as error:  # the commit (or the lock) failed: nothing is written
        for each in group:
            if each.error is None:
                each.error, each.result = error, None


def run_write(engine: Engine, work: Callable[[UnitOfWork], T]) -> T:
    """``work(uow)`` in a write unit of work, committed before it returns; on SQLite the
    unit of work may be shared with other threads' works (group commit, see the module
    doc): ``work`` must write with Core statements only (no ``uow.session``), and raise
    (its writes then undone) rather than leave something half-done."""
    if engine.dialect.name != "sqlite":
        with UnitOfWork(engine) as uow:
            return work(uow)
    return kept_on(engine, "group_commit", _GroupCommit).run(engine, _Work(work))

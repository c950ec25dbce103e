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

**Group commit** (``run_write``, ``run_write_async``): on SQLite, every commit waits for its
fsync (``synchronous=FULL``) while holding the one write lock, so writers queue behind each
other's disk flushes. ``run_write(engine, work)`` queues ``work(uow)`` for the engine's writer
thread (``_Writer``), which runs the works waiting in one unit of work (each inside its own
SAVEPOINT, so one that raises undoes only its own writes and gets its exception), commits
once, and only then answers every one of them; a failed commit fails them all. Each work
still sees the writes of the ones before it, under the same lock, and nothing is
acknowledged before it is on disk. ``run_write_async`` is the same for a coroutine (the hold
routes): it awaits its answer on the event loop, with no worker thread of its own. On
PostgreSQL (row locks, its own group commit) it is a plain unit of work (in a worker thread
for ``run_write_async``).

**The Session is made on first use.** The transaction is a Core connection's, begun on entry
(SQLite: ``BEGIN IMMEDIATE`` then); ``uow.session`` (and the repositories built on it) joins
it when first touched. A hot path that writes with Core statements on ``uow.connection``
(the hold requests, ``services.holds``) never pays for a Session's set-up, identity map and
flush; a unit of work that mixes both sees one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar, cast

import anyio
from sqlalchemy import Connection, Engine, RootTransaction, bindparam, select, text
from sqlalchemy.orm import Session

from signalbox.core.errors import unknown_environment
from signalbox.storage.compiled import CompiledStatement
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
    "run_write_async",
]

STARTUP_LOCK_ID = 0x5167_B0C6

_LOCK_ENVIRONMENT = CompiledStatement(
    select(EnvironmentRow.configured)
    .where(EnvironmentRow.name == bindparam("name"))
    .with_for_update()
)
"""Built once: every hold request on PostgreSQL locks its environment with it (no ORM row)."""
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

    def lock_environment_core(self, name: str, view: CompiledStatement | None = None) -> Any:
        """``lock_environment`` without the ORM, for the hot paths that write with Core
        statements: the environment locked (UnknownEnvironment if ``name`` is not a
        configured one), and the row of ``view`` (a statement of one row with a
        ``configured`` column, taking the parameter ``name``) read behind the lock, or None
        without a ``view``. On PostgreSQL the lock is a ``SELECT ... FOR UPDATE`` and
        ``view`` is read after it; on SQLite the write transaction (``BEGIN IMMEDIATE``)
        holds the lock already, and ``view`` is the only statement."""
        if view is not None and self._locked_by_transaction:
            row = view.first(self.connection, {"name": name})
            configured = row is not None and bool(row.configured)
        else:
            locked = _LOCK_ENVIRONMENT.first(self.connection, {"name": name})
            configured = locked is not None and bool(locked.configured)
            row = view.first(self.connection, {"name": name}) if configured and view else None
        if not configured:
            known = list(self.connection.scalars(_CONFIGURED_NAMES))
            raise unknown_environment(name, known)
        if self._clock is not None:
            self._now = self._clock()
        return row

    @property
    def _locked_by_transaction(self) -> bool:
        """Whether this write transaction holds the database's write lock since it began
        (SQLite's ``BEGIN IMMEDIATE``, see ``engine``): no row lock is needed."""
        return self._writer_lock is not None

    def lock_deploy(self, deploy_id: int) -> tuple[DeployRow, EnvironmentRow]:
        """Deploy ``deploy_id`` read again once its environment is locked (UnknownDeploy if
        none), with that environment: how every use case that changes a deploy begins."""
        row = DeployRepository(self.session).get(deploy_id)
        environment = self.lock_environment(row.environment)
        self.session.refresh(row)
        return row, environment


T = TypeVar("T")


class _Work(Generic[T]):
    """One caller's work waiting for a group commit, and what became of it: a thread waits
    for ``done``; a coroutine awaits ``future`` (on its event loop)."""

    def __init__(self, work: Callable[[UnitOfWork], T], future: asyncio.Future[T] | None = None):
        self.work = work
        self.future = future
        self.done = threading.Event() if future is None else None
        self.result: T | None = None
        self.error: BaseException | None = None

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


WRITER_IDLE_SECONDS = 5.0
"""How long the SQLite writer thread waits for work before it ends (the next work starts
it again): an engine nobody writes to keeps no thread."""


class _Writer:
    """The thread that runs the works queued for one SQLite engine, in groups.

    Callers queue a work and wait; the writer takes every work waiting, runs them in one
    unit of work (``_run_group``), commits once, then answers them all: a thread's work by
    its ``done`` event, the coroutines of one event loop by one ``call_soon_threadsafe``
    for the whole group. The works that arrive while a group commits form the next group.
    Compared with the callers running the group themselves (a worker thread per request,
    one of them leading), a request costs no thread of its own and one wake-up is shared
    by the group, both ways."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self.waiting: list[_Work[Any]] = []
        self.running = False  # a writer thread exists
        self.idle = False  # it waits for work (a new work must wake it)

    def submit(self, work: _Work[Any]) -> None:
        with self.lock:
            self.waiting.append(work)
            if not self.running:
                thread = threading.Thread(target=self._run, name="signalbox-writer", daemon=True)
                try:
                    thread.start()
                except BaseException:
                    self.waiting.remove(work)
                    raise
                self.running = True
            elif self.idle:
                self.arrived.notify()

    def _run(self) -> None:
        while True:
            with self.lock:
                if not self.waiting:
                    self.idle = True
                    self.arrived.wait(WRITER_IDLE_SECONDS)
                    self.idle = False
                    if not self.waiting:
                        self.running = False
                        return
                group, self.waiting = self.waiting, []
            try:
                _run_group(self.engine, group)
            finally:
                _answer(group)


def _answer(group: list[_Work[Any]]) -> None:
    """Hand each work of ``group`` its outcome: threads by their event, coroutines by one
    call on each event loop."""
    loops: dict[asyncio.AbstractEventLoop, list[_Work[Any]]] = {}
    for each in group:
        if each.done is not None:
            each.done.set()
        else:
            assert each.future is not None
            loops.setdefault(each.future.get_loop(), []).append(each)
    for loop, works in loops.items():
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody awaits them
            loop.call_soon_threadsafe(_settle, works)


def _settle(works: list[_Work[Any]]) -> None:
    for each in works:
        future = each.future
        assert future is not None
        if future.cancelled():  # its request went away; the work was done all the same
            continue
        if each.error is not None:
            future.set_exception(each.error)
        else:
            future.set_result(each.result)


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
    unit of work may be shared with other callers' works (group commit, see the module
    doc): ``work`` must write with Core statements only (no ``uow.session``), and raise
    (its writes then undone) rather than leave something half-done."""
    if engine.dialect.name != "sqlite":
        with UnitOfWork(engine) as uow:
            return work(uow)
    _enter_write(engine)  # fails here, inside a write unit of work: the writer would wait
    _leave_write(engine)  # for its lock forever
    queued: _Work[T] = _Work(work)
    kept_on(engine, "writer", lambda: _Writer(engine)).submit(queued)
    assert queued.done is not None
    queued.done.wait()
    return queued.outcome()


async def run_write_async(engine: Engine, work: Callable[[UnitOfWork], T]) -> T:
    """``run_write`` for a coroutine: on SQLite the work is queued for the engine's writer
    thread and awaited (no worker thread of its own); elsewhere it runs in a worker thread.
    If the awaiting coroutine is cancelled, a work already queued (SQLite) or started in its
    thread (elsewhere) is done and committed all the same; its answer is dropped."""
    if engine.dialect.name != "sqlite":
        return await anyio.to_thread.run_sync(run_write, engine, work)
    queued: _Work[T] = _Work(work, asyncio.get_running_loop().create_future())
    kept_on(engine, "writer", lambda: _Writer(engine)).submit(queued)
    assert queued.future is not None
    return await queued.future

"""Reading, writing and deleting a state's body (Terraform's GET, POST/PUT and DELETE).

A body to write is first staged while it streams in (``stage_upload``); the write is then
decided by ``core.tfstate.decide_write`` with the environment row locked; an accepted one
becomes a new version, old versions beyond the retention lose their bodies, and a person's
write on a free environment places the automatic hold (the out-of-band rule).
"""

from __future__ import annotations

import concurrent.futures
import mmap
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime

from signalbox.core.errors import UnknownState
from signalbox.core.events import StateDeleted, StateOutOfBand, StatePruned, StateWritten
from signalbox.core.holds import Granted, HoldRequest
from signalbox.core.tfstate import (
    SEGMENT_SIZE,
    Accepted,
    EnvironmentFacts,
    Refusal,
    Segment,
    StateHead,
    StateKey,
    WriteRequest,
    automatic_hold,
    decide_delete,
    decide_write,
    live_hold,
    validate_state_name,
)
from signalbox.core.views import HoldKind, Principal
from signalbox.services.events import emit
from signalbox.services.holds import acquire_hold_in
from signalbox.services.tfstate.store import (
    StateStore,
    StoredState,
    checked_body,
    envelope_of,
    integrity_recorded,
    load_facts,
    open_state,
    record_refusal,
)
from signalbox.storage.repositories.tfstate import (
    TfStateRepository,
    checkpoint,
    read_segments,
    terraform_lock,
)
from signalbox.storage.state_crypto import StoredSegment
from signalbox.storage.state_staging import StagedBody, stage_segments
from signalbox.storage.tfstate_tables import TfStateVersionRow
from signalbox.storage.uow import UnitOfWork

__all__ = [
    "StagedBody",
    "after_write",
    "delete_state",
    "prune_state",
    "read_state",
    "stage_upload",
    "write_state",
]

READ_BATCH = 2
"""Segments (1 MiB each) read per short database read while a state is sent (an encrypted
body's read holds two such batches sealed beside its clear copy: kept small for memory)."""
VERIFIED_IN_MEMORY = 128 << 20
"""Bytes of checked bodies that the GETs in flight may keep in memory together: a body that
fits in what is left is read once, checked, into one buffer and sent from it (released
once sent, or dropped unsent: ``_KeptBody``); one that does not is read twice (checked,
then sent), so memory stays bounded whatever the size and the number of readers."""


class _Budget:
    """The bytes of ``VERIFIED_IN_MEMORY`` that the GETs in flight hold (any thread)."""

    def __init__(self) -> None:
        self._held = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        with self._lock:
            if self._held + size > VERIFIED_IN_MEMORY:
                return False
            self._held += size
            return True

    def give(self, size: int) -> None:
        with self._lock:
            self._held -= size


_KEPT = _Budget()


class _KeptBody:
    """A checked body sent from memory, one ``SEGMENT_SIZE`` view of its buffer at a time;
    the buffer is let go after the last one (or when the answer is dropped unsent) and the
    budget given back then."""

    def __init__(self, buffer: mmap.mmap, size: int) -> None:
        self._buffer: mmap.mmap | None = buffer
        self._sent = 0
        self._size: int | None = size

    def __iter__(self) -> _KeptBody:
        return self

    def __next__(self) -> memoryview:
        if self._buffer is not None and self._size is not None and self._sent < self._size:
            start, self._sent = self._sent, min(self._size, self._sent + SEGMENT_SIZE)
            return memoryview(self._buffer)[start : self._sent]
        self.release()
        raise StopIteration

    def release(self) -> None:
        self._buffer = None  # unmapped once the views handed on are gone too
        size, self._size = self._size, None
        if size is not None:
            _KEPT.give(size)

    def __del__(self) -> None:
        self.release()


_POPULATED = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | getattr(mmap, "MAP_POPULATE", 0)


def _kept_copy(body: Iterator[bytes], size: int) -> mmap.mmap:
    """``body`` read to its end (which checks it) into one buffer of ``size`` bytes (the
    checked body never yields more). The buffer's pages are made in one call (Linux:
    ``MAP_POPULATE``; the size is the stored one, not a client's), and each segment read is
    let go once copied, so the next one reuses its memory: a fresh ``bytes`` kept per
    segment cost a page fault per 4 KiB, with the GIL held (about 25 ms per 50 MB on the
    2-core VM of ``bench/tfstate.py``; this buffer costs about 15)."""
    buffer = mmap.mmap(-1, max(size, 1), flags=_POPULATED)
    end = 0
    for plain in body:
        buffer[end : end + len(plain)] = plain
        end += len(plain)
    return buffer


def read_state(
    store: StateStore, *, key: StateKey, now: datetime | None = None
) -> StoredState | None:
    """The newest body of the state ``key``; None when there is none (or deleted).

    The body is checked whole before this returns (every segment in its place and matching
    its stored checksum, or authenticated when encrypted; the size compared with the stored
    one; the MD5 too for a body stored before segments had checksums: ``checked_body``), so
    an answer never starts with a damaged body:
    StateIntegrityError instead, and a ``state.integrity-failed`` event at ``now``. A body
    that fits in ``VERIFIED_IN_MEMORY`` is kept from that pass and sent from it; a larger
    one is read again (and checked again) while it is sent."""
    validate_state_name(key.name)
    with UnitOfWork(store.engine, read_only=True) as uow:
        uow.environments.get(key.environment)
        repo = TfStateRepository(uow.session)
        state = repo.state(key)
        head = repo.head(state) if state is not None else None
        if head is None or head.deleted:
            return None
        assert head.blob_id is not None
        blob_id, segments, envelope = head.blob_id, head.segments, envelope_of(head)
        serial, md5, size = head.serial, bytes.fromhex(head.md5), head.size

    def body(ahead: bool) -> Iterator[bytes]:
        stored = _segments(store, blob_id, segments, ahead=ahead)
        return checked_body(
            store.keyring, key, serial, envelope, stored, blob_id=blob_id, md5=md5, size=size
        )

    kept = _KEPT.take(size)
    try:
        with integrity_recorded(store, now=now):  # read to its end, which checks it
            checked = _kept_copy(body(ahead=True), size) if kept else None
            if checked is None:
                _drain(body(ahead=True))
    except BaseException:
        if kept:
            _KEPT.give(size)
        raise
    if checked is not None:
        return StoredState(serial, md5, size, _KeptBody(checked, size))
    return StoredState(serial, md5, size, body(ahead=False))


def _drain(body: Iterator[bytes]) -> None:
    """Read ``body`` to its end (which checks it), keeping nothing."""
    for _ in body:
        pass


def _segments(
    store: StateStore, blob_id: int, count: int, *, ahead: bool
) -> Iterator[StoredSegment]:
    """The stored segments, ``READ_BATCH`` per short read; ``ahead``: the next batch is read
    in a thread of its own while the caller checks this one (both let the GIL go)."""
    starts = range(0, count, READ_BATCH)

    def batch(start: int) -> list[StoredSegment]:
        return read_segments(store.engine, blob_id, start, min(READ_BATCH, count - start))

    if not ahead or len(starts) < 2:
        for start in starts:
            yield from batch(start)
        return
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="state-read") as reader:
        coming = reader.submit(batch, starts[0])
        for following in [*starts[1:], None]:
            current = coming.result()
            if following is not None:
                coming = reader.submit(batch, following)
            yield from current
            del current


def _stored_head(head: TfStateVersionRow | None) -> tuple[StateHead | None, bytes | None]:
    if head is None or head.deleted:
        return None, None
    return StateHead(head.lineage, head.serial), bytes.fromhex(head.md5)


async def stage_upload(
    store: StateStore,
    segments: AsyncIterator[Segment],
    *,
    now: datetime,
    received: Callable[[], object] | None = None,
) -> StagedBody:
    """Store a body that streams in as ``segments`` (sealed under the first key) as a staged
    blob, before any write is decided; ``write_state`` then keeps it or drops it.
    ``received`` runs in a worker thread once the whole body has arrived, while its last
    segments are stored (``storage.state_staging``)."""
    return await stage_segments(store.engine, store.keyring, segments, now=now, received=received)


def after_write(store: StateStore, *, key: StateKey, now: datetime) -> None:
    """What follows an accepted write once it has been answered: prune the old bodies
    (``prune_state``), then checkpoint SQLite's log, which the staging left to this."""
    prune_state(store, key=key, now=now)
    checkpoint(store.engine)


def write_state(
    store: StateStore,
    *,
    principal: Principal,
    key: StateKey,
    staged: StagedBody,
    head: StateHead | None,
    declared_md5: bytes | None,
    lock_id: str | None,
    now: datetime,
    head_problem: str = "",
) -> Accepted | Refusal:
    """Terraform's POST/PUT of a state body, already staged (``stage_upload``; ``head`` is
    the state head read from it, None when it is not a state, ``head_problem`` then says
    why): an accepted write points a new version at the staged blob, a refused one drops it."""
    request = WriteRequest(principal, lock_id or None, declared_md5, staged.md5, head, head_problem)
    with UnitOfWork(store.engine) as uow:
        env, repo, state = open_state(uow, key, now=now)
        now = uow.now(now)  # read after the environment's lock
        lock_row = repo.lock(state)
        facts = load_facts(uow, store.settings, env, now)
        stored, stored_md5 = _stored_head(repo.head(state))
        decision = decide_write(
            request,
            current_lock=terraform_lock(lock_row, state) if lock_row else None,
            facts=facts,
            stored=stored,
            stored_md5=stored_md5,
            key=key,
            now=now,
        )
        if isinstance(decision, Refusal) or decision.unchanged:
            repo.delete_blob(staged.blob_id)
        if isinstance(decision, Refusal):
            return record_refusal(uow, decision, who=principal, what="write", key=key, now=now)
        if not decision.unchanged:
            version = _new_version(state.id, staged, head, principal, facts, decision, now)
            repo.add_version(version)
            repo.finish_blob(staged.blob_id)
            _place_automatic_hold(uow, store, version, facts, principal=principal, key=key, now=now)
            _record_write(uow, version, principal, key, now)
        return decision


def _new_version(
    state_id: int,
    staged: StagedBody,
    head: StateHead | None,
    principal: Principal,
    facts: EnvironmentFacts,
    decision: Accepted,
    now: datetime,
) -> TfStateVersionRow:
    assert head is not None, "an accepted write is a state"
    own = live_hold(facts.hold, now)
    if own is not None and own.owner.name != principal.name:
        own = None  # a run that locked before someone else's hold: not under any hold
    return TfStateVersionRow(
        state_id=state_id,
        serial=head.serial,
        lineage=head.lineage,
        md5=staged.md5.hex(),
        size=staged.size,
        author=principal.name,
        author_is_ci=principal.is_ci,
        at=now,
        deleted=False,
        segments=staged.segments,
        blob_id=staged.blob_id,
        key_id=staged.envelope.key_id,
        stream_id=staged.envelope.stream_id,
        deploy_id=own.deploy_id if own is not None else None,
        fencing_token=decision.fencing_token,
    )


def _record_write(
    uow: UnitOfWork, version: TfStateVersionRow, principal: Principal, key: StateKey, now: datetime
) -> None:
    written = StateWritten(
        state=key.name,
        serial=version.serial,
        lineage=version.lineage,
        md5=version.md5,
        size=version.size,
        is_ci=principal.is_ci,
        fencing_token=version.fencing_token,
        deploy_id=version.deploy_id,
    )
    emit(uow, written, environment=key.environment, actor=principal.name, now=now)


def _place_automatic_hold(
    uow: UnitOfWork,
    store: StateStore,
    version: TfStateVersionRow,
    facts: EnvironmentFacts,
    *,
    principal: Principal,
    key: StateKey,
    now: datetime,
) -> None:
    placed = automatic_hold(
        key=key, writer=principal, hold=facts.hold, duration=store.auto_hold, now=now
    )
    if placed is None:
        return
    request = HoldRequest(facts.name, principal, HoldKind.WORK, placed.reason, placed.duration)
    granted = acquire_hold_in(uow, request, now=now)
    if not isinstance(granted, Granted):
        return
    version.fencing_token = granted.hold.fencing_token
    out_of_band = StateOutOfBand(
        state=key.name,
        serial=version.serial,
        until=granted.hold.until,
        fencing_token=granted.hold.fencing_token,
    )
    emit(uow, out_of_band, environment=key.environment, actor=principal.name, now=now)


def prune_state(store: StateStore, *, key: StateKey, now: datetime) -> list[int]:
    """Drop the bodies of the versions beyond ``state_retention`` (never the newest); run
    after an accepted write has been answered. Returns the serials pruned."""
    validate_state_name(key.name)
    with UnitOfWork(store.engine) as uow:
        uow.lock_environment(key.environment)
        repo = TfStateRepository(uow.session)
        state = repo.state(key)
        if state is None:
            return []
        kept = store.settings.state_retention
        pruned = repo.prune(state, keep=kept, now=now)
        if pruned:
            event = StatePruned(state=key.name, serials=tuple(sorted(pruned)), kept=kept)
            emit(uow, event, environment=key.environment, actor="signalbox", now=now)
        return pruned


def delete_state(
    store: StateStore,
    *,
    principal: Principal,
    key: StateKey,
    lock_id: str | None,
    now: datetime,
) -> Accepted | Refusal:
    """Terraform's DELETE: a deletion version is written; the history stays."""
    with UnitOfWork(store.engine) as uow:
        env, repo, state = open_state(uow, key, now=now)
        now = uow.now(now)  # read after the environment's lock
        head = repo.head(state)
        if head is None or head.deleted:
            raise UnknownState(
                f"There is no state {key.label} to delete.",
                hint=f"List the states with `signalbox state versions {key.environment}`.",
            )
        lock_row = repo.lock(state)
        decision = decide_delete(
            deleter=principal,
            lock_id=lock_id or None,
            current_lock=terraform_lock(lock_row, state) if lock_row else None,
            facts=load_facts(uow, store.settings, env, now),
            key=key,
            now=now,
        )
        if isinstance(decision, Refusal):
            return record_refusal(uow, decision, who=principal, what="delete", key=key, now=now)
        repo.add_version(_tombstone(head, principal, decision, now))
        deleted = StateDeleted(state=key.name, serial=head.serial)
        emit(uow, deleted, environment=key.environment, actor=principal.name, now=now)
        return decision


def _tombstone(
    head: TfStateVersionRow, principal: Principal, decision: Accepted, now: datetime
) -> TfStateVersionRow:
    """A deletion version: no body; the state reads as absent until a new one is written."""
    return TfStateVersionRow(
        state_id=head.state_id,
        serial=head.serial,
        lineage=head.lineage,
        md5="",
        size=0,
        author=principal.name,
        author_is_ci=principal.is_ci,
        at=now,
        deleted=True,
        segments=0,
        key_id=None,
        stream_id=b"",
        fencing_token=decision.fencing_token,
    )

"""Staging a state body in the database while it streams in.

The body arrives as segments (the API's upload reader cuts the request into them while it
streams in, as views of the one buffer it receives the body into). Each segment is handed,
as it arrives, to a thread of the upload's own that computes the body's MD5 in order
(``_Digest``), so that once the body has arrived only its last segment is left to hash.
A worker thread seals the segments that have arrived (up to ``BATCH`` per thread hop; a
body stored in clear needs no sealing) and stores them in one short transaction, with a
checksum of each segment (``put_segments``), while the next ones are received: receiving,
hashing and storing overlap, and no transaction is held open while a slow client uploads.
At most ``depth`` segments wait to be stored (views: no copy of their own), and a body
sealed with a key has at most one batch sealed in memory (``BATCH`` MiB). If anything
fails, the receiving included, the staged blob is dropped. The write decision then only
points a new version at the blob, or drops it.

Most staging commits do not wait for the disk; one every ``SYNC_EVERY`` segments does, and
so does the commit of the last batch, which makes all the earlier ones durable with it
(``put_segments``: the logs are written in order): a staged body is durable before a
version can point at it, the disk writes it while it arrives, and the last commit waits
only for what came after the previous sync. The staging transactions do not checkpoint
SQLite's log: the route does that after it has answered (``checkpoint``).

A server killed mid-upload cannot drop its blob: while the upload runs, a heartbeat moves the
blob's ``alive_at`` forward every ``HEARTBEAT``, whether the client is sending or not, and
``drop_orphaned_blobs`` (the server's housekeeping, at start-up and periodically) drops the
blobs not yet done whose heartbeat stopped more than ``ORPHANED`` ago. A live upload, however
slow, is never dropped: its heartbeat runs as long as its request does. ``ORPHANED`` is 20
heartbeats, so a server that is busy, or whose clock is a few minutes off another server's on
the same database, is not mistaken for a dead one.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream
from sqlalchemy import ColumnElement, Engine, delete, func, select, update

from signalbox.core.tfstate import Segment
from signalbox.storage.engine import READ_ONLY, is_sqlite
from signalbox.storage.repositories.tfstate import create_blob, drop_blob, put_segments
from signalbox.storage.state_crypto import Envelope, Keyring, SegmentSealer
from signalbox.storage.tfstate_tables import TfStateBlobRow, TfStateChunkRow

__all__ = [
    "BATCH",
    "DEPTH",
    "HEARTBEAT",
    "ORPHANED",
    "SYNC_EVERY",
    "StagedBody",
    "drop_orphaned_blobs",
    "stage_segments",
]

BATCH = 4
"""At most this many segments (1 MiB each) are sealed and stored per thread hop and
transaction: a body sealed with a key holds at most this many sealed segments in memory."""

SYNC_EVERY = 16
"""Every this many segments (1 MiB each) stored, a staging commit waits for the disk."""

DEPTH = 64
"""At most this many received segments wait to be sealed: views of the receiver's buffer,
so a slow disk does not slow the receiving down (see the module doc)."""

HEARTBEAT = timedelta(seconds=30)
"""How often a running upload moves its blob's ``alive_at`` forward."""

ORPHANED = 20 * HEARTBEAT
"""A blob not yet done whose upload has not proved alive for this long is a crashed upload's."""


@dataclass(frozen=True, slots=True)
class StagedBody:
    """A received body, stored as blob ``blob_id`` (not yet any version's): how it was
    sealed, its size, the MD5 of its clear bytes and how many segments it has."""

    blob_id: int
    envelope: Envelope
    size: int
    md5: bytes
    segments: int


Item = TypeVar("Item")


class _Digest:
    """The MD5, size and number of segments of the body, counted as the segments arrive:
    each is handed to a thread of this upload's own, which hashes them in order while the
    next ones are received (hashlib lets the GIL go), so that only the last segment's MD5
    is left once the body has arrived (``digest``)."""

    def __init__(self) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="state-md5")
        self._hashed: concurrent.futures.Future[None] | None = None
        self.size = 0
        self.segments = 0

    def add(self, plain: bytes | memoryview) -> None:
        self.size += len(plain)
        self.segments += 1
        self._hashed = self._thread.submit(self._md5.update, plain)

    async def digest(self) -> bytes:
        """The MD5 of every segment added, once the thread has hashed the last one."""
        hashed = self._hashed
        if hashed is not None:
            await anyio.to_thread.run_sync(hashed.result)
        return self._md5.digest()

    def close(self) -> None:
        """Let the thread go (what it has not hashed yet is dropped: a failed upload)."""
        self._thread.shutdown(wait=False, cancel_futures=True)


async def _batches(stream: MemoryObjectReceiveStream[Item], most: int) -> AsyncIterator[list[Item]]:
    """What has arrived on ``stream``, up to ``most`` items at once (at least one): a stage
    that falls behind catches up with one thread hop for several segments."""
    async for first in stream:
        batch = [first]
        while len(batch) < most:
            try:
                batch.append(stream.receive_nowait())
            except (anyio.WouldBlock, anyio.EndOfStream):
                break
        yield batch


async def _store_segments(
    engine: Engine,
    sealer: SegmentSealer,
    blob_id: int,
    segments: MemoryObjectReceiveStream[Segment],
) -> None:
    """Seal and store what has arrived, up to BATCH segments per worker-thread hop and
    transaction (sealing costs little beside storing: one stage, so only the batch in hand
    is held sealed). The batch with the final segment is committed durably, and with it all
    the earlier ones; so is one every ``SYNC_EVERY`` segments, so that the disk writes the
    body while it arrives and the last commit waits only for what came after."""
    unsynced = 0

    def store(batch: list[Segment]) -> None:
        nonlocal unsynced
        unsynced += len(batch)
        durable = unsynced >= SYNC_EVERY or any(segment.final for segment in batch)
        rows = [
            (segment.index, sealer.seal(segment.index, segment.final, segment.plain))
            for segment in batch
        ]
        put_segments(engine, blob_id, rows, durable=durable)
        if durable:
            unsynced = 0

    async with segments:
        async for batch in _batches(segments, BATCH):
            await anyio.to_thread.run_sync(store, batch)


def _touch_blob(engine: Engine, blob_id: int, at: datetime) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(TfStateBlobRow).where(TfStateBlobRow.id == blob_id).values(alive_at=at)
        )


async def _heartbeat(
    engine: Engine, blob_id: int, clock: Callable[[], datetime], every: timedelta
) -> None:
    """Move the blob's ``alive_at`` forward every ``every`` until cancelled (the upload is
    over). A failed beat is tried again at the next one: ``ORPHANED`` allows many misses."""
    while True:
        await anyio.sleep(every.total_seconds())
        try:
            await anyio.to_thread.run_sync(_touch_blob, engine, blob_id, clock())
        except Exception:  # a database hiccup; the upload itself will fail if it lasts
            continue


def _elapsed_since(now: datetime) -> Callable[[], datetime]:
    """``now`` moved on by the time elapsed since this call (the request's clock)."""
    started = time.monotonic()
    return lambda: now + timedelta(seconds=time.monotonic() - started)


async def stage_segments(
    engine: Engine,
    keyring: Keyring,
    segments: AsyncIterator[Segment],
    *,
    now: datetime,
    depth: int = DEPTH,
    clock: Callable[[], datetime] | None = None,
    heartbeat: timedelta = HEARTBEAT,
    received: Callable[[], object] | None = None,
) -> StagedBody:
    """Store ``segments`` (in order, the last one final) as a new staged blob; see the
    module doc. An error raised by ``segments`` (a body above the limit) drops the blob and
    is raised as it is. ``clock`` dates the heartbeats (default: ``now`` plus the time
    elapsed since). ``received`` runs in a worker thread once the last segment has arrived,
    while the last ones are sealed and stored (the route's whole-body parse); an error it
    raises drops the blob too."""
    blob_id = await anyio.to_thread.run_sync(lambda: create_blob(engine, now=now))
    sealer = SegmentSealer(keyring)
    digest = _Digest()
    try:
        plain_in, plain_out = anyio.create_memory_object_stream[Segment](depth)
        async with anyio.create_task_group() as alive:
            alive.start_soon(_heartbeat, engine, blob_id, clock or _elapsed_since(now), heartbeat)
            async with anyio.create_task_group() as group:
                group.start_soon(_store_segments, engine, sealer, blob_id, plain_out)
                async with plain_in:
                    async for segment in segments:
                        digest.add(segment.plain)
                        await plain_in.send(segment)
                if received is not None:
                    await anyio.to_thread.run_sync(received)
                md5 = await digest.digest()
            alive.cancel_scope.cancel()
    except BaseException as failure:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(lambda: drop_blob(engine, blob_id))
        cause = _single(failure)
        if cause is failure:
            raise
        raise cause from None
    finally:
        digest.close()
    return StagedBody(blob_id, sealer.envelope, digest.size, md5, digest.segments)


def _orphaned(now: datetime) -> ColumnElement[bool]:
    last_sign_of_life = func.coalesce(TfStateBlobRow.alive_at, TfStateBlobRow.created_at)
    return TfStateBlobRow.done.is_(False) & (last_sign_of_life < now - ORPHANED)


def drop_orphaned_blobs(engine: Engine, *, now: datetime) -> int:
    """Drop every blob a crashed upload left (see the module doc), each in its own short
    transaction, checked again inside it; returns how many. The space their segments took
    is given back by ``engine.give_space_back`` (SQLite) or autovacuum (PostgreSQL)."""
    with engine.execution_options(**{READ_ONLY: True}).connect() as connection:
        candidates = list(connection.execute(select(TfStateBlobRow.id).where(_orphaned(now))))
        connection.rollback()
    dropped = 0
    for (blob_id,) in candidates:
        with engine.begin() as connection:
            still = select(TfStateBlobRow.id).where(TfStateBlobRow.id == blob_id, _orphaned(now))
            if not is_sqlite(engine):  # SQLite: BEGIN IMMEDIATE already serialises writers
                still = still.with_for_update()
            if connection.execute(still).first() is None:
                continue  # its upload beat in the meantime, or it became a version
            connection.execute(delete(TfStateChunkRow).where(TfStateChunkRow.blob_id == blob_id))
            connection.execute(delete(TfStateBlobRow).where(TfStateBlobRow.id == blob_id))
            dropped += 1
    return dropped


def _single(failure: BaseException) -> BaseException:
    """The one error inside a task group's exception group (e.g. PayloadTooLarge)."""
    while isinstance(failure, BaseExceptionGroup) and len(failure.exceptions) == 1:
        failure = failure.exceptions[0]
    return failure

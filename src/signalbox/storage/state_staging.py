"""Staging a state body in the database while it streams in.

The body arrives as segments (the API's upload reader cuts the request into them while it
streams in, as views of the one buffer it receives the body into); worker threads hash (MD5)
and seal the segments that have arrived (up to ``BATCH`` per thread hop), and store each
sealed batch in one short transaction, while the next ones are received: receiving, sealing
and storing overlap, and no transaction is held open while a slow client uploads. At most
``depth`` segments wait to be sealed (views: no copy of their own) and one sealed batch
waits to be stored (a copy when sealed with a key: under 2 x BATCH MiB). If anything fails,
the receiving included, the staged blob is dropped. The write decision then only points a
new version at the blob, or drops it.

The segments before the last are committed without waiting for the disk, and the commit of
the last batch waits for all of them (``put_segments``: the logs are written in order): a
staged body is durable before a version can point at it, and the upload does not wait for
a sync of every batch. The staging transactions do not checkpoint SQLite's log either: the
route does that after it has answered (``checkpoint``).

A server killed mid-upload cannot drop its blob: while the upload runs, a heartbeat moves the
blob's ``alive_at`` forward every ``HEARTBEAT``, whether the client is sending or not, and
``drop_orphaned_blobs`` (the server's housekeeping, at start-up and periodically) drops the
blobs not yet done whose heartbeat stopped more than ``ORPHANED`` ago. A live upload, however
slow, is never dropped: its heartbeat runs as long as its request does. ``ORPHANED`` is 20
heartbeats, so a server that is busy, or whose clock is a few minutes off another server's on
the same database, is not mistaken for a dead one.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
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
    "StagedBody",
    "drop_orphaned_blobs",
    "stage_segments",
]

BATCH = 8
"""At most this many segments (1 MiB each) are sealed per thread hop and stored per
transaction."""

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


Sealed = tuple[int, bytes | memoryview, bool]
"""A sealed segment: (index, stored bytes, final)."""
Item = TypeVar("Item")


@dataclass
class _Tally:
    """What the sealing stage has seen of the body (written by one worker thread at a time)."""

    digest: Any
    size: int = 0
    segments: int = 0


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


async def _seal_segments(
    sealer: SegmentSealer,
    tally: _Tally,
    segments: MemoryObjectReceiveStream[Segment],
    sealed: MemoryObjectSendStream[list[Sealed]],
) -> None:
    """Stage 2 (a worker thread per batch): MD5 and seal, in order."""

    def seal(batch: list[Segment]) -> list[Sealed]:
        done: list[Sealed] = []
        for segment in batch:
            plain = segment.plain
            tally.digest.update(plain)
            tally.size += len(plain)
            tally.segments += 1
            sealed = sealer.seal(segment.index, segment.final, plain)
            done.append((segment.index, sealed, segment.final))
        return done

    async with segments, sealed:
        async for batch in _batches(segments, BATCH):
            await sealed.send(await anyio.to_thread.run_sync(seal, batch))


async def _store_segments(
    engine: Engine, blob_id: int, sealed: MemoryObjectReceiveStream[list[Sealed]]
) -> None:
    """Stage 3 (a worker thread per transaction): store what has arrived, up to BATCH; the
    batch with the final segment is committed durably, and with it all the earlier ones."""

    def store(batch: list[Sealed]) -> None:
        rows = [(index, data) for index, data, _ in batch]
        put_segments(engine, blob_id, rows, durable=any(final for _, _, final in batch))

    async with sealed:
        async for batch in sealed:
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
    tally = _Tally(hashlib.md5(usedforsecurity=False))
    try:
        plain_in, plain_out = anyio.create_memory_object_stream[Segment](depth)
        sealed_in, sealed_out = anyio.create_memory_object_stream[list[Sealed]](1)
        async with anyio.create_task_group() as alive:
            alive.start_soon(_heartbeat, engine, blob_id, clock or _elapsed_since(now), heartbeat)
            async with anyio.create_task_group() as group:
                group.start_soon(_seal_segments, sealer, tally, plain_out, sealed_in)
                group.start_soon(_store_segments, engine, blob_id, sealed_out)
                async with plain_in:
                    async for segment in segments:
                        await plain_in.send(segment)
                if received is not None:
                    await anyio.to_thread.run_sync(received)
            alive.cancel_scope.cancel()
    except BaseException as failure:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(lambda: drop_blob(engine, blob_id))
        cause = _single(failure)
        if cause is failure:
            raise
        raise cause from None
    return StagedBody(blob_id, sealer.envelope, tally.size, tally.digest.digest(), tally.segments)


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

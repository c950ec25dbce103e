"""Staging a state body in the database while it streams in.

The body arrives as segments (the API's upload reader cuts the request into them while it
streams in); worker threads join, hash (MD5) and seal the segments that have arrived (up to
``BATCH`` per thread hop), and store each sealed batch in one short transaction, while the
next ones are received: receiving, sealing and storing overlap, and no transaction is held
open while a slow client uploads. At most ``depth`` segments wait to be sealed and one
sealed batch waits to be stored (memory stays bounded: under 7 x BATCH MiB). If anything
fails, the receiving included, the staged blob is dropped. The write decision then only
points a new version at the blob, or drops it.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from sqlalchemy import Engine

from signalbox.core.tfstate import Segment
from signalbox.storage.repositories.tfstate import create_blob, drop_blob, put_segments
from signalbox.storage.state_crypto import Envelope, Keyring, SegmentSealer

__all__ = ["BATCH", "StagedBody", "stage_segments"]

BATCH = 8
"""At most this many segments (1 MiB each) are sealed per thread hop and stored per
transaction."""


@dataclass(frozen=True, slots=True)
class StagedBody:
    """A received body, stored as blob ``blob_id`` (not yet any version's): how it was
    sealed, its size, the MD5 of its clear bytes and how many segments it has."""

    blob_id: int
    envelope: Envelope
    size: int
    md5: bytes
    segments: int


Sealed = tuple[int, bytes]
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
    """Stage 2 (a worker thread per batch): join, MD5 and seal, in order."""

    def seal(batch: list[Segment]) -> list[Sealed]:
        done = []
        for segment in batch:
            plain = segment.plain
            tally.digest.update(plain)
            tally.size += len(plain)
            tally.segments += 1
            done.append((segment.index, sealer.seal(segment.index, segment.final, plain)))
        return done

    async with segments, sealed:
        async for batch in _batches(segments, BATCH):
            await sealed.send(await anyio.to_thread.run_sync(seal, batch))


async def _store_segments(
    engine: Engine, blob_id: int, sealed: MemoryObjectReceiveStream[list[Sealed]]
) -> None:
    """Stage 3 (a worker thread per transaction): store what has arrived, up to BATCH."""
    async with sealed:
        async for batch in sealed:
            await anyio.to_thread.run_sync(put_segments, engine, blob_id, batch)


async def stage_segments(
    engine: Engine,
    keyring: Keyring,
    segments: AsyncIterator[Segment],
    *,
    now: datetime,
    depth: int = BATCH,
) -> StagedBody:
    """Store ``segments`` (in order, the last one final) as a new staged blob; see the
    module doc. An error raised by ``segments`` (a body above the limit) drops the blob and
    is raised as it is."""
    blob_id = await anyio.to_thread.run_sync(lambda: create_blob(engine, now=now))
    sealer = SegmentSealer(keyring)
    tally = _Tally(hashlib.md5(usedforsecurity=False))
    try:
        plain_in, plain_out = anyio.create_memory_object_stream[Segment](depth)
        sealed_in, sealed_out = anyio.create_memory_object_stream[list[Sealed]](1)
        async with anyio.create_task_group() as group:
            group.start_soon(_seal_segments, sealer, tally, plain_out, sealed_in)
            group.start_soon(_store_segments, engine, blob_id, sealed_out)
            async with plain_in:
                async for segment in segments:
                    await plain_in.send(segment)
    except BaseException as failure:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(lambda: drop_blob(engine, blob_id))
        cause = _single(failure)
        if cause is failure:
            raise
        raise cause from None
    return StagedBody(blob_id, sealer.envelope, tally.size, tally.digest.digest(), tally.segments)


def _single(failure: BaseException) -> BaseException:
    """The one error inside a task group's exception group (e.g. PayloadTooLarge)."""
    while isinstance(failure, BaseExceptionGroup) and len(failure.exceptions) == 1:
        failure = failure.exceptions[0]
    return failure

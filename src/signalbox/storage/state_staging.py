"""Staging a state body in the database while it streams in.

The request's pieces are cut into segments (``upload.BodyReceiver``, which also finds the
head); worker threads join, hash (MD5) and seal the segments that have arrived (up to
``BATCH`` per thread hop), and store each sealed batch in one short transaction, while the
next ones are received: receiving, sealing and storing overlap, and no transaction is held
open while a slow client uploads. At most ``depth`` segments wait to be sealed and one
sealed batch waits to be stored (memory stays bounded: under 7 x BATCH MiB). If anything
fails, the staged blob is dropped. The write decision then only points a new version at the
blob, or drops it.
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

from signalbox.storage.repositories.tfstate import create_blob, drop_blob, put_segments
from signalbox.tfstate.crypto import Envelope, SegmentSealer, StateKeyring
from signalbox.tfstate.upload import BodyReceiver, BodySummary, Segment

__all__ = ["BATCH", "StagedBody", "stage_body"]

BATCH = 8
"""At most this many segments (1 MiB each) are sealed per thread hop and stored per
transaction."""


@dataclass(frozen=True, slots=True)
class StagedBody:
    """A received body, stored as blob ``blob_id`` (not yet any version's)."""

    blob_id: int
    envelope: Envelope
    summary: BodySummary


Sealed = tuple[int, bytes]
Item = TypeVar("Item")


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
    digest: Any,
    segments: MemoryObjectReceiveStream[Segment],
    sealed: MemoryObjectSendStream[list[Sealed]],
) -> None:
    """Stage 2 (a worker thread per batch): join, MD5 and seal, in order."""

    def seal(batch: list[Segment]) -> list[Sealed]:
        done = []
        for segment in batch:
            plain = segment.plain
            digest.update(plain)
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


async def stage_body(
    engine: Engine,
    keyring: StateKeyring,
    pieces: AsyncIterator[bytes],
    *,
    limit: int,
    now: datetime,
    depth: int = BATCH,
) -> StagedBody:
    """Receive ``pieces`` into a new staged blob; see the module doc."""
    blob_id = await anyio.to_thread.run_sync(lambda: create_blob(engine, now=now))
    receiver = BodyReceiver(limit=limit)
    sealer = SegmentSealer(keyring)
    digest = hashlib.md5(usedforsecurity=False)
    try:
        plain_in, plain_out = anyio.create_memory_object_stream[Segment](depth)
        sealed_in, sealed_out = anyio.create_memory_object_stream[list[Sealed]](1)
        async with anyio.create_task_group() as group:
            group.start_soon(_seal_segments, sealer, digest, plain_out, sealed_in)
            group.start_soon(_store_segments, engine, blob_id, sealed_out)
            async with plain_in:
                async for piece in pieces:
                    for segment in receiver.add(piece):
                        await plain_in.send(segment)
                await plain_in.send(receiver.finish())
    except BaseException as failure:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(lambda: drop_blob(engine, blob_id))
        cause = _single(failure)
        if cause is failure:
            raise
        raise cause from None
    return StagedBody(blob_id, sealer.envelope, receiver.summary(digest.digest()))


def _single(failure: BaseException) -> BaseException:
    """The one error inside a task group's exception group (e.g. PayloadTooLarge)."""
    while isinstance(failure, BaseExceptionGroup) and len(failure.exceptions) == 1:
        failure = failure.exceptions[0]
    return failure

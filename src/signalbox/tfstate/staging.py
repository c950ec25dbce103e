"""Staging a state body in the database while it streams in.

The request's pieces are cut into segments (``upload.BodyReceiver``, which also finds the
head); worker threads hash (MD5) and seal each segment, and store what is ready (up to
``BATCH`` segments) in one short transaction, while the next ones are received: receiving,
sealing and storing overlap, and no transaction is held open while a slow client uploads.
At most ``depth`` segments wait between two stages (memory stays bounded). If anything
fails, the staged blob is dropped. The write decision then only points a new version at the
blob, or drops it.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from sqlalchemy import Engine

from signalbox.storage.repositories.tfstate import create_blob, drop_blob, put_segments
from signalbox.tfstate.crypto import Envelope, SegmentSealer, StateKeyring
from signalbox.tfstate.upload import BodyReceiver, BodySummary, Segment

__all__ = ["BATCH", "StagedBody", "stage_body"]

BATCH = 4
"""At most this many segments (1 MiB each) are stored per transaction."""


@dataclass(frozen=True, slots=True)
class StagedBody:
    """A received body, stored as blob ``blob_id`` (not yet any version's)."""

    blob_id: int
    envelope: Envelope
    summary: BodySummary


Sealed = tuple[int, bytes]


async def _seal_segments(
    sealer: SegmentSealer,
    digest: Any,
    segments: MemoryObjectReceiveStream[Segment],
    sealed: MemoryObjectSendStream[Sealed],
) -> None:
    """Stage 2 (a worker thread per segment): MD5 and seal, in order."""

    def seal(segment: Segment) -> Sealed:
        plain = segment.plain
        digest.update(plain)
        return segment.index, sealer.seal(segment.index, segment.final, plain)

    async with segments, sealed:
        async for segment in segments:
            await sealed.send(await anyio.to_thread.run_sync(seal, segment))


async def _store_segments(
    engine: Engine, blob_id: int, sealed: MemoryObjectReceiveStream[Sealed]
) -> None:
    """Stage 3 (a worker thread per batch): store what has arrived, up to BATCH at once."""
    async with sealed:
        async for first in sealed:
            batch = [first]
            while len(batch) < BATCH:
                try:
                    batch.append(sealed.receive_nowait())
                except (anyio.WouldBlock, anyio.EndOfStream):
                    break
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
        sealed_in, sealed_out = anyio.create_memory_object_stream[Sealed](depth)
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

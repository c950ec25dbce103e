"""Staging a state body in the database while it streams in.

The request's pieces are cut into segments (``upload.BodyReceiver``, which also finds the
head); a worker thread hashes (MD5), seals and stores each segment in its own short
transaction, while the next ones are received. So the database write overlaps the network
and no transaction is held open while a slow client uploads. At most ``depth`` segments
wait between the two (memory stays bounded). If anything fails, the staged blob is dropped.
The write decision then only points a new version at the blob, or drops it.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream
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


async def _store_segments(
    engine: Engine,
    blob_id: int,
    sealer: SegmentSealer,
    digest: Any,
    segments: MemoryObjectReceiveStream[Segment],
) -> None:
    def store(batch: list[Segment]) -> None:
        sealed = []
        for segment in batch:
            digest.update(segment.plain)
            sealed.append((segment.index, sealer.seal(segment.index, segment.final, segment.plain)))
        put_segments(engine, blob_id, sealed)

    async with segments:
        async for segment in segments:
            batch = [segment]
            while len(batch) < BATCH:  # what else has arrived meanwhile goes along
                try:
                    batch.append(segments.receive_nowait())
                except (anyio.WouldBlock, anyio.EndOfStream):
                    break
            await anyio.to_thread.run_sync(store, batch)


async def stage_body(
    engine: Engine,
    keyring: StateKeyring,
    pieces: AsyncIterator[bytes],
    *,
    limit: int,
    now: datetime,
    depth: int = 2 * BATCH,
) -> StagedBody:
    """Receive ``pieces`` into a new staged blob; see the module doc."""
    blob_id = await anyio.to_thread.run_sync(lambda: create_blob(engine, now=now))
    receiver = BodyReceiver(limit=limit)
    sealer = SegmentSealer(keyring)
    digest = hashlib.md5(usedforsecurity=False)
    try:
        send, receive = anyio.create_memory_object_stream[Segment](depth)
        async with anyio.create_task_group() as group:
            group.start_soon(_store_segments, engine, blob_id, sealer, digest, receive)
            async with send:
                async for piece in pieces:
                    for segment in receiver.add(piece):
                        await send.send(segment)
                await send.send(receiver.finish())
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

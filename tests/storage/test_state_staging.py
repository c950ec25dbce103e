"""Staging a body that streams in as segments: sealed, stored, and dropped on failure."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import anyio
import pytest
from sqlalchemy import func, select

from signalbox.core.errors import PayloadTooLarge
from signalbox.core.tfstate import SEGMENT_SIZE, Segment
from signalbox.storage.state_crypto import Keyring, new_key_text, unseal
from signalbox.storage.state_staging import stage_segments
from signalbox.storage.tfstate_tables import TfStateBlobRow, TfStateChunkRow
from signalbox.testing import FakeClock, sqlite_engine


async def segments_of(body: bytes, piece: int = 65536) -> AsyncIterator[Segment]:
    """``body`` in segments of SEGMENT_SIZE, each as pieces of ``piece`` bytes (as a request
    streams in); the last one final."""
    starts = range(0, max(len(body), 1), SEGMENT_SIZE)
    for index, start in enumerate(starts):
        chunk = body[start : start + SEGMENT_SIZE]
        pieces = tuple(chunk[at : at + piece] for at in range(0, len(chunk), piece)) or (b"",)
        yield Segment(index, index == len(starts) - 1, pieces)


def rows(engine, table):
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.mark.parametrize("keys", ["", new_key_text("k")], ids=["clear", "encrypted"])
def test_staging_stores_sealed_segments_that_read_back(tmp_path, keys):
    engine = sqlite_engine(tmp_path / "db.sqlite")
    keyring = Keyring.from_setting(keys)
    body = bytes(range(256)) * 20_000  # 5 MB: several segments

    async def stage():
        return await stage_segments(engine, keyring, segments_of(body), now=FakeClock().now())

    staged = anyio.run(stage)
    assert staged.size == len(body) and staged.segments == 5
    assert staged.md5 == hashlib.md5(body).digest()
    with engine.connect() as connection:
        stored = list(
            connection.execute(
                select(TfStateChunkRow.data)
                .where(TfStateChunkRow.blob_id == staged.blob_id)
                .order_by(TfStateChunkRow.seq)
            ).scalars()
        )
    assert b"".join(unseal(keyring, staged.envelope, stored)) == body
    assert (b"".join(stored) == body) is (keys == "")


def test_an_empty_body_is_staged_as_one_empty_segment(tmp_path):
    engine = sqlite_engine(tmp_path / "db.sqlite")
    keyring = Keyring.from_setting(new_key_text("k"))

    async def stage():
        return await stage_segments(engine, keyring, segments_of(b""), now=FakeClock().now())

    staged = anyio.run(stage)
    assert (staged.size, staged.segments, staged.md5) == (0, 1, hashlib.md5(b"").digest())


def test_a_failed_upload_leaves_nothing_staged(tmp_path):
    engine = sqlite_engine(tmp_path / "db.sqlite")

    async def too_large():  # what the upload reader does when the limit is crossed
        yield Segment(0, False, (b"x" * SEGMENT_SIZE,))
        yield Segment(1, False, (b"y" * SEGMENT_SIZE,))
        raise PayloadTooLarge("The state body is larger than max_state_bytes.", hint="")

    async def stage():
        return await stage_segments(engine, Keyring(), too_large(), now=FakeClock().now())

    with pytest.raises(PayloadTooLarge):
        anyio.run(stage)
    assert rows(engine, TfStateChunkRow) == 0 and rows(engine, TfStateBlobRow) == 0

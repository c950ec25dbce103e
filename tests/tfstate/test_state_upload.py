from __future__ import annotations

import hashlib

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from signalbox.core.errors import InvalidInput, PayloadTooLarge
from signalbox.core.tfstate import StateHead
from signalbox.storage.tfstate_tables import TfStateBlobRow, TfStateChunkRow
from signalbox.testing import FakeClock, sqlite_engine
from signalbox.tfstate.crypto import StateKeyring, new_key_text, unseal
from signalbox.tfstate.staging import stage_body
from signalbox.tfstate.upload import BodyReceiver, decode_content_md5


@given(body=st.binary(max_size=2000), piece=st.integers(1, 300), size=st.integers(1, 200))
def test_segments_cover_the_body_and_only_the_last_is_final(body, piece, size):
    receiver = BodyReceiver(limit=10_000, segment_size=size)
    segments = []
    for start in range(0, len(body), piece):
        segments += receiver.add(body[start : start + piece])
    segments.append(receiver.finish())
    assert b"".join(s.plain for s in segments) == body
    assert [s.index for s in segments] == list(range(len(segments)))
    assert [s.final for s in segments] == [False] * (len(segments) - 1) + [True]
    assert all(len(s.plain) == size for s in segments[:-1]) and len(segments[-1].plain) <= size
    assert receiver.summary(b"").segments == len(segments)


def test_the_summary_has_the_head_and_the_limit_is_enforced():
    receiver = BodyReceiver(limit=100)
    receiver.add(b'{"serial": 3, "lineage": "x"}')
    receiver.finish()
    assert receiver.summary(b"").head == StateHead("x", 3)
    with pytest.raises(PayloadTooLarge):
        BodyReceiver(limit=3).add(b"1234")


def test_content_md5_header():
    assert decode_content_md5(None) is None
    assert decode_content_md5("1B2M2Y8AsgTpgAmY7PhCfg==") == hashlib.md5(b"").digest()
    with pytest.raises(InvalidInput):
        decode_content_md5("not-md5")


def rows(engine, table):
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.mark.parametrize("keys", ["", new_key_text("k")], ids=["clear", "encrypted"])
def test_staging_stores_sealed_segments_that_read_back(tmp_path, keys):
    engine = sqlite_engine(tmp_path / "db.sqlite")
    keyring = StateKeyring.from_setting(keys)
    body = bytes(range(256)) * 20_000  # 5 MB: several segments

    async def pieces():
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    async def stage():
        return await stage_body(engine, keyring, pieces(), limit=10**8, now=FakeClock().now())

    staged = anyio.run(stage)
    assert staged.summary.size == len(body) and staged.summary.segments == 5
    assert staged.summary.md5 == hashlib.md5(body).digest()
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


def test_a_failed_upload_leaves_nothing_staged(tmp_path):
    engine = sqlite_engine(tmp_path / "db.sqlite")

    async def pieces():
        yield b"x" * 3_000_000
        yield b"y" * 3_000_000

    async def stage():
        return await stage_body(
            engine, StateKeyring(), pieces(), limit=4_000_000, now=FakeClock().now()
        )

    with pytest.raises(PayloadTooLarge):
        anyio.run(stage)
    assert rows(engine, TfStateChunkRow) == 0 and rows(engine, TfStateBlobRow) == 0

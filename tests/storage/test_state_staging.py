"""Staging a body that streams in as segments: sealed, stored, and dropped on failure."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import anyio
import pytest
from sqlalchemy import func, select, update

from signalbox.core.errors import PayloadTooLarge
from signalbox.core.tfstate import SEGMENT_SIZE, Segment
from signalbox.storage.state_crypto import Keyring, new_key_text, unseal
from signalbox.storage.state_staging import stage_segments
from signalbox.storage.tfstate_tables import TfStateBlobRow, TfStateChunkRow
from signalbox.testing import FakeClock, sqlite_engine


async def until(condition, timeout: float = 30.0) -> None:
    """Wait for ``condition`` (polled every 10 ms), failing after ``timeout`` seconds."""
    with anyio.fail_after(timeout):
        while not condition():
            await anyio.sleep(0.01)  # polling a condition, bounded by the deadline


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


def crashed_upload(engine, *, at, segments: int) -> int:
    """The rows a server killed mid-upload leaves: a blob, not done, and its first segments."""
    from signalbox.storage.repositories.tfstate import create_blob, put_segments

    blob_id = create_blob(engine, now=at)
    for seq in range(segments):
        put_segments(engine, blob_id, [(seq, bytes([seq]) * SEGMENT_SIZE)])
    return blob_id


def test_housekeeping_drops_crashed_uploads_and_the_file_shrinks(tmp_path):
    from signalbox.services.housekeeping import tidy
    from signalbox.storage.engine import sqlite_pragma
    from signalbox.storage.state_staging import ORPHANED

    engine = sqlite_engine(tmp_path / "db.sqlite")
    clock = FakeClock()
    for _ in range(3):
        crashed_upload(engine, at=clock.now(), segments=4)
    pages = sqlite_pragma(engine, "page_count")
    assert rows(engine, TfStateChunkRow) == 12

    assert tidy(engine, now=clock.advance(ORPHANED / 2)).uploads == 0  # too recent to tell
    assert rows(engine, TfStateChunkRow) == 12

    tidied = tidy(engine, now=clock.advance(ORPHANED))
    assert tidied.uploads == 3 and tidied.pages > 0
    assert rows(engine, TfStateChunkRow) == 0 and rows(engine, TfStateBlobRow) == 0
    assert sqlite_pragma(engine, "freelist_count") == 0
    assert sqlite_pragma(engine, "page_count") < pages - 12 * SEGMENT_SIZE // 65536
    engine.dispose()


def test_a_slow_live_upload_is_never_swept(tmp_path):
    """The upload waits for its client far longer than ORPHANED (on the fake clock); its
    heartbeat keeps the blob alive, the sweep leaves it, and the body arrives whole."""
    from signalbox.storage.state_staging import ORPHANED, drop_orphaned_blobs

    engine = sqlite_engine(tmp_path / "db.sqlite")
    clock = FakeClock()
    started = clock.now()
    body = b"s" * (2 * SEGMENT_SIZE)

    async def scenario():
        more = anyio.Event()
        swept = []

        async def slow_client():
            yield Segment(0, False, (body[:SEGMENT_SIZE],))
            await more.wait()  # the client is silent for a long while
            yield Segment(1, True, (body[SEGMENT_SIZE:],))

        async def sweeper():
            await until(lambda: rows(engine, TfStateChunkRow) >= 1)  # a segment is stored
            for _ in range(3):  # three times ORPHANED pass, the upload still running
                target = clock.advance(ORPHANED)
                await until(lambda t=target: alive_at(engine) >= t)  # the next heartbeat is in
                swept.append(drop_orphaned_blobs(engine, now=clock.now()))
            more.set()

        async with anyio.create_task_group() as group:
            group.start_soon(sweeper)
            staged = await stage_segments(
                engine,
                Keyring(),
                slow_client(),
                now=started,
                clock=clock.now,
                heartbeat=timedelta(seconds=0.02),
            )
        return staged, swept

    staged, swept = anyio.run(scenario)
    assert swept == [0, 0, 0]
    assert staged.segments == 2 and staged.md5 == hashlib.md5(body).digest()
    assert rows(engine, TfStateChunkRow) == 2
    engine.dispose()


def alive_at(engine):
    with engine.connect() as connection:
        found = connection.execute(select(TfStateBlobRow.alive_at)).scalar_one()
    return found or datetime.min.replace(tzinfo=UTC)


def test_only_uploads_silent_for_longer_than_orphaned_are_dropped(database):
    """On both databases: the crashed upload goes, a recently beating one and a done blob
    (a version's body) stay."""
    from signalbox.storage.state_staging import ORPHANED, drop_orphaned_blobs

    clock = FakeClock()
    crashed = crashed_upload(database, at=clock.now(), segments=2)
    beating = crashed_upload(database, at=clock.now(), segments=1)
    done = crashed_upload(database, at=clock.now(), segments=1)
    later = clock.advance(ORPHANED * 2)
    with database.begin() as connection:
        connection.execute(
            update(TfStateBlobRow).where(TfStateBlobRow.id == beating).values(alive_at=later)
        )
        connection.execute(
            update(TfStateBlobRow).where(TfStateBlobRow.id == done).values(done=True)
        )
    assert drop_orphaned_blobs(database, now=later) == 1
    with database.connect() as connection:
        left = set(connection.execute(select(TfStateBlobRow.id)).scalars())
    assert left == {beating, done} and crashed not in left
    assert rows(database, TfStateChunkRow) == 2


@pytest.mark.parametrize("keys", ["", new_key_text("k")], ids=["clear", "encrypted"])
def test_each_staged_segment_has_its_checksum_and_the_last_commit_is_durable(
    tmp_path, keys, monkeypatch
):
    """Every segment is stored with the checksum of its stored bytes; a commit waits for the
    disk every SYNC_EVERY segments and at the last one, never later than the last."""
    from signalbox.storage import state_staging
    from signalbox.storage.state_crypto import segment_checksum

    engine = sqlite_engine(tmp_path / "db.sqlite")
    keyring = Keyring.from_setting(keys)
    body = os.urandom(SEGMENT_SIZE * 9 + 5)  # ten segments
    commits: list[tuple[int, bool]] = []  # (last seq, durable)
    put = state_staging.put_segments

    def recorded(engine, blob_id, segments, *, durable):  # type: ignore[no-untyped-def]
        put(engine, blob_id, segments, durable=durable)
        commits.append((segments[-1][0], durable))

    monkeypatch.setattr(state_staging, "put_segments", recorded)
    monkeypatch.setattr(state_staging, "SYNC_EVERY", 4)

    async def stage():
        return await stage_segments(engine, keyring, segments_of(body), now=FakeClock().now())

    staged = anyio.run(stage)
    assert staged.md5 == hashlib.md5(body).digest() and staged.segments == 10
    assert commits[-1] == (9, True)  # the last segment's commit is durable
    durable_at = [seq for seq, durable in commits if durable]
    stored_since = [b - a for a, b in zip([-1, *durable_at], durable_at, strict=False)]
    assert all(count <= 4 + state_staging.BATCH - 1 for count in stored_since)
    with engine.connect() as connection:
        stored = connection.execute(
            select(TfStateChunkRow.seq, TfStateChunkRow.data, TfStateChunkRow.checksum)
            .where(TfStateChunkRow.blob_id == staged.blob_id)
            .order_by(TfStateChunkRow.seq)
        ).all()
    assert [seq for seq, _, _ in stored] == list(range(10))
    assert all(
        checksum == segment_checksum(staged.blob_id, seq, data) for seq, data, checksum in stored
    )

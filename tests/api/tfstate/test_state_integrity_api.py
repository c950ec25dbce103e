"""A damaged stored body is never served as a cut 200: the whole body is checked before the
answer starts, the client gets a 500 ``state-integrity`` problem naming the state, the
serial and what to do, and a ``state.integrity-failed`` event is written (never the body).

The damage is done in the database, as someone with write access to it would: a flipped bit
in a segment, a missing segment, a digest that no longer matches a body stored in clear."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, select, update
from tests.api.tfstate.states import state_body

from signalbox.storage.tfstate_tables import TfStateChunkRow, TfStateVersionRow
from signalbox.storage.uow import UnitOfWork

SECRET = "topsecret-" + "x" * 40_000
BOTH = pytest.mark.parametrize("settings", ["clear", "encrypted"], indirect=True)


def big_body(serial: int) -> bytes:
    """A state of about 2.5 MB: three segments of 1 MiB."""
    return state_body(serial, *(f"r{n}" for n in range(60)), secret=SECRET)


def newest_chunks(database) -> list[TfStateChunkRow]:
    with UnitOfWork(database, read_only=True) as uow:
        version = uow.session.scalars(
            select(TfStateVersionRow).order_by(TfStateVersionRow.id.desc()).limit(1)
        ).one()
        query = select(TfStateChunkRow).where(TfStateChunkRow.blob_id == version.blob_id)
        chunks = list(uow.session.scalars(query.order_by(TfStateChunkRow.seq)))
        uow.session.expunge_all()
        return chunks


def flip_a_bit(database, seq: int) -> None:
    chunk = newest_chunks(database)[seq]
    data = bytearray(chunk.data)
    data[len(data) // 2] ^= 0x01
    with UnitOfWork(database) as uow:
        uow.session.execute(
            update(TfStateChunkRow)
            .where(TfStateChunkRow.blob_id == chunk.blob_id, TfStateChunkRow.seq == seq)
            .values(data=bytes(data))
        )


def drop_segment(database, seq: int) -> None:
    chunk = newest_chunks(database)[seq]
    with UnitOfWork(database) as uow:
        uow.session.execute(
            delete(TfStateChunkRow).where(
                TfStateChunkRow.blob_id == chunk.blob_id, TfStateChunkRow.seq == seq
            )
        )


def integrity_events(client, headers) -> list[dict]:
    answer = client.get("/api/events", params={"env": "dev"}, headers=headers)
    assert answer.status_code == 200, answer.text
    return [e for e in answer.json()["events"] if e["kind"] == "state.integrity-failed"]


def assert_refused_with_the_way_out(answer, serial: int) -> dict:
    assert answer.status_code == 500, answer.text
    problem = answer.json()
    assert problem["code"] == "state-integrity"
    assert problem["state"] == "network" and problem["serial"] == serial
    assert f"dev/network serial {serial} is damaged" in problem["detail"]
    assert "signalbox state versions dev network" in problem["hint"]
    assert "signalbox state restore dev network --serial" in problem["hint"]
    assert SECRET[:16] not in answer.text
    return problem


@BOTH
def test_a_flipped_bit_in_a_segment_is_a_500_problem_and_an_event(terraform, client, ci):
    assert terraform.write(ci, big_body(1)).status_code == 200
    assert terraform.write(ci, big_body(2)).status_code == 200
    flip_a_bit(client.app.state.server.state_store.engine, 1)
    problem = assert_refused_with_the_way_out(terraform.read(ci), 2)
    assert "segment (1)" in problem["problem"] or "MD5" in problem["problem"]
    [event] = integrity_events(client, ci)
    assert event["data"] == {"state": "network", "serial": 2, "problem": problem["problem"]}
    assert event["actor"] == "signalbox" and "restore an earlier version" in event["message"]
    assert SECRET[:16] not in json.dumps(event)


@BOTH
def test_a_missing_segment_is_a_500_problem_not_a_cut_answer(terraform, client, ci):
    assert terraform.write(ci, big_body(1)).status_code == 200
    drop_segment(client.app.state.server.state_store.engine, 2)  # the final one
    problem = assert_refused_with_the_way_out(terraform.read(ci), 1)
    assert problem["problem"] in {
        "ends before its final segment",
        f"is 2097152 bytes, not the {len(big_body(1))} bytes stored (a segment is missing)",
    }
    assert len(integrity_events(client, ci)) == 1


@BOTH
def test_a_missing_middle_segment_is_found_too(terraform, client, ci):
    assert terraform.write(ci, big_body(1)).status_code == 200
    drop_segment(client.app.state.server.state_store.engine, 1)
    assert_refused_with_the_way_out(terraform.read(ci), 1)


def as_before_checksums(database) -> None:
    """The newest body as a server before migration 0009 stored it: no segment checksums."""
    blob_id = newest_chunks(database)[0].blob_id
    with UnitOfWork(database) as uow:
        uow.session.execute(
            update(TfStateChunkRow).where(TfStateChunkRow.blob_id == blob_id).values(checksum=None)
        )


def test_a_clear_body_whose_stored_checksum_no_longer_matches_is_refused(terraform, client, ci):
    body = state_body(1, "pool")
    assert terraform.write(ci, body).status_code == 200
    [chunk] = newest_chunks(client.app.state.server.state_store.engine)
    assert chunk.checksum is not None
    with UnitOfWork(client.app.state.server.state_store.engine) as uow:
        uow.session.execute(update(TfStateChunkRow).values(checksum=chunk.checksum ^ 1))
    problem = assert_refused_with_the_way_out(terraform.read(ci), 1)
    assert problem["problem"] == "has a segment (0) that does not match its stored checksum"


def test_a_clear_body_stored_before_checksums_whose_md5_no_longer_matches_is_refused(
    terraform, client, ci
):
    body = state_body(1, "pool")
    assert terraform.write(ci, body).status_code == 200
    as_before_checksums(client.app.state.server.state_store.engine)
    with UnitOfWork(client.app.state.server.state_store.engine) as uow:
        uow.session.execute(update(TfStateVersionRow).values(md5="0" * 32))
    problem = assert_refused_with_the_way_out(terraform.read(ci), 1)
    assert problem["problem"] == "does not match its stored MD5"


def test_a_flipped_bit_in_a_clear_segment_is_found_by_its_checksum(terraform, client, ci):
    """Segment by segment: the damaged one is named, before the MD5 would have been."""
    assert terraform.write(ci, big_body(1)).status_code == 200
    assert all(
        chunk.checksum is not None
        for chunk in newest_chunks(client.app.state.server.state_store.engine)
    )
    flip_a_bit(client.app.state.server.state_store.engine, 1)
    problem = assert_refused_with_the_way_out(terraform.read(ci), 1)
    assert problem["problem"] == "has a segment (1) that does not match its stored checksum"
    [event] = integrity_events(client, ci)
    assert event["data"] == {"state": "network", "serial": 1, "problem": problem["problem"]}


def test_a_segment_moved_to_another_place_does_not_match_its_checksum(terraform, client, ci):
    engine = client.app.state.server.state_store.engine
    assert terraform.write(ci, big_body(1)).status_code == 200
    first, second = newest_chunks(engine)[:2]
    with UnitOfWork(engine) as uow:  # segment 1 and its checksum, written over segment 0
        uow.session.execute(
            update(TfStateChunkRow)
            .where(TfStateChunkRow.blob_id == first.blob_id, TfStateChunkRow.seq == 0)
            .values(data=second.data, checksum=second.checksum)
        )
    problem = assert_refused_with_the_way_out(terraform.read(ci), 1)
    assert problem["problem"] == "has a segment (0) that does not match its stored checksum"


@BOTH
def test_a_body_stored_before_checksums_is_checked_by_its_md5(terraform, client, ci):
    engine = client.app.state.server.state_store.engine
    assert terraform.write(ci, big_body(1)).status_code == 200
    as_before_checksums(engine)
    answer = terraform.read(ci)  # whole: served
    assert answer.status_code == 200 and answer.content == big_body(1)
    chunk = newest_chunks(engine)[1]
    assert chunk.checksum is None
    flip_a_bit(engine, 1)
    problem = assert_refused_with_the_way_out(terraform.read(ci), 1)
    assert problem["problem"] in {
        "does not match its stored MD5",  # in clear: only the MD5 sees it
        "has a segment (1) that does not authenticate",  # encrypted: the tag, first
    }
    assert len(integrity_events(client, ci)) == 1


def test_a_clear_segment_whose_checksum_was_removed_is_refused(terraform, client, ci):
    """A body's first segment has a checksum: each of its segments must have one."""
    engine = client.app.state.server.state_store.engine
    assert terraform.write(ci, big_body(1)).status_code == 200
    chunk = newest_chunks(engine)[2]
    with UnitOfWork(engine) as uow:
        uow.session.execute(
            update(TfStateChunkRow)
            .where(TfStateChunkRow.blob_id == chunk.blob_id, TfStateChunkRow.seq == 2)
            .values(checksum=None)
        )
    problem = assert_refused_with_the_way_out(terraform.read(ci), 1)
    assert problem["problem"] == "has a segment (2) stored without its checksum"


@BOTH
def test_show_and_restore_of_a_damaged_version_say_so_and_write_nothing(
    terraform, client, ci, admin
):
    assert terraform.write(ci, big_body(1)).status_code == 200
    flip_a_bit(client.app.state.server.state_store.engine, 0)
    assert terraform.write(ci, big_body(2)).status_code == 200
    shown = client.get("/api/states/dev/network/show", headers=ci)
    assert shown.status_code == 500 and shown.json()["serial"] == 1
    held = client.post("/api/environments/dev/hold", headers=admin, json={"reason": "fix"})
    assert held.status_code == 200, held.text
    restored = client.post("/api/states/dev/network/restore", headers=admin, json={"serial": 1})
    assert restored.status_code == 500 and restored.json()["code"] == "state-integrity"
    listed = client.get("/api/states/dev/network", headers=ci).json()["versions"]
    assert [v["serial"] for v in listed] == [2, 1]
    assert len(integrity_events(client, ci)) == 2
    assert terraform.read(ci).content == big_body(2)  # the newest is whole and served


@BOTH
def test_a_whole_body_is_served_as_it_was_written(terraform, ci):
    body = big_body(1)
    assert terraform.write(ci, body).status_code == 200
    answer = terraform.read(ci)
    assert answer.status_code == 200 and answer.content == body


@BOTH
def test_a_body_too_large_to_keep_is_checked_then_read_again(
    terraform, client, ci, settings, monkeypatch
):
    """Above VERIFIED_IN_MEMORY the check is a first pass and the answer a second one."""
    from dataclasses import replace

    from signalbox.services.tfstate import bodies

    VERIFIED_IN_MEMORY = 8 << 20  # the budget, small enough for a test body to exceed it
    monkeypatch.setattr(bodies, "VERIFIED_IN_MEMORY", VERIFIED_IN_MEMORY)
    server = client.app.state.server
    client.app.state.server = replace(
        server, settings=replace(settings, max_state_bytes=4 * VERIFIED_IN_MEMORY)
    )
    body = state_body(1, *(f"r{n}" for n in range(240)), secret=SECRET)
    assert len(body) > VERIFIED_IN_MEMORY
    assert terraform.write(ci, body).status_code == 200
    answer = terraform.read(ci)
    assert answer.status_code == 200 and answer.content == body
    flip_a_bit(server.state_store.engine, len(newest_chunks(server.state_store.engine)) - 1)
    assert_refused_with_the_way_out(terraform.read(ci), 1)


@BOTH
def test_a_kept_body_gives_its_budget_back_sent_or_not(terraform, client, ci, monkeypatch):
    """A body kept in memory (one pass, read into one buffer) holds the budget only while
    its answer is alive: sent whole, or dropped unsent, the bytes are given back, so reads
    in a row are each kept (they would all be refused room if one leaked) and exact."""
    from signalbox.core.tfstate import StateKey
    from signalbox.services.tfstate import bodies, read_state

    body = big_body(1)
    monkeypatch.setattr(bodies, "VERIFIED_IN_MEMORY", len(body))  # room for one at a time
    assert terraform.write(ci, body).status_code == 200
    store = client.app.state.server.state_store
    for _ in range(3):
        assert terraform.read(ci).content == body
        stored = read_state(store, key=StateKey("dev", "network"))
        assert stored is not None and bodies._KEPT._held == len(body)
        first = bytes(next(stored.body))
        del stored  # dropped unsent after its first segment
        assert bodies._KEPT._held == 0 and body.startswith(first)

"""0008 -> 0009: state segments get a checksum column. A body stored before it (segments
without a checksum) is still served whole, and still checked, by its MD5; one stored after
it is checked segment by segment. Every earlier revision upgrades to the head. SQLite
always, PostgreSQL when configured."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

import signalbox.storage
from signalbox.core.errors import StateIntegrityError
from signalbox.core.tfstate import SEGMENT_SIZE, StateKey
from signalbox.services.tfstate import StateStore, read_state
from signalbox.settings import EnvironmentConfig, Settings
from signalbox.storage import build_engine, head_revision, upgrade

T0 = datetime(2026, 11, 26, 13, 0)  # naive UTC, as the tables store times
BODY = json.dumps(
    {"version": 4, "serial": 3, "lineage": "lin", "resources": ["x" * 500] * 5000}
).encode()  # about 2.5 MB: three segments


def _store_as_0008_did(connection) -> None:  # type: ignore[no-untyped-def]
    """One clear version of dev/network, its body in segments without checksums."""
    connection.execute(
        text(
            "INSERT INTO environments (name, last_fencing_token, version, configured, timezone,"
            " created_at) VALUES ('dev', 0, 0, :yes, 'UTC', :t0)"
        ),
        {"yes": True, "t0": T0},
    )
    connection.execute(
        text(
            "INSERT INTO tf_states (id, environment, name, created_at)"
            " VALUES (1, 'dev', 'network', :t0)"
        ),
        {"t0": T0},
    )
    connection.execute(
        text("INSERT INTO tf_state_blobs (id, created_at, done) VALUES (1, :t0, :yes)"),
        {"t0": T0, "yes": True},
    )
    segments = [BODY[at : at + SEGMENT_SIZE] for at in range(0, len(BODY), SEGMENT_SIZE)]
    for seq, data in enumerate(segments):
        connection.execute(
            text("INSERT INTO tf_state_chunks (blob_id, seq, data) VALUES (1, :seq, :data)"),
            {"seq": seq, "data": data},
        )
    connection.execute(
        text(
            "INSERT INTO tf_state_versions (state_id, serial, lineage, md5, size, author,"
            " author_is_ci, at, key_id, stream_id, segments, blob_id, deleted)"
            " VALUES (1, 3, 'lin', :md5, :size, 'ci', :yes, :t0, NULL, :stream, :count, 1, :no)"
        ),
        {
            "md5": hashlib.md5(BODY).hexdigest(),
            "size": len(BODY),
            "yes": True,
            "no": False,
            "t0": T0,
            "stream": b"\x00" * 16,
            "count": len(segments),
        },
    )


def test_a_body_stored_before_0009_is_served_and_checked_by_its_md5(database_url):
    engine = build_engine(database_url)
    try:
        upgrade(engine, "0008")
        with engine.begin() as connection:
            _store_as_0008_did(connection)
        upgrade(engine)
        with engine.connect() as connection:
            checksums = connection.execute(text("SELECT checksum FROM tf_state_chunks")).all()
        assert len(checksums) == 3 and all(row[0] is None for row in checksums)
        settings = Settings(environments={"dev": EnvironmentConfig("dev", timezone="UTC")})
        store = StateStore.from_settings(engine, settings)
        key = StateKey("dev", "network")
        stored = read_state(store, key=key, now=T0.replace(tzinfo=UTC))
        assert stored is not None and b"".join(stored.body) == BODY
        with engine.begin() as connection:  # one byte of the middle segment changes at rest
            data = bytearray(BODY[SEGMENT_SIZE : 2 * SEGMENT_SIZE])
            data[10] ^= 0x01
            connection.execute(
                text("UPDATE tf_state_chunks SET data = :data WHERE seq = 1"), {"data": bytes(data)}
            )
        with pytest.raises(StateIntegrityError) as raised:
            read_state(store, key=key, now=T0.replace(tzinfo=UTC))
        assert raised.value.details["problem"] == "does not match its stored MD5"
        with engine.connect() as connection:  # and it is recorded
            kinds = connection.execute(text("SELECT kind FROM events")).scalars().all()
        assert "state.integrity-failed" in kinds
    finally:
        engine.dispose()


def _revisions() -> list[str]:
    """Every revision id (the migrations are ``NNNN_what.py``, the id being ``NNNN``)."""
    versions = Path(signalbox.storage.__file__).parent / "migrations" / "versions"
    return sorted(path.name.split("_", 1)[0] for path in versions.glob("[0-9]*_*.py"))


@pytest.mark.parametrize("start", _revisions())
def test_every_earlier_revision_upgrades_to_the_head(database_url, start):
    engine = build_engine(database_url)
    try:
        upgrade(engine, start)
        assert upgrade(engine) == head_revision() == "0009"
    finally:
        engine.dispose()

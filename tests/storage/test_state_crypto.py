from __future__ import annotations

import base64
import hashlib
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signalbox.core.errors import ConfigError, StateIntegrityError, StateKeyUnknown
from signalbox.core.tfstate import SEGMENT_SIZE
from signalbox.storage.state_crypto import (
    EncryptionKey,
    Envelope,
    Keyring,
    StoredSegment,
    new_key_text,
    rechunk,
    seal,
    segment_checksum,
    unseal,
    unseal_checked,
)

OLD = EncryptionKey("k1", b"\x01" * 32)
NEW = EncryptionKey("k2", b"\x02" * 32)
RING = Keyring([OLD])


def store(keyring: Keyring, body: bytes, piece: int = 65536) -> tuple[Envelope, list[bytes]]:
    envelope, segments = seal(keyring, (body[i : i + piece] for i in range(0, len(body), piece)))
    return envelope, list(segments)


def read(keyring: Keyring, envelope: Envelope, segments: list[bytes]) -> bytes:
    return b"".join(unseal(keyring, envelope, segments))


def test_round_trip_in_segments_without_clear_text() -> None:
    body = os.urandom(SEGMENT_SIZE * 2 + 123)
    envelope, segments = store(RING, body)
    assert envelope.key_id == "k1" and len(segments) == 3
    assert all(body[:64] not in segment for segment in segments)
    assert read(RING, envelope, segments) == body


def test_an_empty_body_is_one_sealed_segment() -> None:
    envelope, segments = store(RING, b"")
    assert len(segments) == 1 and read(RING, envelope, segments) == b""


def test_without_a_key_bodies_are_stored_in_clear() -> None:
    body = b'{"serial": 1}' * 100_000
    envelope, segments = store(Keyring(), body)
    assert envelope.key_id is None and b"".join(segments) == body
    assert read(Keyring(), envelope, segments) == body


@given(body=st.binary(max_size=3000), size=st.integers(1, 700))
def test_rechunk_keeps_the_bytes(body: bytes, size: int) -> None:
    pieces = list(rechunk((body[i : i + 97] for i in range(0, len(body), 97)), size))
    assert b"".join(pieces) == body
    assert all(len(piece) == size for piece in pieces[:-1])


@settings(max_examples=60)
@given(position=st.integers(0, 10**9), bit=st.integers(0, 7))
def test_any_flipped_bit_is_detected(position: int, bit: int) -> None:
    envelope, segments = store(RING, b"x" * 5000)
    target = bytearray(segments[0])
    target[position % len(target)] ^= 1 << bit
    with pytest.raises(StateIntegrityError):
        read(RING, envelope, [bytes(target)])


def big_body() -> tuple[Envelope, list[bytes]]:
    return store(RING, os.urandom(SEGMENT_SIZE * 3 + 10))


def test_truncation_is_detected() -> None:
    envelope, segments = big_body()
    with pytest.raises(StateIntegrityError, match="ends before its final segment"):
        read(RING, envelope, segments[:-1])


def test_reordering_is_detected() -> None:
    envelope, segments = big_body()
    with pytest.raises(StateIntegrityError):
        read(RING, envelope, [segments[1], segments[0], *segments[2:]])


def test_a_segment_after_the_end_is_detected() -> None:
    envelope, segments = big_body()
    with pytest.raises(StateIntegrityError):
        read(RING, envelope, [*segments, segments[-1]])


def test_segments_of_another_body_are_detected() -> None:
    first, first_segments = big_body()
    _, other_segments = big_body()
    with pytest.raises(StateIntegrityError):
        read(RING, first, [other_segments[0], *first_segments[1:]])


def test_setting_the_final_flag_early_is_detected() -> None:
    envelope, segments = big_body()
    with pytest.raises(StateIntegrityError):
        read(RING, envelope, [b"\x01" + segments[0][1:]])


def test_rotation_first_key_encrypts_all_keys_decrypt() -> None:
    old_envelope, old_segments = store(Keyring([OLD]), b"state under the old key")
    rotated = Keyring([NEW, OLD])
    new_envelope, new_segments = store(rotated, b"state under the new key")
    assert new_envelope.key_id == "k2"
    assert read(rotated, old_envelope, old_segments) == b"state under the old key"
    assert read(rotated, new_envelope, new_segments) == b"state under the new key"
    with pytest.raises(StateKeyUnknown, match="'k1'"):
        read(Keyring([NEW]), old_envelope, old_segments)


def test_the_wrong_key_under_the_same_id_is_detected() -> None:
    envelope, segments = store(RING, b"secret")
    with pytest.raises(StateIntegrityError):
        read(Keyring([EncryptionKey("k1", b"\x09" * 32)]), envelope, segments)


def test_keys_from_the_setting() -> None:
    text = f"{new_key_text('2026-11')}, {new_key_text('2026-01')}"
    ring = Keyring.from_setting(text)
    assert [key.id for key in ring.keys] == ["2026-11", "2026-01"]
    assert ring.primary is not None and len(ring.primary.secret) == 32
    assert "secret" not in repr(ring.primary) and str(ring.primary.secret) not in repr(ring.keys)
    assert Keyring.from_setting("").primary is None


@pytest.mark.parametrize(
    "text",
    [
        "nocolon",
        "k1:notbase64!",
        f"k1:{base64.b64encode(b'short').decode()}",
        f":{base64.b64encode(bytes(32)).decode()}",
        f"a:{base64.b64encode(bytes(32)).decode()},a:{base64.b64encode(bytes(32)).decode()}",
    ],
)
def test_bad_key_settings_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError):
        Keyring.from_setting(text)


CLEAR = Keyring()


def stored(blob_id: int, body: bytes, *, checksums: bool = True) -> list[StoredSegment]:
    _, segments = store(CLEAR, body)
    return [
        StoredSegment(seq, data, segment_checksum(blob_id, seq, data) if checksums else None)
        for seq, data in enumerate(segments)
    ]


def read_checked(segments: list[StoredSegment], body: bytes, blob_id: int = 7) -> bytes:
    envelope = Envelope(None, b"\x00" * 16)
    md5 = hashlib.md5(body).digest()
    checked = unseal_checked(CLEAR, envelope, segments, blob_id=blob_id, md5=md5, size=len(body))
    return b"".join(checked)


def test_a_clear_body_with_checksums_reads_back_and_a_flipped_bit_names_its_segment() -> None:
    body = os.urandom(SEGMENT_SIZE * 2 + 10)
    segments = stored(7, body)
    assert read_checked(segments, body) == body
    damaged = bytearray(segments[1].data)
    damaged[5] ^= 0x10
    segments[1] = segments[1]._replace(data=bytes(damaged))
    with pytest.raises(StateIntegrityError, match=r"segment \(1\) that does not match"):
        read_checked(segments, body)


def test_a_segment_of_another_blob_or_place_does_not_match_its_checksum() -> None:
    body = os.urandom(SEGMENT_SIZE * 2 + 10)
    with pytest.raises(StateIntegrityError, match="does not match its stored checksum"):
        read_checked(stored(8, body), body, blob_id=7)
    first, second, last = stored(7, body)
    with pytest.raises(StateIntegrityError):
        read_checked([second._replace(seq=0), first._replace(seq=1), last], body)


def test_a_missing_segment_or_checksum_is_damage() -> None:
    body = os.urandom(SEGMENT_SIZE * 2 + 10)
    first, second, last = stored(7, body)
    with pytest.raises(StateIntegrityError, match=r"missing its segment \(1\)"):
        read_checked([first, last], body)
    with pytest.raises(StateIntegrityError, match="stored without its checksum"):
        read_checked([first, second._replace(checksum=None), last], body)


def test_a_body_without_checksums_is_checked_by_its_md5() -> None:
    body = os.urandom(SEGMENT_SIZE + 10)
    segments = stored(7, body, checksums=False)
    assert read_checked(segments, body) == body
    damaged = bytearray(segments[0].data)
    damaged[0] ^= 0x01
    with pytest.raises(StateIntegrityError, match="does not match its stored MD5"):
        read_checked([segments[0]._replace(data=bytes(damaged)), segments[1]], body)

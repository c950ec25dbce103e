"""State bodies at rest: AES-256-GCM in 1 MiB segments, or clear when no key is configured.

A body is cut into segments of ``SEGMENT_SIZE`` bytes (``core.tfstate.segments``; the last
may be shorter, or empty for an empty body). Each sealed segment is ``final flag (1 byte) ||
nonce (12 random bytes) || ciphertext || tag`` and authenticates, as associated data, a
random 16-byte ``stream_id`` of the body, the segment's index and whether it is the final
one. So a changed byte, a segment moved, swapped with another body's, dropped at the end
(truncation) or added after the final one is detected while reading, and a body of any size
is encrypted and decrypted one segment at a time.

Each stored segment also carries a checksum of its stored bytes (``segment_checksum``:
CRC-32, bound to the blob and the segment's place), written with it. ``unseal_checked``
checks a body as it is read: every segment in its place; a segment stored in clear against
its checksum (an encrypted one is authenticated by its tag, which is stronger); at the end
the clear size against the stored one. A body whose segments were stored before they had
checksums (migration 0009) is checked by the MD5 of its clear bytes instead, as before;
the MD5 costs about eight times the CRC-32, and more than sending the body.

Keys come from the ``state_keys`` setting: ``"ID:BASE64,ID:BASE64"`` (32-byte keys). The first
key encrypts; every key decrypts, so a key is rotated by putting a new one first and then
running ``signalbox state rotate-key``, which re-encrypts the stored versions under it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from signalbox.core.errors import ConfigError, StateIntegrityError, StateKeyUnknown
from signalbox.core.tfstate import SEGMENT_SIZE

__all__ = [
    "EncryptionKey",
    "Envelope",
    "Keyring",
    "SegmentSealer",
    "StoredSegment",
    "new_key_text",
    "rechunk",
    "seal",
    "seal_segment",
    "segment_checksum",
    "unseal",
    "unseal_checked",
]

_NONCE = 12
_TAG = 16
_DOMAIN = b"signalbox-tfstate-segment/1"


@dataclass(frozen=True)
class EncryptionKey:
    """One key of the ``state_keys`` setting: its id (stored with each body) and 32 bytes."""

    id: str
    secret: bytes = b""

    def __repr__(self) -> str:  # never show the secret
        return f"EncryptionKey(id={self.id!r})"


class Keyring:
    """The configured keys: the first encrypts, all decrypt. Empty: states stored in clear."""

    def __init__(self, keys: Iterable[EncryptionKey] = ()) -> None:
        self.keys = tuple(keys)
        self._by_id = {key.id: key for key in self.keys}

    @property
    def primary(self) -> EncryptionKey | None:
        return self.keys[0] if self.keys else None

    def get(self, key_id: str) -> EncryptionKey:
        try:
            return self._by_id[key_id]
        except KeyError:
            raise StateKeyUnknown(
                f"A stored state was encrypted with key {key_id!r}, which is not configured.",
                hint="Add the key back to state_keys (after the current first key).",
            ) from None

    @classmethod
    def from_setting(cls, text: str) -> Keyring:
        """Parse ``"ID:BASE64,ID:BASE64"``; raises ConfigError naming the bad entry."""
        keys: list[EncryptionKey] = []
        for entry in filter(None, (part.strip() for part in text.split(","))):
            key_id, _, encoded = entry.partition(":")
            try:
                secret = base64.b64decode(encoded.strip(), validate=True)
            except (binascii.Error, ValueError):
                secret = b""
            if not key_id.strip() or len(secret) != 32:
                raise ConfigError(
                    f"state_keys entry {key_id.strip() or '?'!r} is not ID:BASE64 of 32 bytes.",
                    hint="Create a key with `signalbox state new-key` and paste it as is.",
                )
            if key_id.strip() in {key.id for key in keys}:
                raise ConfigError(
                    f"state_keys names key {key_id.strip()!r} twice.",
                    hint="Give every key its own id.",
                )
            keys.append(EncryptionKey(key_id.strip(), secret))
        return cls(keys)


def new_key_text(key_id: str) -> str:
    """A fresh ``ID:BASE64`` entry for the state_keys setting."""
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


@dataclass(frozen=True)
class Envelope:
    """How one stored body was written: the key (None: clear) and the body's stream id."""

    key_id: str | None
    stream_id: bytes


def rechunk(chunks: Iterable[bytes], size: int = SEGMENT_SIZE) -> Iterator[bytes]:
    """The same bytes in pieces of ``size`` (the last shorter); nothing for no bytes."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


def _associated(stream_id: bytes, index: int, final: bool) -> bytes:
    return _DOMAIN + stream_id + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


def _with_final_flag(segments: Iterable[bytes]) -> Iterator[tuple[int, bytes, bool]]:
    previous: bytes | None = None
    index = 0
    for segment in segments:
        if previous is not None:
            yield index, previous, False
            index += 1
        previous = segment
    yield index, previous if previous is not None else b"", True


class SegmentSealer:
    """Seals the segments of one body, one at a time, in any thread: ``seal(index, final,
    plain)``. Without a key the segments are stored as they are (clear)."""

    def __init__(self, keyring: Keyring) -> None:
        key = keyring.primary
        self.envelope = Envelope(key.id if key else None, os.urandom(16))
        self._cipher = AESGCM(key.secret) if key else None

    def seal(self, index: int, final: bool, plain: bytes | memoryview) -> bytes | memoryview:
        if self._cipher is None:
            return plain
        return _seal_with(self._cipher, self.envelope.stream_id, index, final, plain)


def seal(keyring: Keyring, chunks: Iterable[bytes]) -> tuple[Envelope, Iterator[bytes]]:
    """Segments to store for ``chunks``: sealed under the primary key, or clear without one."""
    sealer = SegmentSealer(keyring)
    if sealer.envelope.key_id is None:
        return sealer.envelope, rechunk(chunks)

    def sealed() -> Iterator[bytes]:
        assert sealer._cipher is not None
        for index, segment, final in _with_final_flag(rechunk(chunks)):
            yield _seal_with(sealer._cipher, sealer.envelope.stream_id, index, final, segment)

    return sealer.envelope, sealed()


def _seal_with(
    cipher: AESGCM, stream_id: bytes, index: int, final: bool, plain: bytes | memoryview
) -> bytes:
    nonce = os.urandom(_NONCE)
    flag = b"\x01" if final else b"\x00"
    return flag + nonce + cipher.encrypt(nonce, plain, _associated(stream_id, index, final))


def seal_segment(
    key: EncryptionKey, stream_id: bytes, index: int, final: bool, plain: bytes
) -> bytes:
    """One segment sealed on its own (key rotation re-seals a stored body in place)."""
    return _seal_with(AESGCM(key.secret), stream_id, index, final, plain)


def unseal(keyring: Keyring, envelope: Envelope, pieces: Iterable[bytes]) -> Iterator[bytes]:
    """The body's bytes, one segment at a time; raises StateIntegrityError on any tampering."""
    if envelope.key_id is None:
        yield from pieces
        return
    cipher = AESGCM(keyring.get(envelope.key_id).secret)
    finished = False
    for index, piece in enumerate(pieces):
        if finished or len(piece) < 1 + _NONCE + _TAG:
            raise _damaged("has a segment after its end or a cut segment")
        finished = piece[:1] == b"\x01"
        nonce, sealed_segment = piece[1 : 1 + _NONCE], piece[1 + _NONCE :]
        try:
            plain = cipher.decrypt(
                nonce, sealed_segment, _associated(envelope.stream_id, index, finished)
            )
        except InvalidTag:
            raise _damaged(f"has a segment ({index}) that does not authenticate") from None
        yield plain
    if not finished:
        raise _damaged("ends before its final segment")


class StoredSegment(NamedTuple):
    """A segment as read from the database: its place, its stored bytes, and the checksum
    stored with it (None: stored before segments had checksums)."""

    seq: int
    data: bytes
    checksum: int | None


def segment_checksum(blob_id: int, seq: int, data: bytes | memoryview) -> int:
    """The checksum stored with segment ``seq`` of blob ``blob_id``: the CRC-32 of its stored
    bytes (the clear bytes, or the sealed ones), begun with the blob and the place, so a
    segment moved to another place or blob does not match either (zlib lets the GIL go)."""
    return zlib.crc32(data, zlib.crc32(blob_id.to_bytes(8, "big") + seq.to_bytes(8, "big")))


def unseal_checked(
    keyring: Keyring,
    envelope: Envelope,
    segments: Iterable[StoredSegment],
    *,
    blob_id: int,
    md5: bytes,
    size: int,
) -> Iterator[bytes]:
    """``unseal`` of stored ``segments`` (those of blob ``blob_id``), each checked as it is
    read (see the module doc), then the clear body's size compared with the stored ``size``,
    and its MD5 with the stored ``md5`` when the body's segments have no checksums;
    StateIntegrityError when anything differs. So a body stored in clear is checked
    segment by segment, and a changed byte, a moved or missing segment show before the end
    of the segment, or of the body."""
    segments = iter(segments)
    first = next(segments, None)
    by_checksum = first is not None and first.checksum is not None
    stored = itertools.chain((first,) if first is not None else (), segments)
    pieces = _in_place(stored, blob_id, verify=by_checksum and envelope.key_id is None)
    digest, seen = None if by_checksum else hashlib.md5(usedforsecurity=False), 0
    for plain in unseal(keyring, envelope, pieces):
        seen += len(plain)
        if seen > size:
            raise _damaged(f"is longer than the {size} bytes stored")
        if digest is not None:
            digest.update(plain)
        yield plain
    if seen != size:
        raise _damaged(f"is {seen} bytes, not the {size} bytes stored (a segment is missing)")
    if digest is not None and digest.digest() != md5:
        raise _damaged("does not match its stored MD5")


def _in_place(segments: Iterable[StoredSegment], blob_id: int, *, verify: bool) -> Iterator[bytes]:
    """The stored bytes of ``segments``, each one in its place (``seq`` 0, 1, ...) and, with
    ``verify``, matching its checksum (a missing checksum is damage then: the body's first
    segment has one, and every writer stores all of a body's segments with one)."""
    for index, segment in enumerate(segments):
        if segment.seq != index:
            raise _damaged(f"is missing its segment ({index})")
        if verify and segment.checksum is None:
            raise _damaged(f"has a segment ({index}) stored without its checksum")
        if verify and segment_checksum(blob_id, index, segment.data) != segment.checksum:
            raise _damaged(f"has a segment ({index}) that does not match its stored checksum")
        yield segment.data


def _damaged(what: str) -> StateIntegrityError:
    return StateIntegrityError(
        f"A stored state body {what}: it was changed or cut outside signalbox.",
        hint="Restore an earlier version with `signalbox state restore`, and check who can "
        "write to the database.",
        problem=what,
    )

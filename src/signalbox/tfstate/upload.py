"""Receiving a state body: cut into segments while its head is found.

The body is never held whole: each received piece goes into the head scanner and into a
buffer that is handed on one segment (``SEGMENT_SIZE``) at a time, to be hashed (MD5),
sealed and staged in the database while the rest streams in (``tfstate.staging``). The last
segment is marked final (an empty body is one empty final segment). ``PayloadTooLarge``
stops a body above the configured limit as soon as it is crossed.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from signalbox.core.errors import InvalidInput, PayloadTooLarge
from signalbox.core.tfstate import StateHead, StateHeadScanner
from signalbox.tfstate.crypto import SEGMENT_SIZE

__all__ = ["BodyReceiver", "BodySummary", "Segment", "decode_content_md5"]


def decode_content_md5(header: str | None) -> bytes | None:
    """The 16 bytes of a ``Content-MD5`` header (base64); None when absent."""
    if header is None or not header.strip():
        return None
    try:
        digest = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise InvalidInput(
            "The Content-MD5 header is not the base64 of an MD5 digest.",
            hint="Send base64(md5(body)), as Terraform does, or leave the header out.",
        )
    return digest


@dataclass(frozen=True, slots=True)
class Segment:
    index: int
    final: bool
    plain: bytes


@dataclass(frozen=True, slots=True)
class BodySummary:
    """What the write decision needs to know about a received body."""

    size: int
    md5: bytes
    head: StateHead | None
    segments: int


class BodyReceiver:
    """Feed the body's pieces with ``add`` (returns the segments now complete, never the
    final one); ``finish`` returns the final segment; ``summary(md5)`` describes the body
    (the MD5 is computed over the segments, in order, by whoever stores them)."""

    def __init__(self, *, limit: int, segment_size: int = SEGMENT_SIZE) -> None:
        self.limit = limit
        self.segment_size = segment_size
        self._scanner = StateHeadScanner()
        self._buffer = bytearray()
        self._size = 0
        self._index = 0

    def add(self, piece: bytes) -> list[Segment]:
        self._size += len(piece)
        if self._size > self.limit:
            raise PayloadTooLarge(
                f"The state body is larger than max_state_bytes ({self.limit} bytes).",
                hint="Raise max_state_bytes in the server's settings if the state is meant "
                "to be this large.",
            )
        self._scanner.feed(piece)
        self._buffer += piece
        ready = []
        # keep at least one byte back: the final segment is only known at the end
        while len(self._buffer) > self.segment_size:
            ready.append(Segment(self._index, False, bytes(self._buffer[: self.segment_size])))
            del self._buffer[: self.segment_size]
            self._index += 1
        return ready

    def finish(self) -> Segment:
        self._scanner.finish()
        last = Segment(self._index, True, bytes(self._buffer))
        self._buffer.clear()
        self._index += 1
        return last

    def summary(self, md5: bytes) -> BodySummary:
        return BodySummary(self._size, md5, self._scanner.head, self._index)

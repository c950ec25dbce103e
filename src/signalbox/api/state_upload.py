"""Receiving a state body: cut into segments while its head is found.

The body is never held whole: each received piece goes into the head scanner and is kept,
as it is, until a segment (``SEGMENT_SIZE``) is complete; the segment's pieces are handed on
to be joined, hashed (MD5), sealed and staged in the database by worker threads while the
rest streams in (``tfstate.staging``). The last segment is marked final (an empty body is
one empty final segment). ``PayloadTooLarge`` stops a body above the configured limit as
soon as it is crossed.
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
    """Segment ``index`` of a body, as the received pieces that make it up (all ``bytes``):
    ``plain`` joins them, the one copy of the bytes, meant for a worker thread (``bytes.join``
    releases the GIL above 1 MiB when every piece is ``bytes``)."""

    index: int
    final: bool
    pieces: tuple[bytes, ...]

    @property
    def plain(self) -> bytes:
        return self.pieces[0] if len(self.pieces) == 1 else b"".join(self.pieces)


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
        self._pending: list[bytes] = []
        self._pending_size = 0
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
        rest = bytes(piece)  # no copy for bytes (what servers hand over)
        ready = []
        # keep at least one byte back: the final segment is only known at the end
        while self._pending_size + len(rest) > self.segment_size:
            take = self.segment_size - self._pending_size
            self._pending.append(rest[:take])  # only a piece across a boundary is copied
            rest = rest[take:]
            ready.append(self._cut(final=False))
        if rest:
            self._pending.append(rest)
            self._pending_size += len(rest)
        return ready

    def finish(self) -> Segment:
        self._scanner.finish()
        return self._cut(final=True)

    def _cut(self, *, final: bool) -> Segment:
        segment = Segment(self._index, final, tuple(self._pending))
        self._pending, self._pending_size = [], 0
        self._index += 1
        return segment

    def summary(self, md5: bytes) -> BodySummary:
        return BodySummary(self._size, md5, self._scanner.head, self._index)

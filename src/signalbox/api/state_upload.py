"""Reading a state body from the request: cut into segments, and checked whole.

Each received piece is kept, as it is, until a segment (``SEGMENT_SIZE``) is complete; the
segment's pieces are handed on to be joined, hashed (MD5), sealed and staged in the database
by worker threads while the rest streams in (``services.tfstate.stage_upload``). The last
segment is marked final (an empty body is one empty final segment). ``PayloadTooLarge``
stops a body above the configured limit as soon as it is crossed.

The clear body is also copied into one buffer, so that ``reading`` can parse it whole once it
has arrived (``core.tfstate.read_whole_state_head``: one JSON object, each top-level key
once, a serial and a lineage): a cut or doubled body is refused even without Content-MD5.
That holds one copy of the body per upload in memory (Terraform itself sends it from one
buffer); the parse costs about 1 ms per MB.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator

from signalbox.core.errors import InvalidInput, PayloadTooLarge
from signalbox.core.tfstate import (
    SEGMENT_SIZE,
    HeadReading,
    Segment,
    StateHead,
    read_whole_state_head,
)

__all__ = ["BodyReceiver", "decode_content_md5"]


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


class BodyReceiver:
    """Feed the body's pieces with ``add`` (returns the segments now complete, never the
    final one); ``finish`` returns the final segment; then ``reading()`` checks the whole body
    and gives its state head or why it is not a state (``head`` is its head alone).
    ``segments`` does the first two over a request's stream."""

    def __init__(self, *, limit: int, segment_size: int = SEGMENT_SIZE) -> None:
        self.limit = limit
        self.segment_size = segment_size
        self._body = bytearray()
        self._reading: HeadReading | None = None
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
        self._body += piece
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
        return self._cut(final=True)

    def _cut(self, *, final: bool) -> Segment:
        segment = Segment(self._index, final, tuple(self._pending))
        self._pending, self._pending_size = [], 0
        self._index += 1
        return segment

    def reading(self) -> HeadReading:
        """The whole body checked (once; call after ``finish``, in a worker thread for a
        large body): its head, or what is wrong and where. The copy is let go."""
        if self._reading is None:
            self._reading = read_whole_state_head(self._body)
            self._body = bytearray()
        return self._reading

    @property
    def head(self) -> StateHead | None:
        return self.reading().head

    async def segments(self, pieces: AsyncIterator[bytes]) -> AsyncIterator[Segment]:
        """The segments of the body that ``pieces`` stream in, the final one last."""
        async for piece in pieces:
            for segment in self.add(piece):
                yield segment
        yield self.finish()

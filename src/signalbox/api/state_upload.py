"""Reading a state body from the request: into one buffer, cut into segments, checked whole.

The received pieces are copied once, into one buffer for the whole body (anonymous memory
sized by the request's ``Content-Length`` when it is given and within the limit, as
Terraform sends it; grown by doubling otherwise). Each segment (``SEGMENT_SIZE``) is
handed on, as soon as it is complete, as a view of that buffer (no copy): worker threads
hash (MD5), seal and stage it in the database while the rest streams in
(``services.tfstate.stage_upload``). The last segment is marked final (an empty body is one
empty final segment). ``PayloadTooLarge`` stops a body above the configured limit as soon
as it is crossed.

Once the body has arrived, ``reading`` parses the same buffer whole
(``core.tfstate.read_whole_state_head``: one JSON object, each top-level key once, a serial
and a lineage): a cut or doubled body is refused even without Content-MD5. That holds the
body once per upload in memory (Terraform itself sends it from one buffer), and the buffer
is let go when the reading is done; the parse costs about 0.3 ms per MB.
"""

from __future__ import annotations

import base64
import binascii
import mmap
from collections.abc import AsyncIterator

from signalbox.core.errors import InvalidInput, PayloadTooLarge
from signalbox.core.tfstate import (
    SEGMENT_SIZE,
    HeadReading,
    Segment,
    StateHead,
    read_whole_state_head,
)

__all__ = ["BodyReceiver", "announced_size", "decode_content_md5"]

_FIRST_BUFFER = 1 << 20
"""The buffer's first size when the body's size is not announced."""


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


def _buffer(size: int) -> mmap.mmap:
    """Room for ``size`` bytes that costs nothing until written (anonymous memory: no
    zero-filling pass, given back to the system as soon as the last view of it is gone)."""
    return mmap.mmap(-1, max(size, 1))


def announced_size(header: str | None) -> int | None:
    """The ``Content-Length`` of a request as a number; None when absent or not one."""
    if header is None or not header.strip().isdigit():
        return None
    return int(header.strip())


class BodyReceiver:
    """Feed the body's pieces with ``add`` (returns the segments now complete, never the
    final one); ``finish`` returns the final segment; then ``reading()`` checks the whole body
    and gives its state head or why it is not a state (``head`` is its head alone).
    ``segments`` does the first two over a request's stream. ``expected``: the size the
    request announced (``Content-Length``), to size the buffer once."""

    def __init__(
        self, *, limit: int, segment_size: int = SEGMENT_SIZE, expected: int | None = None
    ) -> None:
        self.limit = limit
        self.segment_size = segment_size
        first = expected if expected is not None and 0 <= expected <= limit else _FIRST_BUFFER
        self._buffer: mmap.mmap | None = _buffer(min(first, limit + 1))
        self._reading: HeadReading | None = None
        self._size = 0  # bytes received
        self._cut_at = 0  # where the next segment starts
        self._index = 0

    def add(self, piece: bytes) -> list[Segment]:
        end = self._size + len(piece)
        if end > self.limit:
            raise PayloadTooLarge(
                f"The state body is larger than max_state_bytes ({self.limit} bytes).",
                hint="Raise max_state_bytes in the server's settings if the state is meant "
                "to be this large.",
            )
        buffer = self._room_for(end)
        buffer[self._size : end] = piece
        self._size = end
        ready = []
        # keep at least one byte back: the final segment is only known at the end
        while self._size - self._cut_at > self.segment_size:
            ready.append(self._cut(self._cut_at + self.segment_size, final=False))
        return ready

    def _room_for(self, end: int) -> mmap.mmap:
        """The buffer, grown (copied into a new one) when ``end`` does not fit. Segments
        already handed on keep viewing the old one, which lives as long as they do."""
        buffer = self._buffer
        assert buffer is not None, "add after reading"
        if end > len(buffer):
            grown = _buffer(min(max(end, 2 * len(buffer)), self.limit))
            grown[: self._size] = memoryview(buffer)[: self._size]
            self._buffer = buffer = grown
        return buffer

    def finish(self) -> Segment:
        return self._cut(self._size, final=True)

    def _cut(self, end: int, *, final: bool) -> Segment:
        assert self._buffer is not None
        view = memoryview(self._buffer)[self._cut_at : end].toreadonly()
        segment = Segment(self._index, final, (view,))
        self._cut_at = end
        self._index += 1
        return segment

    def reading(self) -> HeadReading:
        """The whole body checked (once; call after ``finish``, in a worker thread for a
        large body): its head, or what is wrong and where. The buffer is let go."""
        if self._reading is None:
            assert self._buffer is not None
            body: mmap.mmap | bytes = self._buffer
            if len(body) != self._size:  # the size was not announced: the body alone
                body = bytes(memoryview(body)[: self._size])
            self._reading = read_whole_state_head(body)
            self._buffer = None
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

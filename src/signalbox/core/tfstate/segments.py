"""A state body travels and rests in segments: ``SEGMENT_SIZE`` bytes each, the last one
shorter (an empty body is one empty final segment), so a body of any size is received,
sealed, stored and read one segment at a time, never whole."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SEGMENT_SIZE", "Segment"]

SEGMENT_SIZE = 1 << 20


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

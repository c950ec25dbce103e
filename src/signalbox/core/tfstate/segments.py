"""A state body travels and rests in segments: ``SEGMENT_SIZE`` bytes each, the last one
shorter (an empty body is one empty final segment), so a body of any size is received,
sealed, stored and read one segment at a time, never whole."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SEGMENT_SIZE", "Segment"]

SEGMENT_SIZE = 1 << 20


@dataclass(frozen=True, slots=True)
class Segment:
    """Segment ``index`` of a body, as the received pieces that make it up (``bytes``, or
    views of the buffer the body was received into): ``plain`` joins them (no copy for one
    piece), meant for a worker thread."""

    index: int
    final: bool
    pieces: tuple[bytes | memoryview, ...]

    @property
    def plain(self) -> bytes | memoryview:
        return self.pieces[0] if len(self.pieces) == 1 else b"".join(self.pieces)

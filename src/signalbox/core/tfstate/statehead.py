"""Find a state body's top-level ``lineage`` and ``serial`` while it streams in.

Terraform writes ``version``, ``terraform_version``, ``serial`` and ``lineage`` first, so the
scanner usually stops after a few hundred bytes and never holds the body. It follows the
JSON structure (strings, nesting) so that a ``"serial"`` inside a resource is not taken for
the state's. Feed chunks with ``feed``; read ``head`` when done (None: not a state).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import msgspec

from signalbox.core.tfstate.model import StateHead

__all__ = ["StateHeadScanner", "read_state_head", "rewrite_serial"]

_TOKEN = re.compile(
    rb'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<punct>[{}\[\]:,])|(?P<scalar>[^\s{}\[\]:,"]+))'
)
_WANTED = ("lineage", "serial")
_MAX_PENDING = 8 << 20
MAX_SERIAL = 1 << 63  # stored as a 64-bit integer
MAX_LINEAGE = 128  # Terraform's lineages are UUIDs (36 characters)


class StateHeadScanner:
    """Incremental top-level key scanner; see the module doc."""

    def __init__(self) -> None:
        self._pending = b""
        self._depth = 0
        self._key: str | None = None
        self._expect_value = False
        self._found: dict[str, object] = {}
        self._failed = False
        self._offset = 0  # absolute offset of ``_pending``'s first byte
        self.serial_span: tuple[int, int] | None = None
        """Absolute [start, end) of the top-level serial's value, once seen."""

    @property
    def done(self) -> bool:
        return self._failed or len(self._found) == len(_WANTED)

    def feed(self, chunk: bytes) -> None:
        if self.done:
            return
        buffer = self._pending + chunk
        position = 0
        while not self.done:
            match = _TOKEN.match(buffer, position)
            if match is None or match.end() == len(buffer):
                break  # incomplete token (or end of chunk): wait for more
            self._take(match)
            position = match.end()
        self._pending = buffer[position:]
        self._offset += position
        if len(self._pending) > _MAX_PENDING and not self.done:
            self._failed = True  # a single token above 8 MiB before the head: give up

    def finish(self) -> None:
        """Consume what is left (the body ended)."""
        buffer, self._pending = self._pending + b" ", b""
        position = 0
        while not self.done:
            match = _TOKEN.match(buffer, position)
            if match is None:
                break
            self._take(match)
            position = match.end()

    def _take(self, match: re.Match[bytes]) -> None:
        punct, string, scalar = match.group("punct"), match.group("string"), match.group("scalar")
        if punct is not None:
            self._punct(punct)
        elif self._depth == 1 and self._expect_value:
            if self._key == "serial" and scalar is not None and self.serial_span is None:
                start = self._offset + match.start("scalar")
                self.serial_span = (start, start + len(scalar))
            self._value(string if string is not None else scalar)
        elif self._depth == 1 and string is not None:
            key = _decode(string)
            self._key = key if isinstance(key, str) else None
        elif self._depth == 0:
            self._failed = True  # a scalar or string at the top: not an object

    def _punct(self, punct: bytes) -> None:
        if punct in b"{[":
            if self._depth == 0 and punct == b"[":
                self._failed = True
            self._depth += 1
            self._expect_value = False
        elif punct in b"}]":
            self._depth -= 1
            if self._depth <= 0:
                self._failed = True  # the object ended without both fields
        elif punct == b":" and self._depth == 1:
            self._expect_value = True
        elif punct == b",":
            self._expect_value = False
            if self._depth == 1:
                self._key = None

    def _value(self, token: bytes | None) -> None:
        self._expect_value = False
        key = self._key
        if key is not None and key in _WANTED and token is not None:
            self._found[key] = _decode(token)

    @property
    def head(self) -> StateHead | None:
        lineage, serial = self._found.get("lineage"), self._found.get("serial")
        if not isinstance(lineage, str) or isinstance(serial, bool) or not isinstance(serial, int):
            return None
        if not 0 <= serial < MAX_SERIAL or not 0 < len(lineage) <= MAX_LINEAGE:
            return None
        return StateHead(lineage=lineage, serial=serial)


def _decode(token: bytes) -> object:
    try:
        return msgspec.json.decode(token)
    except msgspec.DecodeError:
        return None


def read_state_head(body: bytes) -> StateHead | None:
    """The head of a whole body (for tests and small bodies)."""
    scanner = StateHeadScanner()
    scanner.feed(body)
    scanner.finish()
    return scanner.head


def rewrite_serial(chunks: Iterable[bytes], serial: int) -> Iterator[bytes]:
    """The same body with its top-level ``serial`` set to ``serial`` (for a restore, which
    writes old content as a new version). Only the bytes up to the serial are held.

    Raises ``ValueError`` when the body has no top-level serial.
    """
    scanner = StateHeadScanner()
    held = bytearray()
    pieces = iter(chunks)
    for piece in pieces:
        held += piece
        scanner.feed(piece)
        if scanner.serial_span is not None or scanner.done:
            break
    else:
        scanner.finish()
    if scanner.serial_span is None:
        raise ValueError("the body has no top-level serial")
    start, end = scanner.serial_span
    yield bytes(held[:start]) + str(serial).encode() + bytes(held[end:])
    yield from pieces

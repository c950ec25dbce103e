"""A state body's top-level ``lineage`` and ``serial``: strictly from the whole body
(``read_whole_state_head``), or from its first bytes while it streams (``StateHeadScanner``).

``read_whole_state_head`` is the check of a write: the body must be one JSON object, nothing
after it, each top-level key once (Terraform's reader keeps the *last* of a duplicated
``serial``, a scanner the first: two readers must never see two states), with a whole-number
``serial`` and a ``lineage``. It parses with msgspec into the top-level values as raw JSON
(about 1 ms per MB) and walks the top level to find duplicated keys; what is wrong is told
with its byte position.

The scanner (used to rewrite the serial of a restored body) stops after a few hundred bytes,
as Terraform writes ``version``, ``terraform_version``, ``serial`` and ``lineage`` first, and
never holds the body. It follows the JSON structure (strings, nesting) so that a
``"serial"`` inside a resource is not taken for the state's. Feed chunks with ``feed``;
read ``head`` when done (None: not a state).
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import msgspec

from signalbox.core.tfstate.model import StateHead

__all__ = [
    "HeadReading",
    "StateHeadScanner",
    "read_state_head",
    "read_whole_state_head",
    "rewrite_serial",
]

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


@dataclass(frozen=True, slots=True)
class HeadReading:
    """What ``read_whole_state_head`` found: the head, or why the body is not a state."""

    head: StateHead | None
    problem: str = ""
    """What is wrong and where (byte position), e.g. ``it ends at byte 812, inside its
    JSON (cut short?)``; empty when ``head`` is set."""


_TOP_LEVEL = msgspec.json.Decoder(dict[str, msgspec.Raw])
_OPEN = re.compile(rb"[ \t\r\n]*\{[ \t\r\n]*")
_KEY = re.compile(rb'"(?:[^"\\]|\\.)*"[ \t\r\n]*:[ \t\r\n]*')
_TRAILING = re.compile(r"^trailing characters \(byte (\d+)\)")
_NEXT = re.compile(rb"[ \t\r\n]*([,}])[ \t\r\n]*")


Body = bytes | bytearray | mmap.mmap
"""A whole body in memory (the API receives it into anonymous memory, ``mmap.mmap``)."""


def read_whole_state_head(body: Body) -> HeadReading:
    """The head of the whole ``body``, checked strictly (see the module doc)."""
    try:
        values = _TOP_LEVEL.decode(body)
    except msgspec.ValidationError:
        return HeadReading(None, "it is JSON but not a JSON object")
    except msgspec.DecodeError as error:
        return HeadReading(None, _malformed(str(error), len(body)))
    duplicate = _duplicated_key(body, values)
    if duplicate:
        return HeadReading(None, duplicate)
    return _head_of(values)


def _malformed(message: str, size: int) -> str:
    if "truncated" in message:
        return f"it ends at byte {size}, inside its JSON (cut short?)"
    detail = message.removeprefix("JSON is malformed: ")
    trailing = _TRAILING.search(detail)
    if trailing is not None:  # msgspec counts the first trailing byte from 1
        return f"it has more after its JSON object, from byte {int(trailing.group(1)) - 1}"
    return f"it is not valid JSON: {detail}"


def _has_at(body: Body, value: msgspec.Raw, position: int) -> bool:
    """``body`` holds ``value`` from ``position`` (compared at memory speed)."""
    if isinstance(body, mmap.mmap):
        return body.find(value, position, position + len(value)) == position
    return body.startswith(value, position)


def _duplicated_key(body: Body, values: dict[str, msgspec.Raw]) -> str:
    """Why ``body`` has a top-level key twice, or "". ``values`` holds each key's *last*
    value (msgspec's dict keeps the last), so walking the top level by those values finds
    either a key seen before or a value that is not the last one: both are duplicates."""
    opened = _OPEN.match(body)
    assert opened is not None, "a decoded object starts with {"
    position, seen = opened.end(), set()
    while body[position : position + 1] != b"}":
        key_match = _KEY.match(body, position)
        assert key_match is not None, "a decoded object has a key here"
        key = msgspec.json.decode(key_match.group().rstrip(b" \t\r\n:"), type=str)
        raw = values[key]
        if key in seen or not _has_at(body, raw, key_match.end()):
            return f"its top-level key {key!r} appears more than once (at byte {position})"
        seen.add(key)
        after = _NEXT.match(body, key_match.end() + len(raw))
        if after is None:  # a prefix of the last value: this one is another
            return f"its top-level key {key!r} appears more than once (at byte {position})"
        if after.group(1) == b"}":
            break
        position = after.end()
    return ""


def _head_of(values: dict[str, msgspec.Raw]) -> HeadReading:
    serial, lineage = values.get("serial"), values.get("lineage")
    if serial is None or lineage is None:
        missing = " and ".join(k for k in ("serial", "lineage") if values.get(k) is None)
        return HeadReading(None, f"it has no top-level {missing}")
    try:
        number = msgspec.json.decode(serial, type=int)
    except msgspec.ValidationError:
        number = -1
    if not 0 <= number < MAX_SERIAL:
        return HeadReading(None, f"its serial is not a whole number from 0 to {MAX_SERIAL - 1}")
    try:
        name = msgspec.json.decode(lineage, type=str)
    except msgspec.ValidationError:
        name = ""
    if not 0 < len(name) <= MAX_LINEAGE:
        return HeadReading(None, f"its lineage is not a string of 1 to {MAX_LINEAGE} characters")
    return HeadReading(StateHead(lineage=name, serial=number))


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

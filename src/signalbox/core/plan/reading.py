"""Reading plan bytes into :class:`~signalbox.core.plan.model.Plan` values.

Real CI hands us more than one clean JSON document: PowerShell writes UTF-16 with a byte-order
mark, the GitHub setup-terraform wrapper prints ``[command]...`` and ``::debug::...`` lines
around the JSON, terragrunt prints its log lines, and ``terragrunt run-all show -json`` writes
one document per module. This module turns all of that into one :class:`Plan` per JSON
document, or raises a :class:`~signalbox.core.errors.PlanError` whose message says where and
why.

It reads closed: text around the documents is skipped only when each of its lines is
recognisably noise (:data:`NOISE_LINE`), and after a document the rest of its line must be
blank (or another document). Anything else stops the check with its position: a stray ``}``
that ends a plan early must not leave the rest of the plan unread.

Positions in messages are ``file:line:column`` (line and column in characters) and a byte
offset in the file as given (for UTF-16 input, bytes of the UTF-16 file, byte-order mark
included). Messages never quote the input's bytes: only JSON punctuation, key names and
printable text are shown, shortened, with control characters escaped.

Speed: the common input (one document, nothing around it) costs one typed ``msgspec`` decode
and one sha256; attribute values are not decoded at all here. (Pausing the cyclic garbage
collector, which dominates big plans, is a process-wide choice left to the caller: see
``signalbox.cli.collector``.)
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

import msgspec

from signalbox.core.errors import PlanNotJson, PlanUnreadable
from signalbox.core.plan.model import Plan
from signalbox.core.plan.schema import (
    HINT_SHOW,
    NOT_UTF8,
    PlanDocument,
    decode_document,
    to_plan,
    too_deep,
)

__all__ = ["NOISE_LINE", "read_plans"]

_SKIP_DECODER = msgspec.json.Decoder(msgspec.Raw)
_ZIP_MAGIC = b"PK\x03\x04"
_GZIP_MAGIC = b"\x1f\x8b"
_WHITESPACE = b" \t\r\n"
_LINE_BLANKS = b" \t\r"
_HINT_AGAIN = (
    "Write the plan again with `terraform show -json PLANFILE > plan.json`; a copy that stopped "
    "early or was edited by hand cannot be checked."
)
_HINT_LINES = (
    "Give signalbox only the output of `terraform show -json PLANFILE`: besides the JSON it "
    "skips only the setup-terraform wrapper's lines, GitHub workflow commands and terragrunt's "
    "log lines, since other text cannot be told apart from a damaged plan."
)
_DOCUMENT_AHEAD = re.compile(rb"(?m)^[ \t\r]*\{")
_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")
NOISE_LINE = re.compile(
    rb"\[command\]"  # the setup-terraform wrapper's echo of the command it runs
    rb"|::"  # GitHub workflow commands: ::debug::, ::set-output name=..::, ::group::, ::error
    rb"|\[terragrunt\]"  # terragrunt before 0.19: [terragrunt] 2021/05/12 10:00:00 ...
    rb"|(?:INFO|WARN|ERRO|DEBU|TRAC|FATA|PANI)\[\d+\]"  # terragrunt's logrus: INFO[0000] ...
    rb'|time=(?:"[^"\n]*"|\S+) level=\w'  # terragrunt's key=value logs
    rb"|\d\d:\d\d:\d\d\.\d{3} +(?:TRACE|DEBUG|INFO|WARN|ERROR|STDOUT|STDERR)\b"  # terragrunt 0.67+
)
"""A line of text around plan JSON that may be skipped: it is matched at the line's start
(after any ANSI colour codes). Every other line that is not a JSON document stops the check."""
_WORKFLOW_COMMAND = re.compile(rb"[ \t]*(?:::|\[command\])")
"""The wrapper's lines, which may carry copies of the plan it also prints on its own."""


def read_plans(data: bytes, *, source: str = "<plan>") -> list[Plan]:
    """Read every plan document in ``data`` (file or stdin bytes), one :class:`Plan` each.

    Raises :class:`PlanNotJson` for a binary plan file (a zip), :class:`PlanUnreadable` for
    anything that is not plan JSON, or plan JSON with text around it that is not recognisably
    noise (with the line, column and byte of the problem), and :class:`PlanFormatUnsupported`
    for ``format_version`` 2.0 or later.
    """
    if data.startswith(_ZIP_MAGIC):
        raise PlanNotJson(
            f"{source} is a binary plan file (from `terraform plan -out`), not JSON.",
            hint=f"Run `terraform show -json {_shell_name(source)} > plan.json` and check "
            "plan.json (or `tofu show -json` for OpenTofu).",
            source=source,
        )
    if data.startswith(_GZIP_MAGIC):
        raise PlanUnreadable(
            f"{source} is gzip-compressed, not plan JSON: gunzip it first.",
            hint=f"Run `gunzip -c {_shell_name(source)} > plan.json` and check plan.json.",
            source=source,
        )
    text, encoding = _utf8(data, source)
    single = _single_document(text, source)
    if single is not None:
        return [single]
    reader = _Reader(text, encoding, source)
    spans = list(reader.document_spans())
    return [
        _read_document(reader, start, end, index=position)
        for position, (start, end) in enumerate(spans)
    ]


def _single_document(text: bytes, source: str) -> Plan | None:
    """The fast path: the whole input is one JSON object (what `terraform show -json` writes).

    Returns None when it is not (noise, several documents, malformed): the caller then looks
    for documents line by line and reports a malformed one with its position.
    """
    start = _skip_whitespace(text, 0)
    end = len(text)
    while end > start and text[end - 1] in _WHITESPACE:
        end -= 1
    if start >= end or text[start] != ord("{") or text[end - 1] != ord("}"):
        return None
    if not text.isascii() and _first_not_utf8(text) is not None:
        return None
    body = memoryview(text)[start:end]
    try:
        document = decode_document(body, source=source, where=source)
    except msgspec.DecodeError:
        return None
    return _to_plan(document, body, source=source, where=source, index=0)


def _shell_name(source: str) -> str:
    return source if source and not source.startswith("<") else "PLANFILE"


@dataclass(frozen=True, slots=True)
class _Encoding:
    """How the file's bytes became the UTF-8 text read here, to give positions in the file."""

    bom: int = 0  # bytes of byte-order mark removed
    utf16: bool = False

    def file_offset(self, text: bytes, offset: int) -> int:
        """The byte in the file that ``offset`` in the UTF-8 text came from."""
        if not self.utf16:
            return self.bom + offset
        characters = text[:offset].decode("utf-8", "replace")
        return self.bom + len(characters.encode("utf-16-le", "surrogatepass"))


def _utf8(data: bytes, source: str) -> tuple[bytes, _Encoding]:
    """The input as UTF-8 bytes (byte-order marks removed, UTF-16 converted), and how."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:], _Encoding(bom=3)
    encoding, bom = None, 0
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding, bom = "utf-16", 2
    elif len(data) >= 2 and data[0] != 0 and data[1] == 0:
        encoding = "utf-16-le"
    elif len(data) >= 2 and data[0] == 0 and data[1] != 0:
        encoding = "utf-16-be"
    if encoding is None:
        return data, _Encoding()
    try:
        return data.decode(encoding).encode("utf-8", "surrogatepass"), _Encoding(bom, True)
    except UnicodeDecodeError as error:
        raise PlanUnreadable(
            f"{source} looks like UTF-16 text but cannot be decoded ({error.reason} at byte "
            f"{error.start}).",
            hint="Save the plan as UTF-8: `terraform show -json PLANFILE | Out-File -Encoding "
            "utf8 plan.json` in PowerShell.",
            source=source,
            offset=error.start,
        ) from None


def _skip_whitespace(text: bytes, position: int) -> int:
    length = len(text)
    while position < length and text[position] in _WHITESPACE:
        position += 1
    return position


class _Reader:
    """Finds the JSON documents in a text with several (or with text around one), closed:
    every line outside a document must be blank or :data:`NOISE_LINE`."""

    def __init__(self, text: bytes, encoding: _Encoding, source: str) -> None:
        self.text = text
        self.view = memoryview(text)
        self.encoding = encoding
        self.source = source

    def document_spans(self) -> Iterator[tuple[int, int]]:
        """(start, end) of each JSON document, in order."""
        text = self.text
        length = len(text)
        previous: tuple[int, int] | None = None
        position = _skip_whitespace(text, 0)
        while position < length:
            first = text[position]
            if first != ord("{") and self._is_noise(position):
                newline = text.find(b"\n", position)
                self._check_no_plan_inside(position, length if newline < 0 else newline)
                position = length if newline < 0 else _skip_whitespace(text, newline + 1)
                continue
            end = self._document_end(position, previous) if first in b"{[" else None
            if end is None:
                raise self._unexpected(position, previous)
            previous = (position, end)
            yield previous
            position = end
            while position < length and text[position] in _LINE_BLANKS:
                position += 1
            if position < length and text[position] not in b"\n{":
                raise self._unexpected(position, previous, same_line=True)
            position = _skip_whitespace(text, position)
        if previous is None:
            raise PlanUnreadable(
                f"{self.source} contains no JSON document{_what_it_holds(text)}.",
                hint=HINT_SHOW,
                source=self.source,
            )

    def _check_no_plan_inside(self, start: int, end: int) -> None:
        """A skipped log line must not hold a plan of its own: terragrunt can prefix
        Terraform's output (``10:00:02.315 STDOUT [prod] terraform: {...}``), and skipping
        that line would drop a plan in silence. Workflow commands (``::debug::``,
        ``::set-output``) are exempt: the setup-terraform wrapper copies the plan it also
        prints on its own lines into them."""
        line = self.text[start:end]
        if b'"format_version"' not in line or _WORKFLOW_COMMAND.match(_ANSI.sub(b"", line)):
            return
        number, column, byte = self.where(start)
        raise PlanUnreadable(
            f"{self.source}:{number}:{column}: line {number} (byte {byte}) is a log line that "
            "holds a plan after its prefix; signalbox skips log lines, so that plan would go "
            "unread.",
            hint="Give signalbox the plan JSON on lines of its own: run `terraform show -json "
            "PLANFILE` in each module (or have terragrunt forward Terraform's output as is), "
            "and check those files.",
            source=self.source,
            line=number,
            column=column,
            offset=byte,
        )

    def _is_noise(self, position: int) -> bool:
        head = self.text[position : position + 256]
        if head.startswith(b"\x1b"):
            head = _ANSI.sub(b"", head).lstrip(b" \t")
        return NOISE_LINE.match(head) is not None

    def _document_end(self, start: int, previous: tuple[int, int] | None) -> int | None:
        """Where the JSON value at ``start`` ends; None for a ``[`` line that is not JSON.

        A ``{`` must start a complete document: an error says where it breaks.
        """
        try:
            _SKIP_DECODER.decode(self.view[start:])
        except RecursionError:
            raise too_deep(self.source) from None
        except msgspec.DecodeError as error:
            message = str(error)
            if "trailing characters" in message:
                # msgspec reports one past the first trailing character; the document ends at
                # the last non-whitespace byte before it
                end = start + _byte_offset(message) - 1
                while end > start and self.text[end - 1] in _WHITESPACE:
                    end -= 1
                return end
            if self.text[start] != ord("{"):
                return None
            offset = start + _byte_offset(message) if "(byte" in message else len(self.text)
            raise self.malformed(offset, message) from None
        return len(self.text)

    # ---------------------------------------------------------------- positions and messages

    def where(self, offset: int) -> tuple[int, int, int]:
        """(line, column, byte in the file) of ``offset`` in the text."""
        line, column = _line_column(self.text, offset)
        return line, column, self.encoding.file_offset(self.text, offset)

    def malformed(self, offset: int, message: str) -> PlanUnreadable:
        line, column, byte = self.where(offset)
        detail = message.replace("JSON is malformed: ", "").split(" (byte")[0]
        if "truncated" in message:
            detail = "the JSON ends before the document is complete (the file is truncated)"
        found = ""
        if "truncated" not in message:
            found = f"; found {_describe(self.text, offset, in_json=True)}"
        return PlanUnreadable(
            f"{self.source}:{line}:{column}: not valid JSON: {detail} (byte {byte}){found}.",
            hint=_HINT_AGAIN,
            source=self.source,
            line=line,
            column=column,
            offset=byte,
        )

    def _unexpected(
        self, offset: int, previous: tuple[int, int] | None, *, same_line: bool = False
    ) -> PlanUnreadable:
        """Text that is neither a document nor noise, at ``offset``."""
        line, column, byte = self.where(offset)
        found = _describe(self.text, offset, in_json=same_line)
        if previous is None and _DOCUMENT_AHEAD.search(self.text, offset) is None:
            return PlanUnreadable(
                f"{self.source} contains no JSON document{_what_it_holds(self.text)}.",
                hint=HINT_SHOW,
                source=self.source,
            )
        if previous is None:
            message = (
                f"{self.source}:{line}:{column}: line {line} holds {found} (byte {byte}), which "
                "is neither plan JSON nor a line signalbox knows to skip (the setup-terraform "
                "wrapper's [command] and ::debug:: lines, terragrunt's log lines)."
            )
            hint = _HINT_LINES
        else:
            start, end = previous
            first_line = _line_column(self.text, start)[0]
            end_line, end_column, end_byte = self.where(end - 1)
            goes_on = "the line goes on with" if same_line else f"line {line} holds"
            message = (
                f"{self.source}:{line}:{column}: the JSON document that starts at line "
                f"{first_line} ends at line {end_line}, column {end_column} (byte {end_byte}), "
                f"but {goes_on} {found} (byte {byte}), which is neither another JSON document "
                f"nor a line signalbox knows to skip: {self._why(end, offset)}."
            )
            hint = _HINT_AGAIN if same_line or self._looks_like_json(offset) else _HINT_LINES
        return PlanUnreadable(
            message, hint=hint, source=self.source, line=line, column=column, offset=byte
        )

    def _looks_like_json(self, offset: int) -> bool:
        return self.text[offset] in b',}]:"'

    def _why(self, end: int, offset: int) -> str:
        if self.text[end - 1] == ord("}") and self._looks_like_json(offset):
            return "a stray `}` closes the plan early, or the file was edited"
        return "text was added after the plan, or the file was edited"


def _byte_offset(message: str) -> int:
    return int(message.rsplit("(byte ", 1)[1].rstrip(")"))


def _line_column(text: bytes, offset: int) -> tuple[int, int]:
    """Line and column (in characters, from 1) of a byte offset in UTF-8 text."""
    offset = min(offset, len(text))
    line_start = text.rfind(b"\n", 0, offset) + 1
    line = text.count(b"\n", 0, offset) + 1
    return line, len(text[line_start:offset].decode("utf-8", "replace")) + 1


_KEY = re.compile(rb'"([A-Za-z0-9_.\-]{1,64})"[ \t]*:')
_SHOWN = 40
_FIRST_WORD = re.compile(rb'[^\s=:"]*')


def _describe(text: bytes, offset: int, *, in_json: bool = False) -> str:
    """What is at ``offset``, in words or as a short quote that cannot hold a plan's values:
    JSON punctuation, a key name, or (outside a document, ``in_json`` false) the start of a
    line of printable text."""
    if offset >= len(text):
        return "the end of the text"
    byte = text[offset]
    if byte == 0:
        return "a NUL byte (binary data, not text)"
    if (byte < 0x20 and byte not in b"\t\r\n") or byte == 0x7F:
        return f"the control character 0x{byte:02x} (binary data, not text)"
    if byte >= 0x80:
        try:
            character = text[offset : offset + 4].decode("utf-8", "strict")[:1]
        except UnicodeDecodeError as error:
            character = text[offset : offset + error.start].decode("utf-8")[:1]
        if not character:
            return "bytes that are not UTF-8 text (binary data, not text)"
        return f"the character U+{ord(character):04X}"
    punctuation = b""
    position = offset
    while position < len(text) and text[position] in b",:{}[] \t\r\n" and len(punctuation) < 80:
        punctuation += text[position : position + 1]
        position += 1
    key = _KEY.match(text, position)
    if punctuation.strip() or key:
        marks = " ".join(punctuation.decode().split())[:8]
        shown = marks + (f' "{key.group(1).decode()}": ...' if key else "")
        return f"`{shown.strip()}`"
    if byte == ord('"'):
        return "a JSON string"
    if byte in b"-0123456789":
        return "a number"
    if in_json:  # inside a document, a word may be a value that lost its quote: never shown
        return "text without quotes"
    end = text.find(b"\n", offset)
    line = text[offset : end if end >= 0 else len(text)]
    # only the first word: the rest of a line around a plan may be a secret (`set -x`
    # traces, `KEY=value` lines), and the word is enough to recognise the line
    word = _FIRST_WORD.match(line)
    first = word.group(0) if word else b""
    return f"`{_printable(first)}...`" if len(first) < len(line) else f"`{_printable(first)}`"


def _printable(line: bytes) -> str:
    """``line`` shortened to :data:`_SHOWN` characters, every byte that is not printable ASCII
    written as an escape."""
    shown = "".join(chr(b) if 0x20 <= b <= 0x7E else f"\\x{b:02x}" for b in line[:_SHOWN]).rstrip()
    return shown + ("..." if len(line) > _SHOWN else "")


def _what_it_holds(text: bytes) -> str:
    """A few words on a text in which no JSON document was found."""
    stripped = text.strip()
    if not stripped:
        return ": it is empty"
    sample = stripped[:4096]
    if b"\x00" in sample or _binary(sample):
        return ": it holds binary data, not text"
    return f" (it starts with {_describe(stripped, 0)})"


def _binary(sample: bytes) -> bool:
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(sample) - 3:  # not just a character cut at the sample's end
            return True
    controls = sum(1 for b in sample if b < 0x20 and b not in b"\t\r\n\x1b")
    return controls * 20 > len(sample)


def _read_document(reader: _Reader, start: int, end: int, *, index: int) -> Plan:
    source = reader.source
    where = source if index == 0 else f"{source} (document {index + 1})"
    body = reader.view[start:end]
    span = reader.text[start:end]
    if not span.isascii():
        bad = _first_not_utf8(span)
        if bad is not None:
            raise reader.malformed(start + bad, NOT_UTF8)
    try:
        document = decode_document(body, source=source, where=where)
    except msgspec.DecodeError as error:  # pragma: no cover - the span is UTF-8 JSON
        raise reader.malformed(start, str(error)) from None
    return _to_plan(document, body, source=source, where=where, index=index)


_CHUNK = 1 << 18


def _first_not_utf8(text: bytes) -> int | None:
    """The offset of the first byte that is not UTF-8, or None. JSON must be UTF-8, and the
    decoder skips values (``before``, ``after``) without looking at their bytes: a damaged
    byte in a key there would escape as a crash. Chunked, so a big plan is not copied."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(text)
    try:
        for start in range(0, len(text), _CHUNK):
            decoder.decode(view[start : start + _CHUNK], final=start + _CHUNK >= len(text))
    except UnicodeDecodeError:
        try:
            text.decode("utf-8")
        except UnicodeDecodeError as error:
            return error.start
    return None


def _to_plan(
    document: PlanDocument, body: memoryview, *, source: str, where: str, index: int
) -> Plan:
    empty = len(body) < 64 and bytes(body).translate(None, _WHITESPACE) == b"{}"
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    return to_plan(document, source=source, where=where, index=index, digest=digest, empty=empty)

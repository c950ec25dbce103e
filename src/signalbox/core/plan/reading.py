"""Reading plan bytes into :class:`~signalbox.core.plan.model.Plan` values.

Real CI hands us more than one clean JSON document: PowerShell writes UTF-16 with a byte-order
mark, the GitHub setup-terraform wrapper prints ``[command]...`` and ``::debug::...`` lines
around the JSON, and ``terragrunt run-all show -json`` writes one document per module. This
module turns all of that into one :class:`Plan` per JSON document, or raises a
:class:`~signalbox.core.errors.PlanError` whose message says where and why.

Speed: the common input (one document, nothing around it) costs one typed ``msgspec`` decode
and one sha256; attribute values are not decoded at all here. (Pausing the cyclic garbage
collector, which dominates big plans, is a process-wide choice left to the caller: see
``signalbox.cli.collector``.)
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

import msgspec

from signalbox.core.errors import PlanNotJson, PlanUnreadable
from signalbox.core.plan.model import Plan
from signalbox.core.plan.schema import PlanDocument, to_plan

__all__ = ["read_plans"]

_PLAN_DECODER = msgspec.json.Decoder(PlanDocument)
_SKIP_DECODER = msgspec.json.Decoder(msgspec.Raw)
_ZIP_MAGIC = b"PK\x03\x04"
_WHITESPACE = b" \t\r\n"
_HINT_SHOW = (
    "Give signalbox the output of `terraform show -json PLANFILE` (or `tofu show -json PLANFILE`)."
)


def read_plans(data: bytes, *, source: str = "<plan>") -> list[Plan]:
    """Read every plan document in ``data`` (file or stdin bytes), one :class:`Plan` each.

    Raises :class:`PlanNotJson` for a binary plan file (a zip), :class:`PlanUnreadable` for
    anything that is not plan JSON (with the line and column of the problem), and
    :class:`PlanFormatUnsupported` for ``format_version`` 2.0 or later.
    """
    if data.startswith(_ZIP_MAGIC):
        raise PlanNotJson(
            f"{source} is a binary plan file (from `terraform plan -out`), not JSON.",
            hint=f"Run `terraform show -json {_shell_name(source)} > plan.json` and check "
            "plan.json (or `tofu show -json` for OpenTofu).",
            source=source,
        )
    text = _utf8(data, source)
    single = _single_document(text, source)
    if single is not None:
        return [single]
    spans = list(_document_spans(text, source))
    if not spans:
        raise PlanUnreadable(
            f"{source} contains no JSON document{_what_it_holds(text)}.", hint=_HINT_SHOW
        )
    return [
        _read_document(text, start, end, source=source, index=position)
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
    body = memoryview(text)[start:end]
    try:
        document, digest = _decode(body, source, source)
    except msgspec.DecodeError:
        return None
    return _to_plan(document, body, digest, source=source, where=source, index=0)


def _shell_name(source: str) -> str:
    return source if source and not source.startswith("<") else "PLANFILE"


def _utf8(data: bytes, source: str) -> bytes:
    """The input as UTF-8 bytes: byte-order marks removed, UTF-16 converted."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:]
    encoding = None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif len(data) >= 2 and data[0] != 0 and data[1] == 0:
        encoding = "utf-16-le"
    elif len(data) >= 2 and data[0] == 0 and data[1] != 0:
        encoding = "utf-16-be"
    if encoding is None:
        return data
    try:
        return data.decode(encoding).encode("utf-8")
    except UnicodeDecodeError as error:
        raise PlanUnreadable(
            f"{source} looks like UTF-16 text but cannot be decoded ({error.reason} at byte "
            f"{error.start}).",
            hint="Save the plan as UTF-8: `terraform show -json PLANFILE | Out-File -Encoding "
            "utf8 plan.json` in PowerShell.",
            source=source,
        ) from None


def _document_spans(text: bytes, source: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each JSON document; lines that are not JSON (wrapper noise) are skipped.

    A line that starts with ``{`` must hold a complete document (an error says where it breaks);
    a line starting with ``[`` is a document only if it parses (``[command]...`` is noise).
    """
    view = memoryview(text)
    position = _skip_whitespace(text, 0)
    while position < len(text):
        first = text[position]
        if first in b"{[":
            end = _document_end(view, position, source, required=first == ord("{"))
            if end is not None:
                yield position, end
                position = _skip_whitespace(text, end)
                continue
        newline = text.find(b"\n", position)
        position = len(text) if newline < 0 else _skip_whitespace(text, newline + 1)


def _skip_whitespace(text: bytes, position: int) -> int:
    length = len(text)
    while position < length and text[position] in _WHITESPACE:
        position += 1
    return position


def _document_end(view: memoryview, start: int, source: str, *, required: bool) -> int | None:
    try:
        _SKIP_DECODER.decode(view[start:])
    except RecursionError:
        raise _too_deep(source) from None
    except msgspec.DecodeError as error:
        message = str(error)
        if "trailing characters" in message:
            # msgspec reports one past the first trailing character; the document ends at the
            # last non-whitespace byte before it
            end = start + _byte_offset(message) - 1
            while end > start and view[end - 1] in _WHITESPACE:
                end -= 1
            return end
        if not required:
            return None
        offset = start + _byte_offset(message) if "(byte" in message else len(view)
        raise _malformed(view.obj, offset, message, source) from None
    return len(view)


def _too_deep(source: str) -> PlanUnreadable:
    return PlanUnreadable(
        f"{source} nests JSON arrays or objects too deeply to be a Terraform plan.",
        hint=_HINT_SHOW,
        source=source,
    )


def _byte_offset(message: str) -> int:
    return int(message.rsplit("(byte ", 1)[1].rstrip(")"))


def _malformed(text: Any, offset: int, message: str, source: str) -> PlanUnreadable:
    line, column = _line_column(bytes(text), offset)
    detail = message.replace("JSON is malformed: ", "").split(" (byte")[0]
    if "truncated" in message:
        detail = "the JSON ends before the document is complete (the file is truncated)"
    return PlanUnreadable(
        f"{source}:{line}:{column}: not valid JSON: {detail} (byte {offset}).",
        hint="Write the plan again with `terraform show -json PLANFILE > plan.json`; "
        "a copy that stopped early or was edited by hand cannot be checked.",
        source=source,
        line=line,
        column=column,
        offset=offset,
    )


def _line_column(text: bytes, offset: int) -> tuple[int, int]:
    offset = min(offset, len(text))
    line = text.count(b"\n", 0, offset) + 1
    column = offset - (text.rfind(b"\n", 0, offset) + 1) + 1
    return line, column


def _what_it_holds(text: bytes) -> str:
    stripped = text.strip()
    if not stripped:
        return ": it is empty"
    first_line = stripped.split(b"\n", 1)[0][:60].decode("utf-8", "replace")
    return f" (it starts with {first_line!r})"


def _read_document(text: bytes, start: int, end: int, *, source: str, index: int) -> Plan:
    where = source if index == 0 else f"{source} (document {index + 1})"
    body = memoryview(text)[start:end]
    try:
        document, digest = _decode(body, source, where)
    except msgspec.DecodeError as error:  # pragma: no cover - spans were checked as JSON
        raise _malformed(text, start, str(error), source) from None
    return _to_plan(document, body, digest, source=source, where=where, index=index)


def _decode(body: memoryview, source: str, where: str) -> tuple[PlanDocument, str]:
    """The typed decode and the document's digest."""
    try:
        document = _PLAN_DECODER.decode(body)
    except RecursionError:
        raise _too_deep(source) from None
    except msgspec.ValidationError as error:
        raise PlanUnreadable(
            f"{where} is not a Terraform plan: {_validation_detail(str(error))}.",
            hint=_HINT_SHOW,
            source=source,
        ) from None
    return document, _digest(body)


def _digest(body: memoryview) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _validation_detail(message: str) -> str:
    top_level = re.fullmatch(r"Expected `object`, got `(\w+)`", message)
    if top_level:
        kind = {"array": "a JSON array", "str": "a JSON string", "null": "JSON null"}.get(
            top_level.group(1), f"a JSON {top_level.group(1)}"
        )
        return f"it is {kind}, not an object"
    return message.replace("Expected", "expected", 1)


def _to_plan(
    document: PlanDocument, body: memoryview, digest: str, *, source: str, where: str, index: int
) -> Plan:
    empty = len(body) < 64 and bytes(body).translate(None, _WHITESPACE) == b"{}"
    return to_plan(document, source=source, where=where, index=index, digest=digest, empty=empty)

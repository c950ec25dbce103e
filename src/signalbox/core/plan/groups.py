"""Findings grouped for a reader: one explanation for many addresses.

A plan that destroys twelve ``aws_instance.worker[N]`` for the same reason says so once,
with the twelve addresses under it, instead of twelve near-identical sentences. The deploy
page (``web/routes/deploys.py``) shows a stored analysis (``signalbox.check/1``:
``plans[].findings[]``, each with ``id``, ``severity``, ``verdict``, ``address``,
``message``, ``hint`` and perhaps ``related`` and ``moved_block``) this way.

Findings are grouped by (finding id, resource type, cause): the cause is the finding's
message and hint with its own addresses masked, so ``worker[2] is destroyed because its
count index is no longer in range`` and the same words for ``worker[10]`` are one group,
while a destroy for another reason is another. Groups come most severe first (then the
stricter verdict, the bigger group, then by id, type and cause); addresses in each group in
natural order (``worker[2]`` before ``worker[10]``).

Each group also carries a ``summary``: its cause in a few words for a one-line overview
(``is destroyed because its configuration was removed.``: the sentence up to its first
colon, what follows being the paragraph's to tell, and the group's addresses left out), and
:func:`compact_addresses` writes a run of count indexes as one range (``worker[0..11]``).
Grouping is linear in the findings (plus the sort of each group's addresses).

Pure: mappings in (as stored, so a finding from an older analysis with a key missing is
still shown), values out; never attribute values (the analysis has none).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from signalbox.core.plan.findings import Severity, Verdict

__all__ = [
    "SHOWN_ADDRESSES",
    "FindingGroup",
    "GroupedItem",
    "compact_addresses",
    "group_findings",
    "natural_key",
    "resource_type",
]

SHOWN_ADDRESSES = 8
"""How many addresses a group lists before "and K more"."""

_ADDRESS = "\x00address\x00"
_RELATED = "\x00related\x00"
_DIGITS = re.compile(r"(\d+)")
# "X (aws_s3_bucket) is created ...": a summary line shows the type already
_TYPE_AFTER_ADDRESS = re.compile(r"^\([a-z0-9_]+\) ")
_COUNT_INDEX = re.compile(r"^(.*)\[(0|[1-9]\d*)\]$", re.S)
RANGE_FROM = 3
"""A run of at least this many consecutive count indexes is written as one range."""


def natural_key(address: str) -> tuple[tuple[Any, ...], str]:
    """Sort key putting ``worker[2]`` before ``worker[10]``: runs of digits compare as
    numbers, the rest as text; ties (``[01]`` and ``[1]``) are broken by the text itself,
    so the order is total."""
    parts: list[Any] = _DIGITS.split(address)  # text, digits, text, digits, ..., text
    parts[1::2] = map(int, parts[1::2])
    return tuple(parts), address


def compact_addresses(addresses: Iterable[str]) -> list[tuple[str, int]]:
    """Addresses (in natural order) as entries to list, each with how many addresses it
    stands for: a run of ``RANGE_FROM`` or more consecutive count indexes of one resource
    is one entry ``aws_instance.worker[0..11]`` (exact: every index of the range is there,
    no other); anything else is listed as is."""
    entries: list[tuple[str, int]] = []
    run: list[str] = []
    prefix, first, last = "", 0, -2

    def close() -> None:
        if len(run) >= RANGE_FROM:
            entries.append((f"{prefix}[{first}..{last}]", len(run)))
        else:
            entries.extend((address, 1) for address in run)
        run.clear()

    for address in addresses:
        match = _COUNT_INDEX.match(address)
        if match and match.group(1) == prefix and int(match.group(2)) == last + 1 and run:
            run.append(address)
            last += 1
            continue
        close()
        if match:
            prefix, first = match.group(1), int(match.group(2))
            last = first
            run.append(address)
        else:
            entries.append((address, 1))
    close()
    return entries


def _segments(address: str) -> list[str]:
    """``module.a["x.y"].aws_s3_bucket.b[0]`` -> ``module``, ``a["x.y"]``, ``aws_s3_bucket``,
    ``b[0]``: split at the dots that are not inside an index key."""
    found, current, depth, quoted, escaped = [], "", 0, False, False
    for char in address:
        if quoted:
            current += char
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
            continue
        if char == '"':
            quoted = True
        elif char == "[":
            depth += 1
        elif char == "]":
            depth = max(0, depth - 1)
        elif char == "." and depth == 0:
            found.append(current)
            current = ""
            continue
        current += char
    found.append(current)
    return found


def resource_type(address: str) -> str:
    """The resource type of an instance address (``module.a.aws_instance.web[2]`` ->
    ``aws_instance``, ``data.aws_ami.x`` -> ``aws_ami``); empty for a plan-wide finding
    (no address) or one that is not a resource address."""
    if '"' not in address:  # no index key that could hold a dot: split plainly (fast)
        segments = [part.split("[", 1)[0] for part in address.split(".")] if address else []
    else:
        segments = _segments(address)
    at = 0
    while at + 1 < len(segments) and segments[at] == "module":
        at += 2
    if at < len(segments) and segments[at] == "data":
        at += 1
    if at + 1 >= len(segments):  # a type and a name are needed
        return ""
    return segments[at].split("[", 1)[0]


@dataclass(frozen=True, slots=True)
class GroupedItem:
    """One finding of a group: its address, the addresses it relates to (a rename's old
    address), its ready-to-paste ``moved`` block, if any, and the attribute names it
    names."""

    address: str
    related: tuple[str, ...] = ()
    moved_block: str | None = None
    attributes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FindingGroup:
    """Findings of one id on one resource type for one cause.

    ``explanation`` is one sentence for the whole group (the finding's own message when the
    group has one finding), ``hint`` what to do; ``summary`` the cause in a few words for a
    one-line overview (the explanation without the group's own address in front); ``items``
    every finding in natural order of address, ``shown`` the first ``limit`` of them and
    ``more`` how many are left out."""

    id: str
    severity: str
    verdict: str
    resource_type: str
    explanation: str
    hint: str
    items: tuple[GroupedItem, ...]
    limit: int = SHOWN_ADDRESSES
    summary: str = ""

    @property
    def shown(self) -> tuple[GroupedItem, ...]:
        return self.items[: self.limit]

    @property
    def more(self) -> int:
        return max(0, len(self.items) - self.limit)

    @property
    def moved_blocks(self) -> tuple[str, ...]:
        """Every ``moved`` block the group suggests (all, not only those shown)."""
        return tuple(item.moved_block for item in self.items if item.moved_block)

    @property
    def attributes(self) -> tuple[str, ...]:
        """The attribute names the group's findings name, each once, in first-seen order."""
        return tuple(dict.fromkeys(name for item in self.items for name in item.attributes))


def _text(finding: Mapping[str, Any], key: str) -> str:
    value = finding.get(key)
    return value if isinstance(value, str) else ""


def _strings(finding: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """The non-empty strings of a list the finding holds under ``key`` (``related``,
    ``attributes``), whatever an older analysis stored there."""
    value = finding.get(key)
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(each) for each in value if isinstance(each, str) and each)


def _masked(text: str, address: str, related: tuple[str, ...]) -> str:
    """``text`` with the finding's own addresses replaced by markers (longest first, so an
    address that contains another is masked whole)."""
    if not related:  # the common case: one address
        return text.replace(address, _ADDRESS) if address else text
    names = sorted({address, *related} - {""}, key=len, reverse=True)
    for name in names:
        text = text.replace(name, _ADDRESS if name == address else _RELATED)
    return text


def _sentence(masked: str) -> str:
    """A masked message told of a whole group: the addresses become "each of these" (the
    list under it) and the related ones "its previous address"."""
    told = masked.replace(_ADDRESS, "each of these").replace(_RELATED, "its previous address")
    return told[:1].upper() + told[1:]


def _cause(told: str) -> str:
    """The part of a finding's sentence before its first ``": "`` outside brackets: what
    happens and why (``is destroyed because its count index is no longer in range``), not
    what follows (the loss, "the first step of a destroy"), which the paragraph tells."""
    depth = 0
    for position, char in enumerate(told):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth = max(0, depth - 1)
        elif char == ":" and depth == 0 and told.startswith(" ", position + 1):
            return told[:position] + "."
    return told


def _summary(masked: str, item: GroupedItem | None) -> str:
    """The cause in a few words: the masked message without its own address in front (``is
    destroyed because ...``); a message that does not start with it is told whole. ``item``:
    the finding of a group of one, whose own addresses are put back."""
    told = masked
    if masked.startswith(_ADDRESS + " "):
        told = _cause(_TYPE_AFTER_ADDRESS.sub("", masked[len(_ADDRESS) + 1 :], count=1))
    if item is not None:
        related = item.related[0] if len(item.related) == 1 else "its previous address"
        return told.replace(_ADDRESS, item.address or "it").replace(_RELATED, related)
    if told is masked:
        return _sentence(masked)
    return told.replace(_ADDRESS, "it").replace(_RELATED, "its previous address")


def _severity_rank(severity: str) -> int:
    try:
        return Severity(severity).rank
    except ValueError:
        return len(Severity)  # unknown: after every known one


def _verdict_rank(verdict: str) -> int:
    try:
        return Verdict(verdict).rank
    except ValueError:
        return -1


def group_findings(
    findings: Iterable[Mapping[str, Any]], *, limit: int = SHOWN_ADDRESSES
) -> list[FindingGroup]:
    """``findings`` (as stored in ``plans[].findings``) in groups, most severe first; every
    finding is in exactly one group. ``limit``: addresses shown per group."""
    gathered: dict[tuple[str, str, str, str], list[tuple[Mapping[str, Any], GroupedItem]]] = {}
    types: dict[str, str] = {}  # resource address (index cut off) -> its type
    for finding in findings:
        address = _text(finding, "address")
        resource = address.rsplit("[", 1)[0] if address.endswith("]") else address
        kind = types.get(resource)
        if kind is None:
            kind = types[resource] = resource_type(address)
        related = _strings(finding, "related")
        moved = finding.get("moved_block")
        item = GroupedItem(
            address,
            related,
            moved if isinstance(moved, str) and moved else None,
            _strings(finding, "attributes"),
        )
        key = (
            _text(finding, "id"),
            kind,
            _masked(_text(finding, "message"), address, related),
            _masked(_text(finding, "hint"), address, related),
        )
        gathered.setdefault(key, []).append((finding, item))
    groups = []
    for (ident, kind, message, hint), members in gathered.items():
        members.sort(key=lambda member: natural_key(member[1].address))
        first = members[0][0]
        single = len(members) == 1
        groups.append(
            FindingGroup(
                id=ident,
                severity=_text(first, "severity"),
                verdict=_text(first, "verdict"),
                resource_type=kind,
                explanation=_text(first, "message") if single else _sentence(message),
                hint=_text(first, "hint") if single else _sentence(hint),
                items=tuple(item for _, item in members),
                limit=limit,
                summary=_summary(message, members[0][1] if single else None),
            )
        )
    groups.sort(
        key=lambda group: (
            _severity_rank(group.severity),
            -_verdict_rank(group.verdict),
            -len(group.items),
            group.id,
            group.resource_type,
            group.explanation,
        )
    )
    return groups

"""Probable renames: an unmatched delete and an unmatched create that are the same object.

A delete and a create of the same type (and provider) match when their attributes agree,
compared both ways, with three allowances: values the create only knows after apply are
wildcards, computed identifiers (``id``, ``arn``) are ignored, and null equals absent. At least
one attribute must agree on a real value (not null, empty or false), so two resources that
share nothing but defaults are not called the same. A match must be unique both ways.

Not quadratic: creates are grouped by type and by the set of attributes they leave unknown
(usually one or two groups per type); within a group, every candidate gets a signature over
its comparable attributes, and deletes and creates meet in a hash table by signature.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from signalbox.core.plan.model import ResourceChange, decode_raw
from signalbox.core.plan.values import contains_true

__all__ = ["COMPUTED_IDENTIFIERS", "Rename", "find_renames", "moved_block"]

COMPUTED_IDENTIFIERS = frozenset({"id", "arn"})
_ENCODER = msgspec.json.Encoder(order="sorted")
_MAX_TRACKED = 2  # two candidates are enough to know a match is not unique


@dataclass(frozen=True, slots=True)
class Rename:
    """A delete and a create that are probably one object under a new address."""

    deleted: ResourceChange
    created: ResourceChange
    attributes: tuple[str, ...]  # names of the attributes that agree on a real value

    @property
    def moved_block(self) -> str:
        return moved_block(self.deleted.address, self.created.address)


def moved_block(from_address: str, to_address: str) -> str:
    """The ready-to-paste ``moved`` block (addresses keep their ``[0]``/``["k"]`` keys)."""
    return f"moved {{\n  from = {from_address}\n  to   = {to_address}\n}}\n"


@dataclass(frozen=True, slots=True)
class _Side:
    change: ResourceChange
    values: dict[str, Any]  # comparable attributes, nulls dropped
    unknown: frozenset[str]  # top-level attributes known only after apply (creates)

    def signature(self, excluded: frozenset[str]) -> bytes:
        """Compact JSON with sorted keys of the attributes not excluded: equal signatures
        mean equal values, whatever the layout of the plan's JSON."""
        if excluded.isdisjoint(self.values):
            return _ENCODER.encode(self.values)
        return _ENCODER.encode({n: v for n, v in self.values.items() if n not in excluded})


def find_renames(
    deletes: Iterable[ResourceChange], creates: Iterable[ResourceChange]
) -> list[Rename]:
    """Every unique match between ``deletes`` and ``creates``, in the order of the deletes."""
    deleted_by_kind: dict[tuple[str, str], list[ResourceChange]] = defaultdict(list)
    created_by_kind: dict[tuple[str, str], list[ResourceChange]] = defaultdict(list)
    for change in deletes:
        deleted_by_kind[(change.type, change.provider_name)].append(change)
    for change in creates:
        created_by_kind[(change.type, change.provider_name)].append(change)
    renames: list[Rename] = []
    for kind, deleted in deleted_by_kind.items():
        created = created_by_kind.get(kind)
        if created:
            renames.extend(_match_kind(deleted, created))
    return renames


def _side(
    change: ResourceChange, raw: msgspec.Raw, excluded: frozenset[str], unknown: frozenset[str]
) -> _Side:
    decoded = decode_raw(raw)
    if not isinstance(decoded, dict):
        return _Side(change, {}, unknown)
    values = {n: v for n, v in decoded.items() if v is not None and n not in excluded}
    return _Side(change, values, unknown)


def _is_evidence(value: Any) -> bool:
    """A real value (not false, empty or null): agreeing on it says something."""
    return value is not False and value != "" and value != [] and value != {}


def _deleted_side(change: ResourceChange) -> _Side:
    return _side(change, change.change.before, COMPUTED_IDENTIFIERS, frozenset())


def _created_side(change: ResourceChange) -> _Side:
    mask = decode_raw(change.change.after_unknown)
    unknown = frozenset(
        name
        for name, marks in (mask.items() if isinstance(mask, dict) else ())
        if contains_true(marks)
    )
    return _side(change, change.change.after, COMPUTED_IDENTIFIERS | unknown, unknown)


def _match_kind(
    deleted: Sequence[ResourceChange], created: Sequence[ResourceChange]
) -> list[Rename]:
    deletes = [_deleted_side(change) for change in deleted]
    creates = [_created_side(change) for change in created]
    by_shape: dict[frozenset[str], list[int]] = defaultdict(list)
    for position, side in enumerate(creates):
        by_shape[side.unknown].append(position)
    delete_matches: dict[int, list[int]] = defaultdict(list)
    create_matches: dict[int, list[int]] = defaultdict(list)
    for shape, members in by_shape.items():
        index: dict[bytes, list[int]] = defaultdict(list)
        for position, side in enumerate(deletes):
            found = index[side.signature(shape)]
            if len(found) < _MAX_TRACKED:
                found.append(position)
        for create_position in members:
            for delete_position in index.get(creates[create_position].signature(shape), ()):
                _track(delete_matches[delete_position], create_position)
                _track(create_matches[create_position], delete_position)
    renames = []
    for delete_position, found in sorted(delete_matches.items()):
        if len(found) == 1 and create_matches[found[0]] == [delete_position]:
            create = creates[found[0]]
            agreeing = tuple(
                sorted(
                    name
                    for name, value in deletes[delete_position].values.items()
                    if name not in create.unknown and _is_evidence(value)
                )
            )
            if agreeing:  # sharing only defaults and nulls is no evidence of anything
                renames.append(Rename(deleted[delete_position], create.change, agreeing))
    return renames


def _track(found: list[int], position: int) -> None:
    if position not in found and len(found) < _MAX_TRACKED:
        found.append(position)

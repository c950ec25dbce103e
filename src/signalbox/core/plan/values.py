"""Reading single attribute values out of a change's raw ``before``/``after`` JSON.

Only the attribute asked for is decoded: a per-name ``msgspec`` decoder skips every other
attribute without building it, so checking a protection argument on thousands of resources
stays cheap. Values read here are compared, never printed.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import msgspec

from signalbox.core.plan.model import NULL, decode_raw

__all__ = [
    "COMPUTED_IDENTIFIERS",
    "attribute_value",
    "attribute_values",
    "contains_true",
    "differing_names",
    "unknown_names",
]

COMPUTED_IDENTIFIERS = frozenset({"id", "arn"})
"""Identifiers the provider computes: a new object always gets new ones, so they say
nothing about what changed or what stayed the same."""


@lru_cache(maxsize=512)
def _field_decoder(name: str) -> msgspec.json.Decoder[Any]:
    holder = msgspec.defstruct(
        "AttributeHolder",
        [("value", msgspec.Raw, NULL)],
        rename={"value": name},
        frozen=True,
        gc=False,
    )
    return msgspec.json.Decoder(holder)


def attribute_value(values: msgspec.Raw, path: str) -> tuple[bool, Any]:
    """``(found, value)`` of a dotted attribute path in a raw attribute object.

    ``a.b`` walks nested blocks; a list (a nested block list) takes its first element.
    Returns ``(False, None)`` when the attribute or the object is absent.
    """
    first, _, rest = path.partition(".")
    try:
        holder = _field_decoder(first).decode(values)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return False, None
    raw = holder.value
    if raw is NULL:
        return False, None
    value = decode_raw(raw)
    for step in rest.split(".") if rest else ():
        while isinstance(value, list) and value:
            value = value[0]
        if not isinstance(value, dict) or step not in value:
            return False, None
        value = value[step]
    return True, value


def contains_true(mask: Any) -> bool:
    """True when an ``after_unknown``/sensitivity mask marks anything (``true`` anywhere)."""
    if mask is True:
        return True
    if isinstance(mask, dict):
        return any(contains_true(item) for item in mask.values())
    if isinstance(mask, list):
        return any(contains_true(item) for item in mask)
    return False


def attribute_values(raw: msgspec.Raw) -> dict[str, Any] | None:
    """A change's ``before`` or ``after`` decoded, or None when it is not an object."""
    decoded = decode_raw(raw)
    return decoded if isinstance(decoded, dict) else None


def unknown_names(after_unknown: msgspec.Raw) -> frozenset[str]:
    """The top-level attributes that ``after_unknown`` marks, wholly or in part."""
    mask = decode_raw(after_unknown)
    if not isinstance(mask, dict):
        return frozenset()
    return frozenset(name for name, marks in mask.items() if contains_true(marks))


def differing_names(
    before: dict[str, Any], after: dict[str, Any], ignored: frozenset[str]
) -> list[str]:
    """The top-level attributes, not in ``ignored``, whose values differ (null equals
    absent), sorted. Names only: the values are compared, never returned."""
    return sorted(
        name
        for name in before.keys() | after.keys()
        if name not in ignored and before.get(name) != after.get(name)
    )

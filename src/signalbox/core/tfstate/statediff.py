"""Resource addresses of a Terraform state (format version 4) and what changed between two.

Only what ``signalbox state show`` needs is parsed: each resource's ``mode``, ``type``,
``name``, ``module`` and its instances' ``index_key``; attribute values (where the secrets
are) are skipped by the decoder without being built. Older formats (version 3, Terraform
0.11) have no top-level ``resources`` list and read as empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from signalbox.core.plan.addresses import instance_address

__all__ = ["StateDiff", "diff_states", "resource_addresses"]


class _Instance(msgspec.Struct):
    index_key: int | str | None = None


class _Resource(msgspec.Struct):
    type: str = ""
    name: str = ""
    mode: str = "managed"
    module: str | None = None
    instances: list[_Instance] = msgspec.field(default_factory=list)


class _State(msgspec.Struct):
    resources: list[_Resource] = msgspec.field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StateDiff:
    """Addresses present only after (``added``) or only before (``removed``), sorted."""

    added: tuple[str, ...]
    removed: tuple[str, ...]


def _addresses(resource: _Resource) -> list[str]:
    return [
        instance_address(
            resource.module or "", resource.mode, resource.type, resource.name, instance.index_key
        )
        for instance in resource.instances
    ]


def resource_addresses(body: bytes) -> frozenset[str]:
    """Every resource instance address in a state body; empty for an empty body.

    Raises ``ValueError`` when the body is not a JSON object of the expected shape.
    """
    if not body.strip():
        return frozenset()
    try:
        state = msgspec.json.decode(body, type=_State)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise ValueError(f"the state cannot be read: {error}") from None
    return frozenset(address for resource in state.resources for address in _addresses(resource))


def diff_states(before: frozenset[str], after: frozenset[str]) -> StateDiff:
    """What changed between two sets of addresses."""
    return StateDiff(added=tuple(sorted(after - before)), removed=tuple(sorted(before - after)))

"""The catalog of stateful resource types: what is lost on destroy, and what protects it.

The catalog is data (``signalbox/data/catalog.toml``), parsed here by a pure function;
reading the file is the caller's job. Users extend it with ``[[catalog]]`` tables in
signalbox.toml, in the same shape as the shipped file:

    [[catalog]]
    type = "aws_cognito_user_pool"
    loses = "every user account, password and MFA enrolment"
    protection = { argument = "deletion_protection", protected = "ACTIVE" }
    # or, for azurerm, a provider feature read from the plan's provider configuration:
    # feature = { path = "key_vault.purge_soft_delete_on_destroy", protected = false }
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from signalbox.core.errors import ConfigError

if TYPE_CHECKING:
    from signalbox.core.plan.model import ResourceChange

__all__ = ["Catalog", "Protection", "ProviderFeature", "StatefulType", "parse_catalog"]


@dataclass(frozen=True, slots=True)
class Protection:
    """A resource argument that protects the resource from destroy when it has ``protected``.

    ``argument`` is a dotted path into the resource's attributes (``a.b`` walks nested
    blocks, taking the first element of a list block).
    """

    argument: str
    protected: Any


@dataclass(frozen=True, slots=True)
class ProviderFeature:
    """A provider ``features {}`` setting that protects (azurerm), as a dotted path."""

    provider: str
    path: str
    protected: Any


@dataclass(frozen=True, slots=True)
class StatefulType:
    type: str
    loses: str
    protection: Protection | None = None
    feature: ProviderFeature | None = None


@dataclass(frozen=True, slots=True)
class Catalog:
    types: Mapping[str, StatefulType]

    def get(self, resource_type: str) -> StatefulType | None:
        return self.types.get(resource_type)

    def __contains__(self, resource_type: object) -> bool:
        return resource_type in self.types

    def __len__(self) -> int:
        return len(self.types)

    @property
    def embedding_types(self) -> frozenset[str]:
        """Resource types that carry the kind of object they manage in an attribute
        (``azapi_resource``'s ``type``): :meth:`embedded_type` classifies those."""
        return frozenset()

    def embedded_type(self, change: ResourceChange) -> StatefulType | None:
        """The stateful type of a change whose resource type is in :attr:`embedding_types`."""
        return None

    def extended(self, extra: Iterable[StatefulType]) -> Catalog:
        """A new catalog in which ``extra`` adds types or replaces shipped entries."""
        merged = dict(self.types)
        merged.update({entry.type: entry for entry in extra})
        return Catalog(types=merged)


def _entry(raw: Any, where: str) -> StatefulType:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a table.", hint="Write type = ... and loses = ...")
    resource_type = raw.get("type")
    loses = raw.get("loses")
    if not isinstance(resource_type, str) or not resource_type:
        raise ConfigError(f"{where} has no type.", hint='Add type = "aws_db_instance" or similar.')
    if not isinstance(loses, str) or not loses:
        raise ConfigError(
            f"{where} ({resource_type}) does not say what is lost on destroy.",
            hint='Add loses = "the data in the database" or similar.',
        )
    protection = None
    if "protection" in raw:
        spec = raw["protection"]
        if not isinstance(spec, Mapping) or "argument" not in spec or "protected" not in spec:
            raise ConfigError(
                f"{where} ({resource_type}): protection needs argument and protected.",
                hint='Write protection = { argument = "deletion_protection", protected = true }.',
            )
        protection = Protection(argument=str(spec["argument"]), protected=spec["protected"])
    feature = None
    if "feature" in raw:
        spec = raw["feature"]
        if not isinstance(spec, Mapping) or "path" not in spec or "protected" not in spec:
            raise ConfigError(
                f"{where} ({resource_type}): feature needs path and protected.",
                hint='Write feature = { path = "key_vault.purge_soft_delete_on_destroy", '
                "protected = false }.",
            )
        provider = str(spec.get("provider", resource_type.split("_", 1)[0]))
        feature = ProviderFeature(
            provider=provider, path=str(spec["path"]), protected=spec["protected"]
        )
    return StatefulType(type=resource_type, loses=loses, protection=protection, feature=feature)


def parse_catalog(entries: Iterable[Any], *, where: str = "catalog") -> Catalog:
    """Parse catalog tables (the shipped file's ``[[type]]`` or a user's ``[[catalog]]``)."""
    types: dict[str, StatefulType] = {}
    for position, raw in enumerate(entries, start=1):
        entry = _entry(raw, f"{where} entry {position}")
        types[entry.type] = entry
    return Catalog(types=types)

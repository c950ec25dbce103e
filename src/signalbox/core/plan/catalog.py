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

Some resource types carry the kind of object they manage in an attribute: ``azapi_resource``
has ``type = "Microsoft.Storage/storageAccounts@2023-01-01"``, ``kubernetes_manifest`` has
``manifest.kind``. An entry with ``azure_type = "Microsoft.Storage/storageAccounts"`` (or
``kind = "PersistentVolumeClaim"``) also classifies those; an entry whose ``type`` is the
embedding type itself (``type = "azapi_resource"`` with ``azure_type``) serves only them.

``loses`` is put into sentences ("X is destroyed: <loses> will be lost."), so it must be a
noun phrase: :func:`loss_problem` says what is wrong with one that is not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from signalbox.core.errors import ConfigError
from signalbox.core.plan.values import attribute_value

if TYPE_CHECKING:
    from signalbox.core.plan.model import Action, ResourceChange

__all__ = [
    "EMBEDDING_TYPES",
    "Catalog",
    "Protection",
    "ProviderFeature",
    "StatefulType",
    "loss_problem",
    "parse_catalog",
]


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
    """One stateful type. ``azure_type`` / ``kind``: the Azure resource type (no API version)
    or Kubernetes kind it manages, under which ``azapi_resource`` / ``kubernetes_manifest``
    changes are classified as it too."""

    type: str
    loses: str
    protection: Protection | None = None
    feature: ProviderFeature | None = None
    azure_type: str | None = None
    kind: str | None = None

    @property
    def key(self) -> str:
        """The entry's key in :attr:`Catalog.types`: its type, or for an entry that serves
        only an embedding type, that type and the embedded name (``azapi_resource
        Microsoft.Search/searchServices``), which no plan's resource type can equal."""
        if self.type in EMBEDDING_TYPES:
            return f"{self.type} {self.azure_type or self.kind}"
        return self.type


@dataclass(frozen=True, slots=True)
class _Embedding:
    """Where an embedding resource type keeps the kind of object it manages, and how that
    name is made a lookup key (case-insensitive; ``@api-version`` dropped)."""

    attribute: str
    field: str  # the StatefulType field naming the embedded kind
    label: str  # how the message names it: "(Azure type X)"
    pattern: re.Pattern[str]  # what a name in that field looks like
    example: str  # a name for hints

    @staticmethod
    def normalise(name: str) -> str:
        return name.split("@", 1)[0].strip().lower()


_EMBEDDINGS = {
    "azapi_resource": _Embedding(
        "type",
        "azure_type",
        "Azure type",
        re.compile(r"^[A-Za-z][A-Za-z0-9.]*/[A-Za-z0-9]+(/[A-Za-z0-9]+)*$"),
        "Microsoft.Storage/storageAccounts",
    ),
    "kubernetes_manifest": _Embedding(
        "manifest.kind", "kind", "kind", re.compile(r"^[A-Z][A-Za-z0-9]*$"), "PersistentVolumeClaim"
    ),
}
EMBEDDING_TYPES = frozenset(_EMBEDDINGS)
"""Resource types whose kind of object is read from an attribute."""


def _embedded_tables(
    types: Mapping[str, StatefulType],
) -> dict[str, dict[str, StatefulType]]:
    """For each embedding type, its classified names: an entry made for the embedding type
    itself wins over one that also serves a typed resource (``azurerm_...``)."""
    tables: dict[str, dict[str, StatefulType]] = {name: {} for name in _EMBEDDINGS}
    ordered = sorted(types.values(), key=lambda entry: entry.type in EMBEDDING_TYPES)
    for entry in ordered:
        for resource_type, embedding in _EMBEDDINGS.items():
            name = getattr(entry, embedding.field)
            if not name:
                continue
            tables[resource_type][embedding.normalise(name)] = StatefulType(
                type=f"{resource_type} ({name})",
                loses=f"{entry.loses} ({embedding.label} {name})",
            )
    return {name: table for name, table in tables.items() if table}


@dataclass(frozen=True, slots=True)
class Catalog:
    types: Mapping[str, StatefulType]
    embedded: Mapping[str, Mapping[str, StatefulType]] = field(init=False, repr=False)
    embedding_types: frozenset[str] = field(init=False, repr=False)
    """Resource types that carry the kind of object they manage in an attribute and for
    which the catalog knows at least one kind: :meth:`embedded_type` classifies those."""

    def __post_init__(self) -> None:
        tables = _embedded_tables(self.types)
        object.__setattr__(self, "embedded", tables)
        object.__setattr__(self, "embedding_types", frozenset(tables))

    def get(self, resource_type: str) -> StatefulType | None:
        return self.types.get(resource_type)

    def __contains__(self, resource_type: object) -> bool:
        return resource_type in self.types

    def __len__(self) -> int:
        return len(self.types)

    def embedded_type(self, change: ResourceChange, action: Action) -> StatefulType | None:
        """The stateful type of a change whose resource type is in :attr:`embedding_types`.

        Only a change that destroys its object is classified (by ``before``, the object it
        removes): the types found this way carry no protection argument, so nothing else
        about them makes a finding, and an update of 10,000 azapi resources costs no decode.
        A kind the catalog does not know is not classified; a missing one (Terraform always
        writes it: an edited or damaged plan) is treated as stateful, since it could be any.
        """
        embedding = _EMBEDDINGS.get(change.type)
        table = self.embedded.get(change.type)
        if embedding is None or table is None:
            return None
        if not action.deletes_object:
            return None
        found, name = attribute_value(change.change.before, embedding.attribute)
        if found and isinstance(name, str):
            return table.get(embedding.normalise(name))
        return StatefulType(
            type=change.type,
            loses=f"whatever the object holds (the plan does not name its {embedding.label}, "
            "so signalbox cannot tell what kind of object it is)",
        )

    def extended(self, extra: Iterable[StatefulType]) -> Catalog:
        """A new catalog in which ``extra`` adds types or replaces shipped entries."""
        merged = dict(self.types)
        merged.update({entry.key: entry for entry in extra})
        return Catalog(types=merged)


# Finite verbs that turn a "what is lost" phrase into a clause of its own ("...: everything
# encrypted under it becomes unreadable will be lost"); each may appear only after a word
# that opens a subordinate clause in the same comma- or bracket-delimited part ("unless a
# final snapshot is taken", "which apps are configured with"). A guard, not a parser.
_FINITE_VERBS = frozenset(
    (
        "is", "are", "was", "were", "has", "have", "had", "becomes", "become", "stop",
        "stops", "fail", "fails", "can", "cannot", "could", "must", "will", "would", "should",
        "may", "might", "need", "needs", "lose", "loses", "break", "breaks", "lock", "locks",
        "goes", "go", "stays", "stay", "remains", "remain",
    )
)  # fmt: skip
_SUBORDINATORS = frozenset(
    (
        "that", "which", "who", "whom", "whose", "when", "whenever", "unless", "if", "once",
        "until", "after", "before", "while", "because", "where", "as",
    )
)  # fmt: skip
_PARTS = re.compile(r"[,()]")
_WORDS = re.compile(r"[a-z']+")


def loss_problem(loses: str) -> str | None:
    """What is wrong with a ``loses`` text as a noun phrase, or None when it reads right in
    "X is destroyed: <loses> will be lost."."""
    text = loses.strip()
    if not text:
        return "is empty"
    if text != loses or "\n" in text:
        return "has spaces or line breaks around or in it"
    if ":" in text or ";" in text:
        return "contains ':' or ';', which splits the sentence it is put in"
    if text.endswith(".") or ". " in text:
        return "contains a full stop; it must be one phrase, not a sentence"
    if not text[0].islower():
        return "must start with a lower-case word (it follows 'is destroyed: ')"
    for part in _PARTS.split(text.lower()):
        opened = False
        for word in _WORDS.findall(part):
            if word in _SUBORDINATORS:
                opened = True
            elif word in _FINITE_VERBS and not opened:
                return f"has a clause of its own (the verb {word!r}) where a noun phrase is needed"
    return None


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
    problem = loss_problem(loses)
    if problem is not None:
        raise ConfigError(
            f"{where} ({resource_type}): loses {problem}; it is put into the sentence "
            "'<address> is destroyed: <loses> will be lost.'",
            hint='Write a noun phrase, for example loses = "the key material, and with it '
            'everything encrypted under the key" or "every message in the queue, and the '
            'queue URL that apps are configured with".',
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
    names = {
        embedding.field: _embedded_name(raw, embedding, where, resource_type)
        for embedding in _EMBEDDINGS.values()
    }
    embedding = _EMBEDDINGS.get(resource_type)
    if embedding is not None and not names[embedding.field]:
        raise ConfigError(
            f"{where} ({resource_type}) does not say which {embedding.label} it is for.",
            hint=f'Add {embedding.field} = "{embedding.example}" or similar.',
        )
    return StatefulType(
        type=resource_type,
        loses=loses,
        protection=protection,
        feature=feature,
        azure_type=names["azure_type"],
        kind=names["kind"],
    )


def _embedded_name(
    raw: Mapping[str, Any], embedding: _Embedding, where: str, resource_type: str
) -> str | None:
    key = embedding.field
    if key not in raw:
        return None
    value = raw[key]
    name = value.split("@", 1)[0] if isinstance(value, str) else ""
    if not embedding.pattern.match(name):
        raise ConfigError(
            f"{where} ({resource_type}): {key} is not a valid name.",
            hint=f'Write {key} = "{embedding.example}" (without an API version).',
        )
    return name


def parse_catalog(entries: Iterable[Any], *, where: str = "catalog") -> Catalog:
    """Parse catalog tables (the shipped file's ``[[type]]`` or a user's ``[[catalog]]``)."""
    types: dict[str, StatefulType] = {}
    for position, raw in enumerate(entries, start=1):
        entry = _entry(raw, f"{where} entry {position}")
        types[entry.key] = entry
    return Catalog(types=types)

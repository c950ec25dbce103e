"""The typed model of a Terraform plan, as ``terraform show -json`` (or ``tofu``) writes it.

The records are ``msgspec`` structs decoded straight from the plan's bytes, so a plan with
100,000 changes costs one C-level decode and no per-change Python work. Attribute values
(``before``, ``after``, ``after_unknown``, the sensitivity masks, ...) stay ``msgspec.Raw``:
undecoded JSON, decoded only for the few changes whose values an analysis needs
(see :func:`decode_raw`). The structs are frozen and opt out of the cyclic garbage collector
(``gc=False``), which is what makes big plans cheap.

Field names follow the JSON format (``module_address``, ``provider_name``, ``action_reason``);
the properties ``module``, ``provider``, ``reason``, ``action``, ``importing``, ... give the
plain model names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import msgspec

__all__ = [
    "ACTIONS_BY_JSON",
    "NULL",
    "Action",
    "Change",
    "DeferredChange",
    "Plan",
    "ProviderConfig",
    "ResourceChange",
    "actions_text",
    "decode_raw",
    "is_null",
    "printable_name",
]

NULL = msgspec.Raw(b"null")
_ANY_DECODER = msgspec.json.Decoder()


def decode_raw(raw: msgspec.Raw) -> Any:
    """Decode one ``Raw`` value (a plan's attribute object, mask or path list) to Python.

    Reading checked the value is JSON; one that Python cannot hold (a number like ``1e999``)
    reads as null rather than stopping the analysis.
    """
    try:
        return _ANY_DECODER.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError, RecursionError):
        return None


def is_null(raw: msgspec.Raw) -> bool:
    """True for an absent value (the shared default) or a JSON null."""
    return raw is NULL or bytes(raw) == b"null"


class Action(StrEnum):
    """What Terraform will do to one resource instance."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    REPLACE = "replace"  # delete, then create (the default order)
    REPLACE_CREATE_FIRST = "replace-create-first"  # create_before_destroy
    READ = "read"
    NO_OP = "no-op"
    FORGET = "forget"  # removed from state, the object is kept
    FORGET_CREATE = "forget-create"  # old object forgotten, a new one created
    UNKNOWN = "unknown"  # an action list no Terraform writes that cannot destroy (see schema)

    @property
    def deletes_object(self) -> bool:
        """True when the remote object is destroyed (delete or either replace order)."""
        return self in _DESTROYING

    @property
    def has_both_values(self) -> bool:
        """True when the object exists before and after (update, no-op, either replace):
        Terraform then writes ``before`` and ``after``, each with every attribute of the
        provider's schema (``after`` leaving out values known only after apply)."""
        return self in _BOTH_VALUES

    @property
    def is_replace(self) -> bool:
        return self in (Action.REPLACE, Action.REPLACE_CREATE_FIRST)


_DESTROYING = frozenset({Action.DELETE, Action.REPLACE, Action.REPLACE_CREATE_FIRST})
_BOTH_VALUES = frozenset({Action.UPDATE, Action.NO_OP, Action.REPLACE, Action.REPLACE_CREATE_FIRST})


class _ActionTable(dict[tuple[str, ...], Action]):
    """The known action lists; any other list reads as :attr:`Action.UNKNOWN`.

    Reading (``schema.py``) lets through only unknown lists that cannot destroy anything
    (``[]``, ``["move"]``); every other unknown list stops the check there.
    """

    def __missing__(self, key: tuple[str, ...]) -> Action:
        return Action.UNKNOWN


# Terraform writes ["create", "forget"]; OpenTofu writes ["forget", "create"]: the same action.
ACTIONS_BY_JSON: dict[tuple[str, ...], Action] = _ActionTable(
    {
        ("create",): Action.CREATE,
        ("update",): Action.UPDATE,
        ("delete",): Action.DELETE,
        ("delete", "create"): Action.REPLACE,
        ("create", "delete"): Action.REPLACE_CREATE_FIRST,
        ("read",): Action.READ,
        ("no-op",): Action.NO_OP,
        ("forget",): Action.FORGET,
        ("create", "forget"): Action.FORGET_CREATE,
        ("forget", "create"): Action.FORGET_CREATE,
    }
)


def actions_text(actions: tuple[str, ...]) -> str:
    """An ``actions`` list as a message shows it (``["delete", "update"]``): words from a
    plan no Terraform wrote are made printable and short."""
    return "[" + ", ".join(f'"{printable_name(word)}"' for word in actions) + "]"


def printable_name(name: str, limit: int = 64) -> str:
    """A name read from a plan (a key, an address, an action word) fit for a message:
    printable characters only, shortened."""
    shown = "".join(c if c.isprintable() and c != '"' else "?" for c in name[:limit])
    return shown + ("..." if len(name) > limit else "")


class Change(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """The ``change`` object of a resource change; values stay raw JSON.

    ``actions`` is required: a change whose actions are missing (a damaged key) must not read
    as a change that does nothing.
    """

    actions: tuple[str, ...]
    before: msgspec.Raw = NULL
    after: msgspec.Raw = NULL
    after_unknown: msgspec.Raw = NULL
    before_sensitive: msgspec.Raw = NULL
    after_sensitive: msgspec.Raw = NULL
    replace_paths: msgspec.Raw = NULL
    importing: msgspec.Raw = NULL


class ResourceChange(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One entry of ``resource_changes`` (or ``resource_drift``): one resource instance.

    ``change`` is required, for the same reason as :attr:`Change.actions`.
    """

    address: str = ""
    module_address: str | None = None
    mode: str = "managed"
    type: str = ""
    name: str = ""
    index: int | str | None = None
    provider_name: str = ""
    change: Change
    action_reason: str | None = None
    previous_address: str | None = None
    deposed: str | None = None

    @property
    def action(self) -> Action:
        """The action (:attr:`Action.UNKNOWN` for a list reading let through as harmless)."""
        return ACTIONS_BY_JSON[self.change.actions]

    @property
    def module(self) -> str:
        """The module address (``module.a.module.b``), empty in the root module."""
        return self.module_address or ""

    @property
    def provider(self) -> str:
        return self.provider_name

    @property
    def reason(self) -> str | None:
        """Terraform's ``action_reason`` as written (unknown values are kept as they are)."""
        return self.action_reason

    @property
    def managed(self) -> bool:
        return self.mode == "managed"

    @property
    def importing(self) -> bool:
        """True when this change imports an existing object (``change.importing``)."""
        raw = self.change.importing
        return raw is not NULL and bytes(raw) != b"null"

    @property
    def replace_paths(self) -> list[list[str | int]]:
        """The attribute paths that force a replacement (decoded on demand)."""
        decoded = decode_raw(self.change.replace_paths)
        if not isinstance(decoded, list):
            return []
        return [path for path in decoded if isinstance(path, list)]

    @property
    def before_sensitive(self) -> msgspec.Raw:
        return self.change.before_sensitive

    @property
    def after_sensitive(self) -> msgspec.Raw:
        return self.change.after_sensitive


class DeferredChange(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One entry of ``deferred_changes``: a change Terraform could not plan yet."""

    reason: str = ""
    resource_change: ResourceChange


class ProviderConfig(msgspec.Struct, frozen=True, gc=False):
    """One ``configuration.provider_config`` entry; ``expressions`` stays raw JSON."""

    name: str = ""
    full_name: str = ""
    alias: str | None = None
    module_address: str | None = None
    expressions: msgspec.Raw = NULL


@dataclass(frozen=True, slots=True)
class Plan:
    """One plan document: its metadata, changes, drift and deferred changes.

    ``index`` is the document's position in its input (terragrunt run-all writes several);
    ``digest`` is ``sha256:<hex>`` of the document's own JSON bytes.
    """

    source: str
    index: int
    digest: str
    format_version: str
    terraform_version: str
    errored: bool
    complete: bool
    applyable: bool | None
    changes: list[ResourceChange]
    drift: list[ResourceChange] = field(default_factory=list)
    deferred: list[DeferredChange] = field(default_factory=list)
    provider_configs: Mapping[str, ProviderConfig] = field(default_factory=dict)

    def provider_setting(self, provider: str, path: str) -> tuple[bool, Any]:
        """The constant value of ``path`` in the provider's configuration blocks.

        ``path`` is dotted (``features.key_vault.purge_soft_delete_on_destroy``); a list
        block takes its first element. Returns ``(found, value)``: the default (un-aliased)
        configuration of the root module wins over others.
        """
        for config in _configs_for(self.provider_configs, provider):
            found, value = _walk_expression(decode_raw(config.expressions), path.split("."))
            if found:
                return True, value
        return False, None


def _configs_for(configs: Mapping[str, ProviderConfig], provider: str) -> list[ProviderConfig]:
    matching = [c for key, c in configs.items() if (c.name or key.split(":")[-1]) == provider]
    return sorted(matching, key=lambda c: (c.alias is not None, c.module_address is not None))


def _walk_expression(node: Any, steps: list[str]) -> tuple[bool, Any]:
    for step in steps:
        while isinstance(node, list):
            if not node:
                return False, None
            node = node[0]
        if not isinstance(node, dict) or step not in node:
            return False, None
        node = node[step]
    while isinstance(node, list) and node:
        node = node[0]
    if isinstance(node, dict) and "constant_value" in node:
        return True, node["constant_value"]
    return False, None

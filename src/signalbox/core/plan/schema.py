"""The top-level shape of a plan document, and the checks that turn it into a :class:`Plan`.

Unknown keys are ignored (newer Terraform versions add some), so are keys we do not need
(``planned_values``, ``prior_state``, ``configuration.root_module`` are skipped by the decoder
without building anything). The few markers read here only serve to say what a JSON document
that is *not* a plan looks like (a state file, ``{}``, ...).

Reading fails closed on damage a plan can carry and still be JSON (one byte changed, a key
mistyped by hand): an unknown top-level key one edit away from a key Terraform writes, a
resource whose address disagrees with its type, name, mode, module and index, an update,
no-op or replace without its ``before`` or ``after``. Each such plan would otherwise be read
as changing less than it does. A changed *value* that is still valid (``"ACTIVE"`` read as
``"ACTIVF"``) cannot be told from a real plan.
"""

from __future__ import annotations

import re

import msgspec
from msgspec import UNSET, UnsetType

from signalbox.core.errors import PlanFormatUnsupported, PlanUnreadable
from signalbox.core.plan.addresses import instance_address
from signalbox.core.plan.model import (
    ACTIONS_BY_JSON,
    NULL,
    Action,
    DeferredChange,
    Plan,
    ProviderConfig,
    ResourceChange,
    actions_text,
    printable_name,
)

__all__ = [
    "HINT_SHOW",
    "NOT_UTF8",
    "SUPPORTED_MAJOR_VERSIONS",
    "TERRAFORM_PLAN_KEYS",
    "PlanDocument",
    "decode_document",
    "to_plan",
    "too_deep",
]

SUPPORTED_MAJOR_VERSIONS = (0, 1)
_VERSION = re.compile(r"^(\d+)\.(\d+)")

TERRAFORM_PLAN_KEYS = frozenset(
    {
        "format_version",
        "terraform_version",
        "variables",
        "planned_values",
        "resource_drift",
        "resource_changes",
        "deferred_changes",
        "deferred_action_invocations",
        "output_changes",
        "action_invocations",
        "prior_state",
        "configuration",
        "relevant_attributes",
        "checks",
        "condition_results",
        "timestamp",
        "applyable",
        "complete",
        "errored",
    }
)
"""The top-level keys Terraform (0.12 to 1.15) and OpenTofu write in ``show -json`` of a plan
(``condition_results`` only in Terraform 1.2). An unknown key one edit away from one of them is
damage; other unknown keys (a newer version's) are ignored."""


class Configuration(msgspec.Struct, frozen=True, gc=False):
    provider_config: dict[str, ProviderConfig] | None = None


class PlanDocument(msgspec.Struct, frozen=True, gc=False):
    """What signalbox reads of one ``show -json`` document; every other key is skipped."""

    format_version: str | UnsetType = UNSET
    terraform_version: str | None = None
    resource_changes: list[ResourceChange] | None = None
    resource_drift: list[ResourceChange] | None = None
    deferred_changes: list[DeferredChange] | None = None
    errored: bool | None = None
    complete: bool | None = None
    applyable: bool | None = None
    configuration: Configuration | None = None
    planned_values: msgspec.Raw | UnsetType = UNSET
    output_changes: msgspec.Raw | UnsetType = UNSET
    # markers of documents that are not plans, to say what they are
    values: msgspec.Raw | UnsetType = UNSET
    lineage: msgspec.Raw | UnsetType = UNSET
    serial: msgspec.Raw | UnsetType = UNSET
    resources: msgspec.Raw | UnsetType = UNSET

    def is_plan(self) -> bool:
        markers = (self.planned_values, self.output_changes)
        present = (self.resource_changes, self.resource_drift, self.errored, self.deferred_changes)
        return any(m is not UNSET for m in markers) or any(p is not None for p in present)


class _KnownKeysDocument(PlanDocument, frozen=True, gc=False, forbid_unknown_fields=True):
    """A document with no key outside :data:`TERRAFORM_PLAN_KEYS` (and the markers): the fast
    first decode. One with another key is decoded again, after its keys are checked."""

    variables: msgspec.Raw | UnsetType = UNSET
    deferred_action_invocations: msgspec.Raw | UnsetType = UNSET
    action_invocations: msgspec.Raw | UnsetType = UNSET
    prior_state: msgspec.Raw | UnsetType = UNSET
    relevant_attributes: msgspec.Raw | UnsetType = UNSET
    checks: msgspec.Raw | UnsetType = UNSET
    condition_results: msgspec.Raw | UnsetType = UNSET
    timestamp: msgspec.Raw | UnsetType = UNSET


_KNOWN_DECODER = msgspec.json.Decoder(_KnownKeysDocument)
_PLAN_DECODER = msgspec.json.Decoder(PlanDocument)
_KEYS_DECODER = msgspec.json.Decoder(dict[str, msgspec.Raw])
HINT_SHOW = (
    "Give signalbox the output of `terraform show -json PLANFILE` (or `tofu show -json PLANFILE`)."
)
_HINT_DAMAGED = (
    "Write the plan again with `terraform show -json PLANFILE`: a damaged or hand-edited plan "
    "cannot be checked."
)


def decode_document(body: memoryview | bytes, *, source: str, where: str) -> PlanDocument:
    """Decode one JSON document as a :class:`PlanDocument`.

    Raises ``msgspec.DecodeError`` for bytes that are not JSON or not UTF-8 (the caller
    locates them),
    :class:`PlanUnreadable` for JSON of the wrong shape or with a damaged top-level key.
    """
    try:
        try:
            return _KNOWN_DECODER.decode(body)
        except msgspec.ValidationError as error:
            if not str(error).startswith("Object contains unknown field"):
                raise
        _check_top_level_keys(body, source, where)
        return _PLAN_DECODER.decode(body)
    except UnicodeDecodeError:  # a key that is not UTF-8: the caller locates it
        raise msgspec.DecodeError(NOT_UTF8) from None
    except RecursionError:
        raise too_deep(source) from None
    except msgspec.ValidationError as error:
        raise PlanUnreadable(
            f"{where} is not a Terraform plan: {_validation_detail(str(error))}.",
            hint=HINT_SHOW,
            source=source,
        ) from None


NOT_UTF8 = "JSON is malformed: text that is not UTF-8"
"""The decode error for bytes that are not UTF-8 (its reader gives the position)."""


def too_deep(source: str) -> PlanUnreadable:
    """The error for JSON nested deeper than the decoder (or Python) goes."""
    return PlanUnreadable(
        f"{source} nests JSON arrays or objects too deeply to be a Terraform plan.",
        hint=HINT_SHOW,
        source=source,
    )


def _check_top_level_keys(body: memoryview | bytes, source: str, where: str) -> None:
    keys = _KEYS_DECODER.decode(body)
    for key in keys:
        if key in TERRAFORM_PLAN_KEYS:
            continue
        if not _NAME.fullmatch(key):  # a control character, a slash: a damaged escape
            raise PlanUnreadable(
                f'{where} has a key "{printable_name(key)}", which is not a name Terraform writes: '
                "the plan is damaged or was edited.",
                hint=_HINT_DAMAGED,
                source=source,
            )
        near = next((known for known in sorted(TERRAFORM_PLAN_KEYS) if _one_edit(key, known)), None)
        if near is not None and near not in keys:
            raise PlanUnreadable(
                f'{where} has a key "{printable_name(key)}" where Terraform writes "{near}": the '
                "plan is damaged or was edited, and what that key holds would go unread.",
                hint=_HINT_DAMAGED,
                source=source,
            )


_NAME = re.compile(r"[A-Za-z0-9_.$@-]+")


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by one inserted, deleted, replaced or swapped character."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        differ = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(differ) == 1:
            return True
        first, *rest = differ
        return rest == [first + 1] and a[first] == b[first + 1] and a[first + 1] == b[first]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _validation_detail(message: str) -> str:
    top_level = re.fullmatch(r"Expected `object`, got `(\w+)`", message)
    if top_level:
        kind = {"array": "a JSON array", "str": "a JSON string", "null": "JSON null"}.get(
            top_level.group(1), f"a JSON {top_level.group(1)}"
        )
        return f"it is {kind}, not an object"
    return message.replace("Expected", "expected", 1)


_HINT = "Give signalbox the output of `terraform show -json PLANFILE` (a plan, not a state)."


def to_plan(
    document: PlanDocument, *, source: str, where: str, index: int, digest: str, empty: bool
) -> Plan:
    """Check the document is a plan of a supported format and build the :class:`Plan`.

    ``empty`` says the document's text is ``{}`` (for the message only).
    """
    if isinstance(document.format_version, UnsetType) or not document.is_plan():
        what = "it is an empty JSON object" if empty else _what_it_is(document)
        raise PlanUnreadable(
            f"{where} is not a Terraform plan: {what}.",
            hint=_HINT,
            source=source,
        )
    _check_format_version(document.format_version, where, source)
    errored = bool(document.errored)
    configuration = document.configuration
    plan = Plan(
        source=source,
        index=index,
        digest=digest,
        format_version=document.format_version,
        terraform_version=document.terraform_version or "",
        errored=errored,
        complete=document.complete if document.complete is not None else not errored,
        applyable=document.applyable,
        changes=document.resource_changes or [],
        drift=list(document.resource_drift or ()),
        deferred=list(document.deferred_changes or ()),
        provider_configs=(configuration.provider_config or {}) if configuration else {},
    )
    return _check_changes(plan, where)


def _check_format_version(version: str, where: str, source: str) -> None:
    match = _VERSION.match(version)
    if match is None:
        raise PlanFormatUnsupported(
            f"{where} has format_version {version!r}, which is not a version number.",
            hint=_HINT,
            source=source,
        )
    if int(match.group(1)) not in SUPPORTED_MAJOR_VERSIONS:
        raise PlanFormatUnsupported(
            f"{where} uses plan format {version}; signalbox reads formats 0.x and 1.x. A new "
            "major version means Terraform changed the format in ways signalbox cannot assume.",
            hint="Upgrade signalbox, or write the plan with a Terraform version whose "
            "`show -json` format is 1.x.",
            source=source,
            format_version=version,
        )


def _what_it_is(document: PlanDocument) -> str:
    if document.lineage is not UNSET or document.serial is not UNSET:
        return "it looks like a Terraform state file (it has lineage/serial), not a plan"
    if document.values is not UNSET:
        return (
            "it looks like `terraform show -json` of a state (it has values but no "
            "planned_values); run `terraform show -json PLANFILE` on a saved plan instead"
        )
    if isinstance(document.format_version, UnsetType):
        return "it has no format_version, planned_values or resource_changes"
    return "it has a format_version but no planned_values or resource_changes"


def _check_changes(plan: Plan, where: str) -> Plan:
    """Reject action lists that might destroy something signalbox cannot name and resource
    changes whose parts disagree (see the module's docstring), and fill in addresses Terraform
    1.0.0 left out of drift."""
    entries = (("resource_changes", plan.changes), ("resource_drift", plan.drift))
    for name, changes in entries:
        for position, change in enumerate(changes):  # per change: a few cheap comparisons
            _check_change(change, f"{name}[{position}]", where, values=True)
    for position, deferred in enumerate(plan.deferred):
        # a deferred change is not planned yet: its values may be missing
        _check_change(deferred.resource_change, f"deferred_changes[{position}]", where)
    if any(not change.address for change in plan.changes):
        plan.changes[:] = [_addressed(change, {}) for change in plan.changes]
    if any(not change.address for change in plan.drift):
        known = _addresses_by_resource(plan.changes)
        plan.drift[:] = [_addressed(change, known) for change in plan.drift]
    return plan


_MODES = frozenset({"managed", "data"})


def _check_change(change: ResourceChange, entry: str, where: str, *, values: bool = False) -> None:
    """Stop at an action list that might destroy, or at parts that disagree; ``values``:
    an update, no-op or replace must also carry both ``before`` and ``after``."""
    inner = change.change
    action = ACTIONS_BY_JSON[inner.actions]
    if action is Action.UNKNOWN:
        _check_unknown_action(change, where)
    if (
        change.mode not in _MODES
        or not change.type
        or not change.name
        or (change.address and not _address_agrees(change))
        or (values and action.has_both_values and (inner.before is NULL or inner.after is NULL))
    ):
        raise _damaged(change, action, entry, where)


_PLAIN_KEY = re.compile(r'[^"\\\x00-\x1f\x7f$%]*')


def _address_agrees(change: ResourceChange) -> bool:
    """True when ``address`` is what Terraform writes for the change's module, mode, type,
    name and index. A part that is absent (``module_address``, ``index``: hand-written plans
    leave them out) is not compared."""
    address = change.address
    local = (
        f"data.{change.type}.{change.name}"
        if change.mode == "data"
        else (f"{change.type}.{change.name}")
    )
    index = change.index
    if index is None:
        if address.endswith("]"):
            cut = address.rfind(local + "[")
            if cut < 0:
                return False
            address = address[: cut + len(local)]
    elif isinstance(index, int):
        suffix = f"[{index}]"
        if not address.endswith(suffix):
            return False
        address = address[: -len(suffix)]
    elif _PLAIN_KEY.fullmatch(index):
        suffix = f'["{index}"]'
        if not address.endswith(suffix):
            return False
        address = address[: -len(suffix)]
    else:  # a key Terraform escapes its own way: compare what comes before it
        cut = address.rfind(local + '["')
        if cut < 0 or not address.endswith('"]'):
            return False
        address = address[: cut + len(local)]
    if not address.endswith(local):
        return False
    head = address[: len(address) - len(local)]
    module = change.module_address
    if module is not None:
        return head == (f"{module}." if module else "")
    return not head or (head.startswith("module.") and head.endswith("."))


def _damaged(change: ResourceChange, action: Action, entry: str, where: str) -> PlanUnreadable:
    """The error for a change whose parts disagree: it names the entry and what is wrong."""
    name = printable_name(change.address or f"{change.type}.{change.name}")
    if change.mode not in _MODES:
        what = f'has mode "{printable_name(change.mode)}"; Terraform writes "managed" or "data"'
    elif not change.type or not change.name:
        what = "has no type or no name"
    elif change.address and not _address_agrees(change):
        what = "has an address that does not agree with its " + _parts(change)
    else:
        missing = "before" if change.change.before is NULL else "after"
        what = (
            f'is {"an" if action is Action.UPDATE else "a"} {action} without its "{missing}" '
            "value, which Terraform always writes"
        )
    return PlanUnreadable(
        f"{where}: {entry} ({name}) {what}: the plan is damaged or was edited, and signalbox "
        "cannot tell what really changes.",
        hint=_HINT_DAMAGED,
    )


def _parts(change: ResourceChange) -> str:
    parts = ["module_address"] if change.module_address is not None else []
    parts += ["mode", "type", "name"] + (["index"] if change.index is not None else [])
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _resource_key(change: ResourceChange) -> tuple[str, str, str, str]:
    return (change.module, change.mode, change.type, change.name)


def _addresses_by_resource(changes: list[ResourceChange]) -> dict[tuple[str, ...], list[str]]:
    found: dict[tuple[str, ...], list[str]] = {}
    for change in changes:
        found.setdefault(_resource_key(change), []).append(change.address)
    return found


def _addressed(change: ResourceChange, known: dict[tuple[str, ...], list[str]]) -> ResourceChange:
    """The change with its address; Terraform 1.0.0 drift entries lack both address and index,
    so when the plan changes exactly one instance of that resource, that is the address."""
    if change.address:
        return change
    candidates = known.get(_resource_key(change), [])
    if change.index is None and len(candidates) == 1:
        address = candidates[0]
    else:
        address = instance_address(
            change.module, change.mode, change.type, change.name, change.index
        )
    return msgspec.structs.replace(change, address=address)


HARMLESS_ACTION_WORDS = frozenset({"create", "read", "update", "no-op", "forget", "move"})
"""Words an unknown action list may hold and still be read (as :attr:`Action.UNKNOWN`, with
a low ``unknown-action`` finding): none of them destroys an object. ``[]`` and ``["move"]``
come from hand-edited plans and older tools."""
TERRAFORM_ACTION_WORDS = frozenset({"create", "read", "update", "delete", "no-op", "forget"})


def _check_unknown_action(change: ResourceChange, where: str) -> None:
    """An action list no Terraform writes: harmless words pass, anything else stops the check."""
    actions = change.change.actions
    if HARMLESS_ACTION_WORDS.issuperset(actions):
        return
    name = printable_name(change.address or f"{change.type}.{change.name}")
    listed = actions_text(actions)
    if TERRAFORM_ACTION_WORDS.issuperset(actions):
        raise PlanUnreadable(
            f"{where}: {name} has actions {listed}, a combination no Terraform or OpenTofu "
            "writes; it may destroy the object, so this plan cannot be checked.",
            hint="Write the plan again with `terraform show -json PLANFILE`: a plan edited by "
            "hand or by another tool cannot be trusted.",
        )
    unknown = ", ".join(
        repr(printable_name(w)) for w in sorted(set(actions) - TERRAFORM_ACTION_WORDS)
    )
    raise PlanUnreadable(
        f"{where}: {name} has actions {listed}; {unknown} is not "
        "an action signalbox knows, so it cannot tell whether the object is destroyed.",
        hint="Write the plan again with `terraform show -json PLANFILE` (a damaged or edited "
        "file cannot be checked); if a newer Terraform wrote it, upgrade signalbox.",
    )

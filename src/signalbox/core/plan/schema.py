"""The top-level shape of a plan document, and the checks that turn it into a :class:`Plan`.

Unknown keys are ignored (newer Terraform versions add some), so are keys we do not need
(``planned_values``, ``prior_state``, ``configuration.root_module`` are skipped by the decoder
without building anything). The few markers read here only serve to say what a JSON document
that is *not* a plan looks like (a state file, ``{}``, ...).
"""

from __future__ import annotations

import re

import msgspec
from msgspec import UNSET, UnsetType

from signalbox.core.errors import PlanFormatUnsupported, PlanUnreadable
from signalbox.core.plan.addresses import instance_address
from signalbox.core.plan.model import (
    DeferredChange,
    Plan,
    ProviderConfig,
    ResourceChange,
    action_of,
)

__all__ = ["SUPPORTED_MAJOR_VERSIONS", "PlanDocument", "to_plan"]

SUPPORTED_MAJOR_VERSIONS = (0, 1)
_VERSION = re.compile(r"^(\d+)\.(\d+)")


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
    """Reject action lists that might destroy something signalbox cannot name, and fill in
    addresses Terraform 1.0.0 left out of drift."""
    for changes in (plan.changes, plan.drift):
        for change in changes:
            if action_of(change.change.actions) is None:
                _check_unknown_action(change, where)
    for deferred in plan.deferred:
        if action_of(deferred.resource_change.change.actions) is None:
            _check_unknown_action(deferred.resource_change, where)
    for name, changes in (("resource_changes", plan.changes), ("resource_drift", plan.drift)):
        for position, change in enumerate(changes):
            if not change.address and not (change.type and change.name):
                raise PlanUnreadable(
                    f"{where}: {name}[{position}] has no address, and no type and name to "
                    "make one from.",
                    hint=_HINT,
                )
    if any(not change.address for change in plan.changes):
        plan.changes[:] = [_addressed(change, {}) for change in plan.changes]
    if any(not change.address for change in plan.drift):
        known = _addresses_by_resource(plan.changes)
        plan.drift[:] = [_addressed(change, known) for change in plan.drift]
    return plan


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
    name = change.address or f"{change.type}.{change.name}"
    listed = "[" + ", ".join(f'"{word}"' for word in actions) + "]"
    if TERRAFORM_ACTION_WORDS.issuperset(actions):
        raise PlanUnreadable(
            f"{where}: {name} has actions {listed}, a combination no Terraform or OpenTofu "
            "writes; it may destroy the object, so this plan cannot be checked.",
            hint="Write the plan again with `terraform show -json PLANFILE`: a plan edited by "
            "hand or by another tool cannot be trusted.",
        )
    unknown = sorted(set(actions) - TERRAFORM_ACTION_WORDS)
    raise PlanUnreadable(
        f"{where}: {name} has actions {listed}; {', '.join(repr(w) for w in unknown)} is not "
        "an action signalbox knows, so it cannot tell whether the object is destroyed.",
        hint="Write the plan again with `terraform show -json PLANFILE` (a damaged or edited "
        "file cannot be checked); if a newer Terraform wrote it, upgrade signalbox.",
    )

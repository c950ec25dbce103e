"""The finding rules: one small function per kind of finding, from a change to findings.

Each rule reads only what it needs of a change (attribute values are decoded lazily and only
compared, never put into a message). Messages name addresses, types and attribute *names*.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from signalbox.core.plan.addresses import attribute_path
from signalbox.core.plan.catalog import ProviderFeature, StatefulType
from signalbox.core.plan.findings import FINDING_KINDS, Finding
from signalbox.core.plan.model import Action, Plan, ResourceChange, actions_text, is_null
from signalbox.core.plan.policy import Policy
from signalbox.core.plan.renames import Rename
from signalbox.core.plan.values import (
    COMPUTED_IDENTIFIERS,
    attribute_value,
    attribute_values,
    differing_names,
    unknown_names,
)

__all__ = [
    "FindingMaker",
    "ReplaceCause",
    "change_findings",
    "forced_attributes",
    "plan_findings",
    "rename_finding",
    "replace_cause",
]

_DELETE_REASONS = {
    "delete_because_no_resource_config": "its configuration was removed",
    "delete_because_count_index": "its count index is no longer in range",
    "delete_because_each_key": "its for_each key is gone",
    "delete_because_no_module": "its module was removed",
    "delete_because_wrong_repetition": "it switched between count and for_each",
    "delete_because_no_move_target": "its moved block points to nothing",
}
_REPLACE_REASONS = {
    "replace_because_tainted": "it is tainted",
    "replace_by_request": "the plan was made with -replace for it",
    "replace_by_triggers": "a replace_triggered_by reference changed",
}


@dataclass(frozen=True, slots=True)
class FindingMaker:
    """Builds findings with their severity from the table and their verdict from the policy."""

    policy: Policy

    def __call__(
        self,
        finding_id: str,
        address: str,
        message: str,
        hint: str,
        *,
        related: tuple[str, ...] = (),
        attributes: tuple[str, ...] = (),
        moved_block: str | None = None,
    ) -> Finding:
        return Finding(
            id=finding_id,
            severity=FINDING_KINDS[finding_id].severity,
            verdict=self.policy.verdict_for(finding_id),
            address=address,
            message=message,
            hint=hint,
            related=related,
            attributes=attributes,
            moved_block=moved_block,
        )


def _deposed(change: ResourceChange) -> str:
    return " (a deposed object left by an earlier create_before_destroy)" if change.deposed else ""


def forcing_attributes(change: ResourceChange) -> tuple[str, ...]:
    """The attributes that force a replacement, in words (``network_interface[0].subnet_id``)."""
    return tuple(dict.fromkeys(attribute_path(path) for path in change.replace_paths))


class _Why(Enum):
    """What a replacement is known to come from; each reads its own cause and hint."""

    FORCED = "forced"  # replace_paths names the forcing attributes
    TAINTED = "replace_because_tainted"
    REQUESTED = "replace_by_request"
    TRIGGERED = "replace_by_triggers"
    DIFFERS = "differs"  # no replace_paths: the attributes that differ are named instead
    SAME = "same"  # no replace_paths and nothing known differs
    UNSAID = "unsaid"  # no replace_paths and before/after cannot be compared


@dataclass(frozen=True, slots=True)
class ReplaceCause:
    """Why a change is replaced, in words, with the attribute names it rests on."""

    why: _Why
    attributes: tuple[str, ...] = ()

    @property
    def words(self) -> str:
        names = ", ".join(self.attributes)
        if self.why is _Why.FORCED:
            return f"because {names} changed and cannot be updated in place"
        if self.why is _Why.DIFFERS and len(self.attributes) == 1:
            return (
                f"because {names} changed (the plan does not name the attribute that forces "
                "the replacement, and this is the only one that differs)"
            )
        if self.why is _Why.DIFFERS:
            return (
                f"because one of {names} changed (the plan does not name the attribute that "
                "forces the replacement; these are the ones that differ)"
            )
        if self.why is _Why.SAME:
            verb = "is" if len(self.attributes) == 1 else "are"
            unknown = f"; {names} {verb} known only after apply" if names else ""
            return (
                "although no value the plan knows changes (probably tainted or planned with "
                f"-replace{unknown})"
            )
        if self.why is _Why.UNSAID:
            return "(the plan does not say which attribute forces it)"
        return f"because {_REPLACE_REASONS[self.why.value]}"


def replace_cause(change: ResourceChange) -> ReplaceCause:
    """From ``replace_paths``, else ``action_reason``, else by comparing before and after.

    Only replaces without ``replace_paths`` or a reason (hand-written plans, Terraform before
    1.2 or so) decode their values. Attributes known only after apply are not named as the
    cause while a known one differs: on a replace every computed attribute is unknown, as a
    consequence, not a cause. Computed identifiers are left out.
    """
    attributes = forcing_attributes(change)
    if attributes:
        return ReplaceCause(_Why.FORCED, attributes)
    if change.action_reason in _REPLACE_REASONS:
        return ReplaceCause(_Why(change.action_reason))
    before, after = attribute_values(change.change.before), attribute_values(change.change.after)
    if before is None or after is None:
        return ReplaceCause(_Why.UNSAID)
    unknown = unknown_names(change.change.after_unknown)
    differing = differing_names(before, after, COMPUTED_IDENTIFIERS | unknown)
    if differing:
        return ReplaceCause(_Why.DIFFERS, tuple(differing))
    return ReplaceCause(_Why.SAME, tuple(sorted(unknown - COMPUTED_IDENTIFIERS)))


def _delete_cause(change: ResourceChange) -> str:
    reason = _DELETE_REASONS.get(change.action_reason or "")
    return f" because {reason}" if reason else ""


def destroy_findings(
    change: ResourceChange, action: Action, stateful: StatefulType | None, make: FindingMaker
) -> list[Finding]:
    """protected-destroy, stateful-destroy/-replace or delete/replace for a destroying change."""
    address = change.address
    replaced = action.is_replace
    why = replace_cause(change) if replaced else None
    attributes = why.attributes if why is not None else ()
    what = f"{address} is {'replaced' if replaced else 'destroyed'}{_deposed(change)}"
    cause = f" {why.words}" if why is not None else _delete_cause(change)
    found: list[Finding] = []
    pattern = make.policy.protecting_pattern(address)
    if pattern is not None:
        message = f"{what}{cause}, and the policy protects it ({pattern})."
        hint = (
            "Do not apply this plan: change the configuration so the resource is kept, or take "
            "it out of `protected` in signalbox.toml if the team agrees it may go."
        )
        found.append(make("protected-destroy", address, message, hint, attributes=attributes))
    if stateful is not None:
        kind = "stateful-replace" if replaced else "stateful-destroy"
        message = f"{what}{cause}: {stateful.loses} will be lost."
        hint = _stateful_replace_hint(why) if why is not None else _STATEFUL_DELETE_HINT
        found.append(make(kind, address, message, hint, attributes=attributes))
    elif why is not None:
        hint = _replace_hint(why)
        found.append(make("replace", address, f"{what}{cause}.", hint, attributes=attributes))
    else:
        hint = "Check that this destroy is intended."
        found.append(make("delete", address, f"{what}{cause}.", hint))
    return found


_STATEFUL_DELETE_HINT = (
    "If the resource was renamed or moved, add a `moved` block; to stop managing it "
    "without destroying it, use a `removed` block with destroy = false; if the destroy is "
    "intended, back up first and get this plan approved."
)
_UNTAINT = "If the object is healthy, `terraform untaint` it or plan without -replace"


def _stateful_replace_hint(cause: ReplaceCause) -> str:
    names = ", ".join(cause.attributes)
    why = cause.why
    if why is _Why.FORCED:
        return (
            f"Revert the change to {names} to keep the object; if the new value "
            "is needed, migrate the data first and get this plan approved."
        )
    if why is _Why.DIFFERS:
        return (
            f"Revert the change to {names} to keep the object (one of them forces the "
            "replacement); if the new value is needed, migrate the data first and get this "
            "plan approved."
        )
    if why is _Why.TRIGGERED:
        return (
            "If the object must stay, keep the replace_triggered_by reference unchanged or "
            "remove the trigger; otherwise back up first and get this plan approved."
        )
    if why is _Why.UNSAID:
        return (
            "Find out what forces the replacement (compare the configuration with the "
            "state) before applying; back up first and get this plan approved."
        )
    return f"{_UNTAINT}; otherwise back up first and get this plan approved."


def _replace_hint(cause: ReplaceCause) -> str:
    why = cause.why
    if why in (_Why.FORCED, _Why.UNSAID):
        return "Check that a new object is acceptable, or revert the change that forces it."
    if why is _Why.DIFFERS:
        return (
            "Check that a new object is acceptable, or revert the change to "
            f"{', '.join(cause.attributes)}."
        )
    if why is _Why.TRIGGERED:
        return (
            "Check that a new object is acceptable, or keep the replace_triggered_by "
            "reference unchanged."
        )
    return f"Check that a new object is acceptable. {_UNTAINT}."


def protection_findings(
    change: ResourceChange, action: Action, stateful: StatefulType, plan: Plan, make: FindingMaker
) -> list[Finding]:
    """protection-disabled (switched off in this plan) and protection-missing (advisory)."""
    found = _argument_findings(change, action, stateful, make)
    if not found and stateful.feature is not None and action in _KEPT:
        found = _feature_findings(change, action, stateful.feature, plan, make)
    return found


def _argument_findings(
    change: ResourceChange, action: Action, stateful: StatefulType, make: FindingMaker
) -> list[Finding]:
    protection = stateful.protection
    if protection is None:
        return []
    argument, protected = protection.argument, _literal(protection.protected)
    address = change.address
    after_known, after = _known_after(change, argument)
    if after_known and _is_protected(after, protection.protected):
        return []  # protected after apply: nothing before it can make that worse
    before_known, before = attribute_value(change.change.before, argument)
    if after_known != before_known and _written_on_both_sides(action, argument, change):
        # Terraform writes every attribute of the schema on both sides of an object that
        # exists before and after: one side without it is an edited or damaged plan, and the
        # missing side may be the one that switches protection off
        message = (
            f"{address} has {argument} on one side of this plan only (Terraform writes it on "
            "both): signalbox cannot tell whether its deletion protection is switched off."
        )
        hint = (
            "Write the plan again with `terraform show -json PLANFILE` (an edited or damaged "
            f"plan cannot be trusted) and check it; until then treat {argument} as switched off."
        )
        return [make("protection-disabled", address, message, hint, attributes=(argument,))]
    if not after_known:
        if (
            before_known
            and _is_protected(before, protection.protected)
            and _unknown_after(action, argument, change)
        ):
            message = (
                f"{address} is protected now ({argument} = {protected}), and {argument} is "
                "known only after apply: signalbox cannot tell whether this plan switches its "
                "deletion protection off."
            )
            hint = (
                f"Set {argument} = {protected} from a value known at plan time, or make sure a "
                "destroy of this resource is intended and agreed before applying."
            )
            return [make("protection-disabled", address, message, hint, attributes=(argument,))]
        return []
    if before_known and _is_protected(before, protection.protected):
        message = (
            f"{address} has its deletion protection switched off in this plan ({argument} "
            "loses its protected value): the first step of a destroy."
        )
        hint = (
            "Make sure a destroy of this resource is intended and agreed before applying; "
            f"otherwise keep {argument} = {protected}."
        )
        return [make("protection-disabled", address, message, hint, attributes=(argument,))]
    if action not in _KEPT:
        return []
    message = (
        f"{address} ({change.type}) is {_kept_verb(action)} without deletion protection "
        f"({argument} is not {protected})."
    )
    hint = (
        f"Set {argument} = {protected} so that a destroy fails until someone turns the "
        "protection off on purpose."
    )
    return [make("protection-missing", address, message, hint, attributes=(argument,))]


def _unknown_after(action: Action, argument: str, change: ResourceChange) -> bool:
    """True when the object is kept and ``argument`` is known only after apply."""
    return action.has_both_values and argument.split(".", 1)[0] in unknown_names(
        change.change.after_unknown
    )


def _written_on_both_sides(action: Action, argument: str, change: ResourceChange) -> bool:
    """True when Terraform would have written the top-level ``argument`` in both ``before``
    and ``after``: for an object that exists before and after, each holds every attribute of
    the provider's schema (null when unset), except that ``after`` leaves out values known
    only after apply (marked in ``after_unknown``). Nested paths are not judged: an absent
    block is a legitimate absence."""
    inner = change.change
    return (
        action.has_both_values
        and "." not in argument
        and not is_null(inner.before)
        and not is_null(inner.after)
        and argument not in unknown_names(inner.after_unknown)
    )


def _feature_findings(
    change: ResourceChange,
    action: Action,
    feature: ProviderFeature,
    plan: Plan,
    make: FindingMaker,
) -> list[Finding]:
    found, value = plan.provider_setting(feature.provider, f"features.{feature.path}")
    if not found or _is_protected(value, feature.protected):
        return []
    message = (
        f"{change.address} ({change.type}) is {_kept_verb(action)} while the "
        f"{feature.provider} provider's features block leaves {feature.path} unprotected."
    )
    hint = (
        f"Set {feature.path} = {_literal(feature.protected)} in the {feature.provider} "
        "provider's features {} block."
    )
    setting = f"features.{feature.path}"
    return [make("protection-missing", change.address, message, hint, attributes=(setting,))]


_KEPT = frozenset({Action.CREATE, Action.UPDATE, Action.NO_OP})


def _kept_verb(action: Action) -> str:
    return "created" if action is Action.CREATE else "kept"


def _known_after(change: ResourceChange, argument: str) -> tuple[bool, Any]:
    """The argument's value after apply, if known at plan time.

    Terraform writes every attribute of the provider's schema in ``after`` (null when unset),
    so an argument that is absent and not unknown does not exist in this provider version:
    nothing to advise then.
    """
    found, value = attribute_value(change.change.after, argument)
    return (True, value) if found else (False, None)


def _is_protected(value: Any, protected: Any) -> bool:
    """A value protects when it equals the protected value; null counts as false (unset)."""
    if value is None:
        return protected is False
    return bool(value == protected and type(value) is type(protected))


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def routine_findings(change: ResourceChange, action: Action, make: FindingMaker) -> list[Finding]:
    """forget, moved and import: changes Terraform handles on purpose."""
    address = change.address
    found: list[Finding] = []
    if action in (Action.FORGET, Action.FORGET_CREATE):
        also = " and a new one is created in its place" if action is Action.FORGET_CREATE else ""
        found.append(
            make(
                "forget",
                address,
                f"{address} is removed from the state; the object itself is kept{also}.",
                "Nothing to do if the `removed` block is intended: the object is no longer "
                "managed by Terraform.",
            )
        )
    if change.previous_address:
        found.append(
            make(
                "moved",
                address,
                f"{change.previous_address} moves to {address} (handled by a moved block).",
                "Nothing to do; the moved block can be removed once every state has been applied.",
                related=(change.previous_address,),
            )
        )
    if change.importing:
        found.append(
            make(
                "import",
                address,
                f"{address} is imported from an existing object.",
                "Check the import target is the intended object.",
            )
        )
    return found


def unknown_action_finding(change: ResourceChange, make: FindingMaker) -> Finding:
    """unknown-action: an action list no Terraform writes, let through by reading because
    none of its words destroys anything."""
    listed = actions_text(change.change.actions)
    return make(
        "unknown-action",
        change.address,
        f"{change.address} has actions {listed}, which no Terraform writes; signalbox reads "
        "it as a change that destroys nothing.",
        "Check where this plan came from: write it with `terraform show -json PLANFILE`, "
        "since an edited plan may not be what Terraform will apply.",
    )


def change_findings(
    change: ResourceChange,
    action: Action,
    stateful: StatefulType | None,
    plan: Plan,
    make: FindingMaker,
) -> list[Finding]:
    """Every per-change finding for one managed resource change."""
    found = destroy_findings(change, action, stateful, make) if action.deletes_object else []
    if action is Action.UNKNOWN:
        found.append(unknown_action_finding(change, make))
    if stateful is not None:
        found.extend(protection_findings(change, action, stateful, plan, make))
    if action not in _QUIET or change.previous_address or change.importing:
        found.extend(routine_findings(change, action, make))
    return found


_QUIET = frozenset(Action) - {Action.FORGET, Action.FORGET_CREATE}


def rename_finding(
    rename: Rename, make: FindingMaker, forced_by: Mapping[str, str] | None = None
) -> Finding:
    """probable-rename. ``forced_by`` maps an attribute to a replace of the same type in the
    plan whose ``replace_paths`` name it: proof that changing it forces a new object."""
    deleted, created = rename.deleted.address, rename.created.address
    hint = "Add the moved block below so Terraform moves the object instead of destroying it."
    changing = _and(rename.changing)
    verb = "changes" if len(rename.changing) == 1 else "change"
    if not rename.changing:
        message = (
            f"{deleted} is deleted and {created} created with the same attributes: "
            "probably a rename."
        )
    else:
        if rename.identity:
            same, also = f"the same {_and(rename.identity)}", f", though {changing} also {verb}"
        else:
            same, also = f"the same attributes except {changing}", ""
        message = (
            f"{deleted} is deleted and {created} created with {same}: probably a rename{also}."
        )
        forced = [(name, (forced_by or {}).get(name)) for name in rename.changing]
        proof = next(((name, where) for name, where in forced if where), None)
        if proof is not None:
            hint += (
                f" After the move, {changing} still {verb}, and a change to {proof[0]} forces "
                f"a replacement ({proof[1]} is replaced for it in this plan): revert it to keep "
                "the object."
            )
        else:
            hint += (
                f" After the move, {changing} still {verb}, in place or by replacing the object: "
                "plan again with the block to see which."
            )
    return make(
        "probable-rename",
        created,
        message,
        hint,
        related=(deleted,),
        attributes=rename.attributes,
        moved_block=rename.moved_block,
    )


def _and(names: tuple[str, ...]) -> str:
    """``name``, ``name and bucket``, ``a, b and c``."""
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def forced_attributes(replaced: Iterable[ResourceChange]) -> dict[str, dict[str, str]]:
    """For each type, the top-level attributes that force a replace in this plan, each with
    the first address replaced for it (from ``replace_paths``)."""
    forced: dict[str, dict[str, str]] = {}
    for change in replaced:
        for path in change.replace_paths:
            if path and isinstance(path[0], str):
                forced.setdefault(change.type, {}).setdefault(path[0], change.address)
    return forced


def plan_findings(plan: Plan, make: FindingMaker) -> list[Finding]:
    """plan-errored, plan-incomplete, deferred and drift: findings about the plan as a whole."""
    found: list[Finding] = []
    if plan.errored:
        found.append(
            make(
                "plan-errored",
                "",
                "Terraform reported errors while making this plan: it is incomplete and cannot be "
                "applied.",
                "Fix the errors `terraform plan` printed, then plan and check again.",
            )
        )
    elif not plan.complete:
        found.append(
            make(
                "plan-incomplete",
                "",
                "This plan is not complete: some changes can only be planned after it is applied.",
                "Apply it only with approval, then plan and check again for the rest.",
            )
        )
    for deferred in plan.deferred:
        address = deferred.resource_change.address
        reason = f" ({deferred.reason})" if deferred.reason else ""
        found.append(
            make(
                "deferred",
                address,
                f"{address} is deferred{reason}: this plan does not show its change yet.",
                "Apply with approval, then plan and check again to see the deferred change.",
            )
        )
    for drifted in plan.drift:
        what = "deleted" if drifted.action is Action.DELETE else "changed"
        found.append(
            make(
                "drift",
                drifted.address,
                f"{drifted.address} was {what} outside Terraform since the last apply.",
                "Find out who changed it and why before applying over it.",
            )
        )
    return found

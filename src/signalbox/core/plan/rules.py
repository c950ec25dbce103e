"""The finding rules: one small function per kind of finding, from a change to findings.

Each rule reads only what it needs of a change (attribute values are decoded lazily and only
compared, never put into a message). Messages name addresses, types and attribute *names*.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from signalbox.core.plan.addresses import attribute_path
from signalbox.core.plan.catalog import ProviderFeature, StatefulType
from signalbox.core.plan.findings import FINDING_KINDS, Finding
from signalbox.core.plan.model import Action, Plan, ResourceChange
from signalbox.core.plan.policy import Policy
from signalbox.core.plan.renames import Rename
from signalbox.core.plan.values import attribute_value

__all__ = ["FindingMaker", "change_findings", "plan_findings", "rename_finding"]

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


def _replace_cause(change: ResourceChange, attributes: tuple[str, ...]) -> str:
    if attributes:
        return f"because {', '.join(attributes)} changed and cannot be updated in place"
    reason = _REPLACE_REASONS.get(change.action_reason or "")
    return f"because {reason}" if reason else "(the plan does not say which attribute forces it)"


def _delete_cause(change: ResourceChange) -> str:
    reason = _DELETE_REASONS.get(change.action_reason or "")
    return f" because {reason}" if reason else ""


def destroy_findings(
    change: ResourceChange, action: Action, stateful: StatefulType | None, make: FindingMaker
) -> list[Finding]:
    """protected-destroy, stateful-destroy/-replace or delete/replace for a destroying change."""
    address = change.address
    replaced = action.is_replace
    attributes = forcing_attributes(change) if replaced else ()
    what = f"{address} is {'replaced' if replaced else 'destroyed'}{_deposed(change)}"
    cause = f" {_replace_cause(change, attributes)}" if replaced else _delete_cause(change)
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
        hint = _stateful_hint(replaced, attributes)
        found.append(make(kind, address, message, hint, attributes=attributes))
    elif replaced:
        hint = "Check that a new object is acceptable, or revert the change that forces it."
        found.append(make("replace", address, f"{what}{cause}.", hint, attributes=attributes))
    else:
        hint = "Check that this destroy is intended."
        found.append(make("delete", address, f"{what}{cause}.", hint))
    return found


def _stateful_hint(replaced: bool, attributes: tuple[str, ...]) -> str:
    if replaced and attributes:
        return (
            f"Revert the change to {', '.join(attributes)} to keep the object; if the new value "
            "is needed, migrate the data first and get this plan approved."
        )
    if replaced:
        return (
            "If the object is healthy, `terraform untaint` it or plan without -replace; "
            "otherwise back up first and get this plan approved."
        )
    return (
        "If the resource was renamed or moved, add a `moved` block; to stop managing it "
        "without destroying it, use a `removed` block with destroy = false; if the destroy is "
        "intended, back up first and get this plan approved."
    )


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
    after_known, after = _known_after(change, argument)
    if not after_known or _is_protected(after, protection.protected):
        return []
    address = change.address
    before_known, before = attribute_value(change.change.before, argument)
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
    listed = "[" + ", ".join(f'"{word}"' for word in change.change.actions) + "]"
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


def rename_finding(rename: Rename, make: FindingMaker) -> Finding:
    deleted, created = rename.deleted.address, rename.created.address
    return make(
        "probable-rename",
        created,
        f"{deleted} is deleted and {created} created with the same attributes: probably a rename.",
        "Add the moved block below so Terraform moves the object instead of destroying it.",
        related=(deleted,),
        attributes=rename.attributes,
        moved_block=rename.moved_block,
    )


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

"""``analyse``: one plan, the catalog and a policy in; findings, counts and a verdict out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from signalbox.core.plan.catalog import Catalog
from signalbox.core.plan.findings import Finding, Verdict
from signalbox.core.plan.model import ACTIONS_BY_JSON, NULL, Action, Plan, ResourceChange
from signalbox.core.plan.policy import Policy
from signalbox.core.plan.renames import Rename, find_renames
from signalbox.core.plan.rules import (
    FindingMaker,
    change_findings,
    forced_attributes,
    plan_findings,
    rename_finding,
)

__all__ = ["COUNT_KEYS", "Analysis", "analyse"]

COUNT_KEYS = (
    "create",
    "update",
    "delete",
    "replace",
    "read",
    "no-op",
    "forget",
    "import",
    "moved",
    "unknown",
)

# The count key of each action. A forget-create counts once, as a forget: the address keeps
# one instance before and after (as in an update or a replace), and what sets it apart from a
# plain replace is that the old object is not destroyed but leaves Terraform's management.
_COUNTED: dict[Action, str] = {
    Action.CREATE: "create",
    Action.UPDATE: "update",
    Action.DELETE: "delete",
    Action.REPLACE: "replace",
    Action.REPLACE_CREATE_FIRST: "replace",
    Action.READ: "read",
    Action.NO_OP: "no-op",
    Action.FORGET: "forget",
    Action.FORGET_CREATE: "forget",
    Action.UNKNOWN: "unknown",
}
# Actions on which a resource outside the catalog, not moved and not imported, needs no rule.
_SILENT = frozenset({Action.UPDATE, Action.NO_OP, Action.READ})


@dataclass(frozen=True, slots=True)
class Analysis:
    """The result of :func:`analyse`: findings sorted most severe first, then by address.

    ``counts`` has every key of :data:`COUNT_KEYS` and is a partition of the changes: each
    resource change counts once, so the counts add up to ``len(plan.changes)``. A change
    counts under its action (a forget-create as a ``forget``), except a no-op that imports
    (``import``) or moves (``moved``): a move or an import that also updates, replaces or
    creates counts under that action, and its ``moved``/``import`` finding tells the rest.
    """

    plan: Plan
    findings: tuple[Finding, ...]
    verdict: Verdict
    counts: Mapping[str, int]
    renames: tuple[Rename, ...] = ()


def analyse(plan: Plan, *, catalog: Catalog, policy: Policy) -> Analysis:
    """Every finding about ``plan`` under ``policy``, the change counts and the verdict.

    The verdict is the worst verdict of the findings (routine when there are none).
    """
    make = FindingMaker(policy)
    findings = plan_findings(plan, make)
    by_action = dict.fromkeys(Action, 0)
    moved = imported = 0
    deletes: list[ResourceChange] = []
    creates: list[ResourceChange] = []
    replaced: list[ResourceChange] = []
    types = catalog.types
    embedding = catalog.embedding_types
    for change in plan.changes:  # the hot loop: keep per-change work minimal
        inner = change.change
        action = ACTIONS_BY_JSON[inner.actions]
        by_action[action] += 1
        previous = change.previous_address
        importing = inner.importing is not NULL and bytes(inner.importing) != b"null"
        if (previous or importing) and action is Action.NO_OP:
            if importing:
                imported += 1
            else:
                moved += 1
        stateful = types.get(change.type)
        if stateful is None and change.type in embedding:
            stateful = catalog.embedded_type(change, action)
        if change.mode != "managed" or (
            stateful is None and action in _SILENT and not previous and not importing
        ):
            continue
        if action is Action.DELETE and not change.deposed:
            deletes.append(change)
        elif action is Action.CREATE:
            creates.append(change)
        elif action.is_replace:
            replaced.append(change)
        findings.extend(change_findings(change, action, stateful, plan, make))
    renames = tuple(find_renames(deletes, creates))
    forced = forced_attributes(replaced) if any(r.changing for r in renames) else {}
    findings.extend(rename_finding(r, make, forced.get(r.created.type)) for r in renames)
    findings.sort(key=Finding.sort_key)
    verdict = max((finding.verdict for finding in findings), default=Verdict.ROUTINE)
    counts = _counts(by_action, moved=moved, imported=imported)
    return Analysis(plan, tuple(findings), verdict, counts, renames)


def _counts(by_action: Mapping[Action, int], *, moved: int, imported: int) -> dict[str, int]:
    """One key per change: ``moved`` and ``imported`` are no-ops taken out of ``no-op``."""
    counts = dict.fromkeys(COUNT_KEYS, 0)
    for action, number in by_action.items():
        counts[_COUNTED[action]] += number
    counts["no-op"] -= moved + imported
    counts["moved"], counts["import"] = moved, imported
    return counts

"""``analyse``: one plan, the catalog and a policy in; findings, counts and a verdict out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from signalbox.core.plan.catalog import Catalog
from signalbox.core.plan.findings import Finding, Verdict
from signalbox.core.plan.model import Action, Plan, ResourceChange
from signalbox.core.plan.policy import Policy
from signalbox.core.plan.renames import Rename, find_renames
from signalbox.core.plan.rules import FindingMaker, change_findings, plan_findings, rename_finding

__all__ = ["COUNT_KEYS", "Analysis", "analyse"]

COUNT_KEYS = ("create", "update", "delete", "replace", "read", "no-op", "forget", "import", "moved")

_COUNTED: dict[Action, tuple[str, ...]] = {
    Action.CREATE: ("create",),
    Action.UPDATE: ("update",),
    Action.DELETE: ("delete",),
    Action.REPLACE: ("replace",),
    Action.REPLACE_CREATE_FIRST: ("replace",),
    Action.READ: ("read",),
    Action.NO_OP: ("no-op",),
    Action.FORGET: ("forget",),
    Action.FORGET_CREATE: ("forget", "create"),
}
# Actions on which a non-catalog resource without a move or an import needs no rule at all.
_SILENT = frozenset({Action.UPDATE, Action.NO_OP, Action.READ})


@dataclass(frozen=True, slots=True)
class Analysis:
    """The result of :func:`analyse`: findings sorted most severe first, then by address."""

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
    counts = dict.fromkeys(COUNT_KEYS, 0)
    findings = plan_findings(plan, make)
    deletes: list[ResourceChange] = []
    creates: list[ResourceChange] = []
    types = catalog.types
    for change in plan.changes:
        action = change.action
        for key in _COUNTED[action]:
            counts[key] += 1
        if change.previous_address:
            counts["moved"] += 1
        importing = change.importing
        if importing:
            counts["import"] += 1
        stateful = types.get(change.type)
        if change.mode != "managed" or (
            action in _SILENT and stateful is None and not importing and not change.previous_address
        ):
            continue
        if action is Action.DELETE and not change.deposed:
            deletes.append(change)
        elif action is Action.CREATE:
            creates.append(change)
        findings.extend(change_findings(change, action, stateful, plan, make))
    renames = tuple(find_renames(deletes, creates))
    findings.extend(rename_finding(rename, make) for rename in renames)
    findings.sort(key=Finding.sort_key)
    verdict = max((finding.verdict for finding in findings), default=Verdict.ROUTINE)
    return Analysis(
        plan=plan, findings=tuple(findings), verdict=verdict, counts=counts, renames=renames
    )

"""Findings: what a plan analysis reports, each with a stable id, a severity and a verdict.

The table :data:`FINDING_KINDS` is the single list of finding ids with their default severity
and default verdict; a policy may change the verdict of any id (never the severity).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = [
    "FINDING_KINDS",
    "Finding",
    "FindingKind",
    "Severity",
    "Verdict",
]


class Verdict(StrEnum):
    """What a plan needs before it may be applied. Ordered: routine < needs-approval < blocked."""

    ROUTINE = "routine"
    NEEDS_APPROVAL = "needs-approval"
    BLOCKED = "blocked"

    @property
    def rank(self) -> int:
        return _VERDICT_RANK[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return self.rank >= other.rank


_VERDICT_RANK = {Verdict.ROUTINE: 0, Verdict.NEEDS_APPROVAL: 1, Verdict.BLOCKED: 2}


class Severity(StrEnum):
    """How much a finding matters to a reader; sorts critical first."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """0 for critical ... 4 for info (sort key: most severe first)."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(Severity)}


@dataclass(frozen=True, slots=True)
class FindingKind:
    """One finding id with its default severity and verdict, and what it means."""

    id: str
    severity: Severity
    verdict: Verdict
    meaning: str


FINDING_KINDS: dict[str, FindingKind] = {
    kind.id: kind
    for kind in (
        FindingKind(
            "stateful-destroy",
            Severity.HIGH,
            Verdict.NEEDS_APPROVAL,
            "A stateful resource (in the catalog) is destroyed; says what is lost.",
        ),
        FindingKind(
            "stateful-replace",
            Severity.HIGH,
            Verdict.NEEDS_APPROVAL,
            "A stateful resource is replaced (destroyed and created again); says what is lost "
            "and which attribute forces the replacement.",
        ),
        FindingKind(
            "protected-destroy",
            Severity.CRITICAL,
            Verdict.BLOCKED,
            "An address listed in the policy's `protected` list is destroyed or replaced.",
        ),
        FindingKind(
            "protection-disabled",
            Severity.HIGH,
            Verdict.NEEDS_APPROVAL,
            "The plan switches a resource's protection argument off (true to false, ACTIVE to "
            "INACTIVE, force_destroy false to true): the first half of a destroy.",
        ),
        FindingKind(
            "protection-missing",
            Severity.LOW,
            Verdict.ROUTINE,
            "A stateful resource is created or kept without its protection value (advisory).",
        ),
        FindingKind(
            "probable-rename",
            Severity.MEDIUM,
            Verdict.ROUTINE,
            "A delete and a create of the same type agree on their attributes: probably a "
            "rename without a `moved` block; carries the block to add.",
        ),
        FindingKind(
            "replace",
            Severity.LOW,
            Verdict.ROUTINE,
            "A resource that is not in the catalog is replaced; names the forcing attribute.",
        ),
        FindingKind(
            "delete",
            Severity.LOW,
            Verdict.ROUTINE,
            "A resource that is not in the catalog is destroyed.",
        ),
        FindingKind(
            "unknown-action",
            Severity.LOW,
            Verdict.ROUTINE,
            'A change has an action list no Terraform writes (`[]`, `["move"]`: a hand-edited '
            "plan or an older tool) and none of its words destroys anything.",
        ),
        FindingKind(
            "forget",
            Severity.INFO,
            Verdict.ROUTINE,
            "A resource is removed from the state and its object kept (`removed` block).",
        ),
        FindingKind(
            "moved",
            Severity.INFO,
            Verdict.ROUTINE,
            "A resource moves to a new address (a `moved` block Terraform handles).",
        ),
        FindingKind(
            "import",
            Severity.INFO,
            Verdict.ROUTINE,
            "An existing object is imported into the state.",
        ),
        FindingKind(
            "drift",
            Severity.INFO,
            Verdict.ROUTINE,
            "An object was changed or deleted outside Terraform since the last apply.",
        ),
        FindingKind(
            "deferred",
            Severity.MEDIUM,
            Verdict.NEEDS_APPROVAL,
            "A change is deferred to a later plan: this plan is partial.",
        ),
        FindingKind(
            "plan-errored",
            Severity.CRITICAL,
            Verdict.BLOCKED,
            "Terraform reported errors while planning: the plan cannot be trusted or applied.",
        ),
        FindingKind(
            "plan-incomplete",
            Severity.MEDIUM,
            Verdict.NEEDS_APPROVAL,
            "The plan is not complete (not every change could be planned) and did not error.",
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing worth saying about a plan.

    ``message`` is one plain sentence; ``hint`` says what to do. ``address`` is empty for
    plan-wide findings (``plan-errored``, ``plan-incomplete``). ``related`` holds other
    addresses involved, ``attributes`` attribute *names* (never values), ``moved_block`` the
    ready-to-paste block of a probable rename.
    """

    id: str
    severity: Severity
    verdict: Verdict
    address: str
    message: str
    hint: str
    related: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()
    moved_block: str | None = None

    def sort_key(self) -> tuple[int, str, str]:
        return (self.severity.rank, self.address, self.id)

    def to_json(self) -> dict[str, Any]:
        """The finding as in the ``signalbox.check/1`` document (empty extras omitted)."""
        document: dict[str, Any] = {
            "id": self.id,
            "severity": self.severity.value,
            "verdict": self.verdict.value,
            "address": self.address,
            "message": self.message,
            "hint": self.hint,
        }
        if self.related:
            document["related"] = list(self.related)
        if self.attributes:
            document["attributes"] = list(self.attributes)
        if self.moved_block is not None:
            document["moved_block"] = self.moved_block
        return document

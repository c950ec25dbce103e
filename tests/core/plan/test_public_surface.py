"""The public surface of signalbox.core.plan and the contract's finding table, pinned."""

from __future__ import annotations

from pathlib import Path

import signalbox.core.plan as plan_package
from signalbox.core.plan import COUNT_KEYS, FINDING_KINDS, Severity, Verdict

DOC = Path(__file__).resolve().parents[3] / "docs" / "plan-analysis.md"

CONTRACT = {
    "stateful-destroy": (Severity.HIGH, Verdict.NEEDS_APPROVAL),
    "stateful-replace": (Severity.HIGH, Verdict.NEEDS_APPROVAL),
    "protected-destroy": (Severity.CRITICAL, Verdict.BLOCKED),
    "protection-disabled": (Severity.HIGH, Verdict.NEEDS_APPROVAL),
    "protection-missing": (Severity.LOW, Verdict.ROUTINE),
    "probable-rename": (Severity.MEDIUM, Verdict.ROUTINE),
    "replace": (Severity.LOW, Verdict.ROUTINE),
    "delete": (Severity.LOW, Verdict.ROUTINE),
    "unknown-action": (Severity.LOW, Verdict.ROUTINE),
    "forget": (Severity.INFO, Verdict.ROUTINE),
    "moved": (Severity.INFO, Verdict.ROUTINE),
    "import": (Severity.INFO, Verdict.ROUTINE),
    "drift": (Severity.INFO, Verdict.ROUTINE),
    "deferred": (Severity.MEDIUM, Verdict.NEEDS_APPROVAL),
    "plan-errored": (Severity.CRITICAL, Verdict.BLOCKED),
    "plan-incomplete": (Severity.MEDIUM, Verdict.NEEDS_APPROVAL),
}


def test_the_public_names() -> None:
    assert sorted(plan_package.__all__) == sorted(
        [
            "COUNT_KEYS",
            "FINDING_KINDS",
            "SCHEMA",
            "Action",
            "Analysis",
            "Catalog",
            "DeferredChange",
            "Finding",
            "FindingKind",
            "Plan",
            "Policy",
            "Protection",
            "ProviderFeature",
            "Rename",
            "ResourceChange",
            "Severity",
            "StatefulType",
            "Verdict",
            "analyse",
            "check_document",
            "find_renames",
            "moved_block",
            "parse_policy",
            "read_plans",
        ]
    )
    assert all(hasattr(plan_package, name) for name in plan_package.__all__)


def test_finding_ids_severities_and_default_verdicts_follow_the_contract() -> None:
    assert {k.id: (k.severity, k.verdict) for k in FINDING_KINDS.values()} == CONTRACT


def test_the_guide_documents_every_finding_and_count() -> None:
    text = DOC.read_text(encoding="utf-8")
    for finding_id in FINDING_KINDS:
        assert f"| `{finding_id}` |" in text, finding_id
    for key in COUNT_KEYS:
        assert f"`{key}`" in text, key

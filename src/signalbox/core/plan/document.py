"""The ``signalbox.check/1`` JSON document: what ``signalbox check --format json`` prints and
what the server stores as a plan analysis. It never contains attribute values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from signalbox.core.plan.analysis import COUNT_KEYS, Analysis
from signalbox.core.plan.findings import Verdict

__all__ = ["SCHEMA", "check_document", "plan_document"]

SCHEMA = "signalbox.check/1"


def check_document(analyses: Sequence[Analysis], *, environment: str) -> dict[str, Any]:
    """The whole document for one check: every plan, and the worst verdict as ``verdict``."""
    verdict = max((analysis.verdict for analysis in analyses), default=Verdict.ROUTINE)
    return {
        "schema": SCHEMA,
        "environment": environment,
        "verdict": verdict.value,
        "plans": [plan_document(analysis) for analysis in analyses],
    }


def plan_document(analysis: Analysis) -> dict[str, Any]:
    """One entry of ``plans``: metadata, counts, findings and drift of one plan document."""
    plan = analysis.plan
    return {
        "source": plan.source,
        "index": plan.index,
        "terraform_version": plan.terraform_version,
        "format_version": plan.format_version,
        "digest": plan.digest,
        "verdict": analysis.verdict.value,
        "errored": plan.errored,
        "complete": plan.complete,
        "counts": {key: analysis.counts.get(key, 0) for key in COUNT_KEYS},
        "findings": [finding.to_json() for finding in analysis.findings],
        "drift": [
            {"address": drifted.address, "action": drifted.action.value} for drifted in plan.drift
        ],
    }

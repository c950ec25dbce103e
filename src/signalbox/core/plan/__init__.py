"""Pure Terraform plan analysis: read plan JSON, find what matters, decide a verdict.

    read_plans(data, source=...)        bytes -> [Plan]          (reading.py, schema.py)
    parse_policy(environment, document) signalbox.toml -> Policy (policy.py)
    analyse(plan, catalog=, policy=)    Plan -> Analysis         (analysis.py, rules.py,
                                                                  renames.py)
    check_document(analyses, environment=)  -> signalbox.check/1 JSON (document.py)

Nothing here reads files, the clock or the environment: bytes and values in, values out.
"""

from signalbox.core.plan.analysis import COUNT_KEYS, Analysis, analyse
from signalbox.core.plan.catalog import Catalog, Protection, ProviderFeature, StatefulType
from signalbox.core.plan.document import SCHEMA, check_document
from signalbox.core.plan.findings import FINDING_KINDS, Finding, FindingKind, Severity, Verdict
from signalbox.core.plan.model import Action, DeferredChange, Plan, ResourceChange
from signalbox.core.plan.policy import Policy, parse_policy
from signalbox.core.plan.reading import read_plans
from signalbox.core.plan.renames import Rename, find_renames, moved_block

__all__ = [
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

"""Builders of plan JSON and test catalogs for the plan-analysis tests (no I/O)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from signalbox.core.plan import Analysis, Catalog, Plan, analyse, parse_policy, read_plans
from signalbox.core.plan.catalog import parse_catalog

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "plans"

# A catalog written here, not the shipped one, so these tests do not move when the data does.
CATALOG = parse_catalog(
    [
        {
            "type": "aws_cognito_user_pool",
            "loses": "every user account",
            "protection": {"argument": "deletion_protection", "protected": "ACTIVE"},
        },
        {
            "type": "aws_db_instance",
            "loses": "the database",
            "protection": {"argument": "deletion_protection", "protected": True},
        },
        {
            "type": "aws_s3_bucket",
            "loses": "every object in the bucket",
            "protection": {"argument": "force_destroy", "protected": False},
        },
        {
            "type": "google_sql_database_instance",
            "loses": "the database",
            "protection": {"argument": "deletion_protection", "protected": True},
        },
        {
            "type": "google_container_cluster",
            "loses": "the cluster",
            "protection": {"argument": "deletion_protection", "protected": True},
        },
        {
            "type": "aws_cloudwatch_log_group",
            "loses": "the logs",
            "protection": {"argument": "skip_destroy", "protected": True},
        },
        {
            "type": "azurerm_key_vault",
            "loses": "every key, secret and certificate",
            "feature": {
                "provider": "azurerm",
                "path": "key_vault.purge_soft_delete_on_destroy",
                "protected": False,
            },
        },
        {"type": "local_file", "loses": "the file's content"},
    ]
)
EMPTY_CATALOG = Catalog(types={})
DEFAULT_POLICY = parse_policy("dev", {})


def fixture_bytes(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def read_fixture(relative: str) -> Plan:
    (plan,) = read_plans(fixture_bytes(relative), source=relative)
    return plan


def pairs(analysis: Analysis) -> set[tuple[str, str]]:
    """The (finding id, address) pairs of an analysis."""
    return {(finding.id, finding.address) for finding in analysis.findings}


def analyse_fixture(relative: str, catalog: Catalog = CATALOG, **policy: Any) -> Analysis:
    return analyse(read_fixture(relative), catalog=catalog, policy=parse_policy("dev", policy))


def resource(
    address: str,
    actions: list[str],
    *,
    before: Any = None,
    after: Any = None,
    after_unknown: Any = None,
    mode: str = "managed",
    **extra: Any,
) -> dict[str, Any]:
    """One resource_changes entry; type and name are taken from the address."""
    parts = address.split(".")
    local = 3 if mode == "data" else 2
    module = ".".join(parts[:-local]) if len(parts) > local else None
    resource_type, name = parts[-2], parts[-1].split("[")[0]
    entry: dict[str, Any] = {
        "address": address,
        "mode": mode,
        "type": resource_type,
        "name": name,
        "provider_name": "registry.terraform.io/hashicorp/" + resource_type.split("_")[0],
        "change": {
            "actions": actions,
            "before": before,
            "after": after,
            "after_unknown": after_unknown if after_unknown is not None else {},
            "before_sensitive": {},
            "after_sensitive": {},
        },
    }
    if module:
        entry["module_address"] = module
    change_keys = {"replace_paths", "importing"}
    for key, value in extra.items():
        (entry["change"] if key in change_keys else entry)[key] = value
    return entry


def plan_bytes(*changes: dict[str, Any], **top: Any) -> bytes:
    """A plan document in format 1.2 with these resource changes."""
    document: dict[str, Any] = {
        "format_version": "1.2",
        "terraform_version": "1.15.5",
        "planned_values": {"root_module": {}},
        "resource_changes": list(changes),
        "errored": False,
        "complete": True,
        "applyable": True,
    }
    document.update(top)
    return orjson.dumps(document)


def analyse_changes(*changes: dict[str, Any], catalog: Catalog = CATALOG, **top: Any) -> Analysis:
    (plan,) = read_plans(plan_bytes(*changes, **top), source="plan.json")
    return analyse(plan, catalog=catalog, policy=DEFAULT_POLICY)

"""The shipped catalog of stateful types, and how user entries are parsed."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

import pytest

from signalbox.core.errors import ConfigError
from signalbox.core.plan.catalog import Protection, ProviderFeature, parse_catalog

# Arguments whose protected value is a provider enum (a string), per type; every other
# protection argument is a boolean.
STRING_PROTECTIONS = {
    ("aws_cognito_user_pool", "deletion_protection"): "ACTIVE",
    ("google_bigtable_table", "deletion_protection"): "PROTECTED",
    ("google_firestore_database", "delete_protection_state"): "DELETE_PROTECTION_ENABLED",
    ("google_project", "deletion_policy"): "PREVENT",
}
# Arguments that *allow* a destroy when true: protected means false.
PERMISSIVE_ARGUMENTS = {
    "force_destroy",
    "force_delete",
    "delete_contents_on_destroy",
    "close_on_deletion",
}


def shipped_entries() -> list[dict[str, Any]]:
    text = resources.files("signalbox").joinpath("data/catalog.toml").read_text("utf-8")
    entries: list[dict[str, Any]] = tomllib.loads(text)["type"]
    return entries


def test_shipped_catalog_parses_with_at_least_60_distinct_types() -> None:
    entries = shipped_entries()
    catalog = parse_catalog(entries)
    assert len(catalog) >= 60
    assert len(catalog) == len(entries), "a type is listed twice"


def test_shipped_catalog_covers_aws_google_and_azure() -> None:
    catalog = parse_catalog(shipped_entries())
    by_cloud = {prefix: 0 for prefix in ("aws_", "google_", "azurerm_")}
    for resource_type in catalog.types:
        for prefix in by_cloud:
            if resource_type.startswith(prefix):
                by_cloud[prefix] += 1
    assert all(count >= 15 for count in by_cloud.values()), by_cloud
    assert sum(by_cloud.values()) == len(catalog), "a type outside the three clouds"


def test_every_entry_says_in_words_what_is_lost() -> None:
    for entry in parse_catalog(shipped_entries()).types.values():
        assert len(entry.loses.split()) >= 4, entry.type
        assert not entry.loses.endswith("."), entry.type


def test_protected_values_have_the_type_of_their_argument() -> None:
    protections = [
        (entry.type, entry.protection)
        for entry in parse_catalog(shipped_entries()).types.values()
        if entry.protection is not None
    ]
    assert len(protections) >= 30
    for resource_type, protection in protections:
        key = (resource_type, protection.argument)
        if key in STRING_PROTECTIONS:
            assert protection.protected == STRING_PROTECTIONS[key], key
        elif protection.argument in PERMISSIVE_ARGUMENTS:
            assert protection.protected is False, key
        else:
            assert protection.protected is True, key


def test_features_are_azurerm_settings_with_boolean_values() -> None:
    features = [
        entry.feature
        for entry in parse_catalog(shipped_entries()).types.values()
        if entry.feature is not None
    ]
    assert len(features) >= 8
    for feature in features:
        assert feature.provider == "azurerm"
        assert isinstance(feature.protected, bool)
        assert feature.path.count(".") == 1


@pytest.mark.parametrize(
    ("resource_type", "protection"),
    [
        ("aws_cognito_user_pool", Protection("deletion_protection", "ACTIVE")),
        ("aws_db_instance", Protection("deletion_protection", True)),
        ("aws_rds_cluster", Protection("deletion_protection", True)),
        ("aws_dynamodb_table", Protection("deletion_protection_enabled", True)),
        ("aws_s3_bucket", Protection("force_destroy", False)),
        ("aws_lb", Protection("enable_deletion_protection", True)),
        ("aws_ecr_repository", Protection("force_delete", False)),
        ("aws_route53_zone", Protection("force_destroy", False)),
        ("google_sql_database_instance", Protection("deletion_protection", True)),
        ("google_bigquery_table", Protection("deletion_protection", True)),
        ("google_container_cluster", Protection("deletion_protection", True)),
        ("google_storage_bucket", Protection("force_destroy", False)),
        ("aws_kms_key", None),
        ("aws_sqs_queue", None),
        ("azurerm_storage_account", None),
    ],
)
def test_exact_protections(resource_type: str, protection: Protection | None) -> None:
    entry = parse_catalog(shipped_entries()).get(resource_type)
    assert entry is not None
    assert entry.protection == protection


def test_exact_azure_features() -> None:
    catalog = parse_catalog(shipped_entries())
    key_vault = catalog.get("azurerm_key_vault")
    group = catalog.get("azurerm_resource_group")
    assert key_vault is not None and group is not None
    assert key_vault.feature == ProviderFeature(
        "azurerm", "key_vault.purge_soft_delete_on_destroy", False
    )
    assert group.feature == ProviderFeature(
        "azurerm", "resource_group.prevent_deletion_if_contains_resources", True
    )


def test_route53_zone_says_records_and_name_servers_are_lost() -> None:
    entry = parse_catalog(shipped_entries()).get("aws_route53_zone")
    assert entry is not None
    assert "record" in entry.loses and "name servers" in entry.loses


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("aws_db_instance", "must be a table"),
        ({"loses": "data"}, "has no type"),
        ({"type": "x_thing"}, "does not say what is lost"),
        ({"type": "x_thing", "loses": ""}, "does not say what is lost"),
        ({"type": "x_thing", "loses": "data", "protection": {"argument": "a"}}, "protection needs"),
        ({"type": "x_thing", "loses": "data", "protection": True}, "protection needs"),
        ({"type": "x_thing", "loses": "data", "feature": {"path": "a.b"}}, "feature needs"),
    ],
)
def test_bad_user_entries_are_config_errors(raw: Any, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_catalog([raw], where="[[catalog]]")
    assert words in caught.value.message
    assert caught.value.message.startswith("[[catalog]] entry 1")
    assert caught.value.hint


def test_user_entries_extend_and_replace_shipped_ones() -> None:
    shipped = parse_catalog(shipped_entries())
    user = parse_catalog(
        [
            {"type": "acme_ledger", "loses": "every booking in the ledger"},
            {
                "type": "aws_sqs_queue",
                "loses": "the order queue and its messages",
                "protection": {"argument": "x", "protected": True},
            },
        ],
        where="[[catalog]]",
    )
    merged = shipped.extended(user.types.values())
    assert len(merged) == len(shipped) + 1
    assert "acme_ledger" in merged
    queue = merged.get("aws_sqs_queue")
    assert queue is not None and queue.loses == "the order queue and its messages"

"""The shipped catalog of stateful types, and how user entries are parsed."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.core.plan.builders import EMPTY_CATALOG, analyse_changes, resource

from signalbox.core.errors import ConfigError
from signalbox.core.plan.catalog import (
    EMBEDDING_TYPES,
    Catalog,
    Protection,
    ProviderFeature,
    loss_problem,
    parse_catalog,
)

PROVIDERS = ("aws", "azurerm", "azapi", "google", "kubernetes")
PATH = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")

# Arguments whose protected value is a provider enum (a string), per type; every other
# protection argument is a boolean.
STRING_PROTECTIONS = {
    ("aws_cognito_user_pool", "deletion_protection"): "ACTIVE",
    ("google_bigtable_table", "deletion_protection"): "PROTECTED",
    ("google_firestore_database", "delete_protection_state"): "DELETE_PROTECTION_ENABLED",
    ("google_project", "deletion_policy"): "PREVENT",
    ("aws_sagemaker_domain", "retention_policy.home_efs_file_system"): "Retain",
    ("kubernetes_persistent_volume", "spec.persistent_volume_reclaim_policy"): "Retain",
    ("kubernetes_persistent_volume_v1", "spec.persistent_volume_reclaim_policy"): "Retain",
    (
        "kubernetes_stateful_set",
        "spec.persistent_volume_claim_retention_policy.when_deleted",
    ): "Retain",
    (
        "kubernetes_stateful_set_v1",
        "spec.persistent_volume_claim_retention_policy.when_deleted",
    ): "Retain",
}
# Arguments that *allow* a destroy when true: protected means false.
PERMISSIVE_ARGUMENTS = {
    "force_destroy",
    "force_delete",
    "delete_contents_on_destroy",
    "close_on_deletion",
    "delete_os_disk_on_termination",
}


def shipped_entries() -> list[dict[str, Any]]:
    text = resources.files("signalbox").joinpath("data/catalog.toml").read_text("utf-8")
    entries: list[dict[str, Any]] = tomllib.loads(text)["type"]
    return entries


def test_shipped_catalog_parses_with_every_entry_distinct() -> None:
    entries = shipped_entries()
    catalog = parse_catalog(entries)
    assert len(catalog) == len(entries), "a type (or azapi type) is listed twice"


def counts_per_provider(catalog: Catalog) -> dict[str, int]:
    """Distinct resource types per provider; azapi counts the Azure types it classifies."""
    counts = {provider: 0 for provider in PROVIDERS}
    for entry in catalog.types.values():
        if entry.type not in EMBEDDING_TYPES:
            counts[entry.type.split("_", 1)[0]] += 1
    counts["azapi"] = len(catalog.embedded["azapi_resource"])
    return counts


def test_shipped_catalog_knows_200_types_across_five_providers() -> None:
    catalog = parse_catalog(shipped_entries())
    counts = counts_per_provider(catalog)
    assert sum(counts.values()) >= 200, counts
    assert counts["aws"] >= 60 and counts["google"] >= 40 and counts["azurerm"] >= 40, counts
    assert counts["azapi"] >= 40 and counts["kubernetes"] >= 10, counts


def test_every_type_belongs_to_a_known_provider() -> None:
    for entry in parse_catalog(shipped_entries()).types.values():
        assert entry.type.split("_", 1)[0] in PROVIDERS, entry.type


def test_azure_types_are_unique_and_only_on_azure_entries() -> None:
    seen: set[str] = set()
    for entry in shipped_entries():
        if "azure_type" not in entry:
            continue
        assert entry["type"].startswith(("azurerm_", "azapi_")), entry["type"]
        name = entry["azure_type"].lower()
        assert "@" not in name and name not in seen, entry["azure_type"]
        seen.add(name)


def test_kubernetes_types_come_in_plain_and_v1_pairs_with_one_kind() -> None:
    catalog = parse_catalog(shipped_entries())
    plain = {t for t in catalog.types if t.startswith("kubernetes_") and not t.endswith("_v1")}
    assert plain == {
        "kubernetes_persistent_volume_claim",
        "kubernetes_persistent_volume",
        "kubernetes_stateful_set",
        "kubernetes_namespace",
        "kubernetes_secret",
    }
    for name in plain:
        entry, v1 = catalog.types[name], catalog.types[f"{name}_v1"]
        assert (entry.loses, entry.protection) == (v1.loses, v1.protection), name
        assert entry.kind is None and v1.kind, name
    assert "kubernetes_config_map" not in catalog and "kubernetes_config_map_v1" not in catalog


def test_protection_paths_are_dotted_names() -> None:
    for entry in parse_catalog(shipped_entries()).types.values():
        if entry.protection is not None:
            assert PATH.match(entry.protection.argument), (entry.type, entry.protection)
        if entry.feature is not None:
            assert PATH.match(entry.feature.path), (entry.type, entry.feature)
        if entry.type in EMBEDDING_TYPES:
            assert entry.protection is None and entry.feature is None, entry.key


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


@pytest.mark.parametrize(
    ("loses", "words"),
    [
        ("the key: everything under it", "contains ':' or ';'"),
        ("the keys; every system using them", "contains ':' or ';'"),
        ("the data. Backups too", "full stop"),
        ("the data.", "full stop"),
        ("The data in the table", "lower-case"),
        (" the data", "spaces or line breaks"),
        ("the key material after which everything\nbreaks", "spaces or line breaks"),
        ("the key, everything encrypted under it becomes unreadable", "the verb 'becomes'"),
        ("the role id, trust policies stop working", "the verb 'stop'"),
        ("the name servers (the registrar must be updated)", "the verb 'must'"),
    ],
)
def test_user_entries_whose_loss_is_not_a_noun_phrase_are_config_errors(
    loses: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_catalog([{"type": "acme_ledger", "loses": loses}], where="[[catalog]]")
    message = caught.value.message
    assert message.startswith("[[catalog]] entry 1 (acme_ledger): loses ")
    assert words in message
    assert "will be lost" in message, "the message says which sentence the text goes into"
    assert caught.value.hint and "noun phrase" in caught.value.hint
    assert loses.strip() not in message, "the user's text is not echoed"


@pytest.mark.parametrize(
    "loses",
    [
        "the database (unless a final snapshot is taken), and its endpoint",
        "the role's unique id, which trust policies in other accounts refer to",
        "the AWS account and everything in it when it is closed",
        "every message in the queue, and the queue URL that apps are configured with",
        "the distribution's cloudfront.net domain name",
    ],
)
def test_noun_phrases_with_subordinate_clauses_are_accepted(loses: str) -> None:
    catalog = parse_catalog([{"type": "acme_ledger", "loses": loses}], where="[[catalog]]")
    entry = catalog.get("acme_ledger")
    assert entry is not None and entry.loses == loses


@given(st.text(min_size=1, max_size=60))
def test_an_accepted_loss_makes_one_sentence_with_one_colon(loses: str) -> None:
    if loss_problem(loses) is not None:
        return
    sentence = f"x.y is destroyed: {loses} will be lost."
    assert sentence.count(":") == 1 and ";" not in sentence
    assert ". " not in sentence and sentence.endswith(" will be lost.")
    assert loses[0].islower() and loses == loses.strip()


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"type": "azapi_resource", "loses": "every row"}, "does not say which Azure type"),
        ({"type": "kubernetes_manifest", "loses": "every row"}, "does not say which kind"),
        ({"type": "azapi_resource", "loses": "every row", "azure_type": "storage"}, "not a valid"),
        ({"type": "azapi_resource", "loses": "every row", "azure_type": 3}, "not a valid"),
        ({"type": "kubernetes_manifest", "loses": "every row", "kind": "secret"}, "not a valid"),
    ],
)
def test_bad_embedded_entries_are_config_errors(raw: Any, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_catalog([raw], where="[[catalog]]")
    assert words in caught.value.message
    assert caught.value.hint


AZAPI_CATALOG = parse_catalog(
    [
        {
            "type": "azurerm_storage_account",
            "azure_type": "Microsoft.Storage/storageAccounts",
            "loses": "every blob in the account",
            "protection": {"argument": "x", "protected": True},
        },
        {
            "type": "azapi_resource",
            "azure_type": "Microsoft.Search/searchServices@2024-06-01",
            "loses": "every index in the service",
        },
        {"type": "kubernetes_secret_v1", "kind": "Secret", "loses": "the secret's data"},
    ]
)


def test_embedding_types_are_computed_once_and_only_for_known_kinds() -> None:
    assert AZAPI_CATALOG.embedding_types == {"azapi_resource", "kubernetes_manifest"}
    assert AZAPI_CATALOG.embedding_types is AZAPI_CATALOG.embedding_types
    assert EMPTY_CATALOG.embedding_types == frozenset()
    plain = parse_catalog([{"type": "aws_sqs_queue", "loses": "every message"}])
    assert plain.embedding_types == frozenset()


def azapi(actions: list[str], before: Any = None, after: Any = None) -> dict[str, Any]:
    return resource("azapi_resource.thing", actions, before=before, after=after)


def stateful_messages(*changes: dict[str, Any]) -> list[str]:
    analysis = analyse_changes(*changes, catalog=AZAPI_CATALOG)
    return [f.message for f in analysis.findings if f.id.startswith("stateful-")]


@given(
    st.sampled_from(["Microsoft.Storage/storageAccounts", "microsoft.storage/STORAGEACCOUNTS"]),
    st.sampled_from(["", "@2023-01-01", "@2021-04-01-preview"]),
)
def test_azapi_types_match_in_any_case_with_any_api_version(name: str, version: str) -> None:
    (message,) = stateful_messages(azapi(["delete"], before={"type": name + version}))
    assert message == (
        "azapi_resource.thing is destroyed: every blob in the account (Azure type "
        "Microsoft.Storage/storageAccounts) will be lost."
    )


def test_azapi_only_entries_and_unknown_azure_types() -> None:
    (search,) = stateful_messages(
        azapi(["delete"], before={"type": "Microsoft.Search/searchServices@2025-05-01"})
    )
    assert "every index in the service (Azure type Microsoft.Search/searchServices)" in search
    assert not stateful_messages(azapi(["delete"], before={"type": "Microsoft.Web/sites@2024"}))
    # Terraform always writes the type: a destroy without one (an edited or damaged plan)
    # could be of any kind, so it is treated as stateful, and says why
    (untyped,) = stateful_messages(azapi(["delete"], before={"name": "no type at all"}))
    assert "the plan does not name its Azure type" in untyped


def test_azapi_replace_is_classified_by_the_object_it_destroys() -> None:
    old, new = {"type": "Microsoft.Storage/storageAccounts@1"}, {"type": "Microsoft.Web/sites@1"}
    (message,) = stateful_messages(azapi(["delete", "create"], before=old, after=new))
    assert "storageAccounts" in message
    assert not stateful_messages(azapi(["delete", "create"], before=new, after=old))


def test_azapi_creates_get_no_azurerm_protection_advice() -> None:
    after = {"type": "Microsoft.Storage/storageAccounts@2023-01-01", "x": False}
    analysis = analyse_changes(azapi(["create"], after=after), catalog=AZAPI_CATALOG)
    assert analysis.findings == ()
    typed = resource("azurerm_storage_account.a", ["create"], after={"x": False})
    (missing,) = analyse_changes(typed, catalog=AZAPI_CATALOG).findings
    assert missing.id == "protection-missing", "the same argument on azurerm is advised"


def test_kubernetes_manifest_is_classified_by_its_kind() -> None:
    manifest = {"manifest": {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a"}}}
    change = resource("kubernetes_manifest.token", ["delete"], before=manifest)
    (finding,) = analyse_changes(change, catalog=AZAPI_CATALOG).findings
    assert finding.id == "stateful-destroy"
    assert finding.message.endswith("the secret's data (kind Secret) will be lost.")
    other = {"manifest": {"apiVersion": "v1", "kind": "ConfigMap"}}
    (plain,) = analyse_changes(
        resource("kubernetes_manifest.cm", ["delete"], before=other), catalog=AZAPI_CATALOG
    ).findings
    assert plain.id == "delete"


def test_user_azapi_entries_survive_extending_the_shipped_catalog() -> None:
    shipped = parse_catalog(shipped_entries())
    user = parse_catalog(
        [
            {
                "type": "azapi_resource",
                "azure_type": "Microsoft.Web/sites",
                "loses": "the site's deployment slots and their content",
            },
            {
                "type": "azapi_resource",
                "azure_type": "Microsoft.Storage/storageAccounts",
                "loses": "the order archive",
            },
        ],
        where="[[catalog]]",
    )
    merged = shipped.extended(user.types.values())
    table = merged.embedded["azapi_resource"]
    assert table["microsoft.web/sites"].loses.startswith("the site's deployment slots")
    assert table["microsoft.storage/storageaccounts"].loses.startswith("the order archive")
    assert len(table) == len(shipped.embedded["azapi_resource"]) + 1
    storage = merged.get("azurerm_storage_account")
    assert storage is not None and storage.loses.startswith("every blob")

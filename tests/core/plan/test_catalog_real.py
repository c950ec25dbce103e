"""The SHIPPED catalog on real plans: Kubernetes, azapi and Google project/folder deletes.

Plans from tests/fixtures/plans (public copies, and destroys derived from them, listed in
derived/MANIFEST.md).
"""

from __future__ import annotations

import orjson
from tests.core.plan.builders import analyse_fixture, fixture_bytes, pairs

from signalbox.core.plan import Verdict
from signalbox.services.plan_check import shipped_catalog

CATALOG = shipped_catalog()
AUTOMATION = "Microsoft.Automation/automationAccounts"


def plan_types(relative: str) -> set[str]:
    """The managed resource types a plan changes."""
    document = orjson.loads(fixture_bytes(relative))
    changes = document.get("resource_changes", [])
    return {entry["type"] for entry in changes if entry.get("mode", "managed") == "managed"}


def test_the_k8s_demo_creates_a_namespace_and_a_secret_the_catalog_knows() -> None:
    relative = "public/demo-k8s-monitoring/tfplan.json"
    assert plan_types(relative) == {
        "kubernetes_namespace",
        "kubernetes_secret",
        "kubernetes_deployment",
    }
    assert "kubernetes_namespace" in CATALOG and "kubernetes_secret" in CATALOG
    assert "kubernetes_deployment" not in CATALOG, "a deployment's pods come back as they were"
    analysis = analyse_fixture(relative, catalog=CATALOG)
    assert analysis.findings == (), "creates are routine; neither type has a protection argument"
    assert analysis.verdict is Verdict.ROUTINE


def test_destroying_the_k8s_demo_needs_approval_for_the_namespace_and_the_secret() -> None:
    analysis = analyse_fixture("derived/demo-k8s-monitoring-destroy.json", catalog=CATALOG)
    assert pairs(analysis) == {
        ("stateful-destroy", "kubernetes_namespace.demo"),
        ("stateful-destroy", "kubernetes_secret.demo"),
        ("delete", "kubernetes_deployment.demo"),
    }
    assert analysis.verdict is Verdict.NEEDS_APPROVAL
    messages = {f.address: f.message for f in analysis.findings}
    namespace = CATALOG.get("kubernetes_namespace")
    assert namespace is not None
    assert messages["kubernetes_namespace.demo"] == (
        f"kubernetes_namespace.demo is destroyed: {namespace.loses} will be lost."
    )
    assert "persistent volume claims" in namespace.loses
    assert "secret's data" in messages["kubernetes_secret.demo"]


def test_luminortask_kubernetes_and_helm_creates_add_no_findings() -> None:
    relative = "public/luminortask/tfplan.json"
    kubernetes = {t for t in plan_types(relative) if t.startswith(("kubernetes_", "helm_"))}
    assert kubernetes == {"kubernetes_namespace", "kubernetes_config_map_v1_data", "helm_release"}
    assert "kubernetes_namespace" in CATALOG
    assert "kubernetes_config_map_v1_data" not in CATALOG and "helm_release" not in CATALOG
    analysis = analyse_fixture(relative, catalog=CATALOG)
    assert pairs(analysis) == {
        ("protection-missing", "module.eks.module.eks.aws_cloudwatch_log_group.this[0]")
    }
    assert analysis.verdict is Verdict.ROUTINE


def test_the_azapi_automation_account_replace_names_its_azure_type() -> None:
    analysis = analyse_fixture("public/tfplan2md/azapi-replace-complete-plan.json", CATALOG)
    (finding,) = analysis.findings
    assert (finding.id, finding.address) == (
        "stateful-replace",
        "azapi_resource.automation_account",
    )
    assert finding.message.endswith(f"(Azure type {AUTOMATION}) will be lost.")
    assert "runbooks" in finding.message
    assert analysis.verdict is Verdict.NEEDS_APPROVAL


def test_an_azapi_delete_is_classified_from_before() -> None:
    analysis = analyse_fixture("derived/azapi-delete-automation-account.json", CATALOG)
    (finding,) = analysis.findings
    entry = CATALOG.get("azurerm_automation_account")
    assert entry is not None and entry.azure_type == AUTOMATION
    assert finding.id == "stateful-destroy"
    assert finding.message == (
        "azapi_resource.automation_account is destroyed: "
        f"{entry.loses} (Azure type {AUTOMATION}) will be lost."
    )


def test_deleting_a_google_project_and_folder_needs_approval() -> None:
    analysis = analyse_fixture(
        "public/terraform-validator/tf12plan-delete-resources.json", catalog=CATALOG
    )
    assert pairs(analysis) == {
        ("stateful-destroy", "google_project.example_tf_project"),
        ("stateful-destroy", "google_folder.example_tf_folder"),
        ("delete", "google_folder_iam_policy.policy"),
        ("delete", "google_organization_iam_binding.binding"),
        ("delete", "google_organization_iam_member.member"),
        ("delete", "google_project_iam_policy.policy"),
    }
    assert analysis.verdict is Verdict.NEEDS_APPROVAL
    (project,) = [f for f in analysis.findings if f.address == "google_project.example_tf_project"]
    assert "every resource and all data in it will be lost." in project.message


def test_protected_real_creates_get_no_advice() -> None:
    """gcp-k8s-cluster sets deletion_protection = true on its GKE cluster; the OPA plan's
    buckets have force_destroy = false: both protected, so no protection-missing."""
    for relative in ("public/gcp-k8s-cluster/tfplan.json", "public/terraform-opa-gcp/tfplan.json"):
        assert analyse_fixture(relative, catalog=CATALOG).findings == (), relative

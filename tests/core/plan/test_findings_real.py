"""Exact findings, by address, on the real plans that delete, replace, move, forget, drift,
import or error (tests/fixtures/plans, copied from ../shared/plans)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from tests.core.plan.builders import FIXTURES, analyse_fixture, fixture_bytes, pairs

from signalbox.core.plan import Verdict, check_document
from signalbox.core.plan.catalog import parse_catalog

LOG_GROUP = "aws_cloudwatch_log_group.controltower-notificationforwarder"
ISSUE_522_DRIFT = (
    "aws_cloudwatch_event_rule.Metricos_custom_alert_schedule_frequent[0]",
    "aws_cloudwatch_event_rule.metrics_schedule",
    "aws_cloudwatch_event_target.Metricos_custom_alert_event_target_frequent[0]",
    "aws_cloudwatch_event_target.metric_event_target",
    "aws_cloudwatch_log_group.log_group",
    "aws_iam_role.lambda_execution_role",
    "aws_iam_role_policy.lambda_execution_policy",
    "aws_iam_role_policy_attachment.lambda_execution_policy_attachment_vpc_access",
    "aws_iam_role_policy_attachment.lambda_logging_policy_attachment",
    "aws_lambda_function.lambda",
    "aws_lambda_permission.allow_alert_event_bridge_to_call_monitor_metric_lambdas_frequent[0]",
    "aws_lambda_permission.allow_metric_event_bridge_to_call_monitor_metric_lambda",
    "aws_security_group.lambda_sg",
    "aws_security_group_rule.task_sg_egress_rule",
    "aws_ssm_parameter.lambda_sg_id",
)
EXPECTED: dict[str, tuple[Verdict, set[tuple[str, str]]]] = {
    # derived by the catalog's owner; with this test's own catalog their deletes are plain
    "derived/azapi-delete-automation-account.json": (
        Verdict.ROUTINE,
        {("delete", "azapi_resource.automation_account")},
    ),
    "derived/demo-k8s-monitoring-destroy.json": (
        Verdict.ROUTINE,
        {
            ("delete", "kubernetes_deployment.demo"),
            ("delete", "kubernetes_namespace.demo"),
            ("delete", "kubernetes_secret.demo"),
        },
    ),
    "generated/plan_tf103_null.json": (
        Verdict.ROUTINE,
        {("delete", "null_resource.many[2]"), ("replace", "null_resource.repl")},
    ),
    "generated/plan_tf1114_terraform_data.json": (
        Verdict.ROUTINE,
        {
            ("delete", "terraform_data.gone[0]"),
            ("replace", "terraform_data.cbd"),
            ("replace", "terraform_data.repl"),
        },
    ),
    "generated/plan_tf1155_twelve_workers_replaced.json": (
        Verdict.ROUTINE,
        {("replace", f"terraform_data.worker[{i}]") for i in range(12)},
    ),
    "generated-rules/issue-522-renamed-with-changes.json": (
        Verdict.ROUTINE,
        {
            ("delete", "aws_cloudwatch_event_rule.Metricos_custom_alert_schedule_frequent[0]"),
            (
                "delete",
                "aws_cloudwatch_event_target.Metricos_custom_alert_event_target_frequent[0]",
            ),
            ("probable-rename", "aws_cloudwatch_event_rule.alert_schedule_frequent"),
            ("probable-rename", "aws_cloudwatch_event_target.alert_event_target_frequent"),
        }
        | {("drift", address) for address in ISSUE_522_DRIFT},
    ),
    "generated-rules/tf12plan-replace-nothing-known-differs.json": (
        Verdict.ROUTINE,
        {
            ("replace", "google_folder_iam_member.member"),
            ("replace", "google_organization_iam_member.member"),
            ("replace", "google_project_iam_member.member"),
        },
    ),
    "generated/plan_tf1155_terraform_data.json": (
        Verdict.ROUTINE,
        {
            ("delete", "terraform_data.gone[0]"),
            ("replace", "terraform_data.cbd"),
            ("replace", "terraform_data.repl"),
        },
    ),
    "public/cds-snc-terraform-plan/import.json": (
        Verdict.ROUTINE,
        {
            ("import", LOG_GROUP),
            ("import", "aws_sns_topic.controltower-notificationforwarder"),
            ("protection-missing", LOG_GROUP),
            ("protection-missing", "aws_cloudwatch_log_group.topic"),
        },
    ),
    "public/terraform/show-json-basic-delete.json": (
        Verdict.ROUTINE,
        {("delete", "test_instance.test-delete")},
    ),
    "public/terraform/show-json-drift.json": (
        Verdict.ROUTINE,
        {("drift", "test_instance.should_refresh")},
    ),
    "public/terraform/show-json-moved-drift.json": (
        Verdict.ROUTINE,
        {
            ("drift", "test_instance.should_refresh_with_move"),
            ("moved", "test_instance.should_refresh_with_move"),
        },
    ),
    "public/terraform/show-json-moved.json": (Verdict.ROUTINE, {("moved", "test_instance.baz")}),
    "public/terraform/show-json-multi-resource-update.json": (
        Verdict.ROUTINE,
        {("moved", "test_instance.test[0]")},
    ),
    "public/terraform/show-json-plan-error.json": (Verdict.BLOCKED, {("plan-errored", "")}),
    "public/terraform/show-json-requires-replace.json": (
        Verdict.ROUTINE,
        {("replace", "test_instance.test")},
    ),
    "public/terraform-compliance/issue-522.json": (
        Verdict.ROUTINE,
        {
            ("delete", "aws_cloudwatch_event_rule.Metricos_custom_alert_schedule_frequent[0]"),
            (
                "delete",
                "aws_cloudwatch_event_target.Metricos_custom_alert_event_target_frequent[0]",
            ),
        }
        | {("drift", address) for address in ISSUE_522_DRIFT},
    ),
    "public/terraform-json/action-reason.json": (
        Verdict.ROUTINE,
        {("replace", "null_resource.example")},
    ),
    "public/terraform-json/config-resource-depends-on.json": (
        Verdict.ROUTINE,
        {("replace", "null_resource.bar")},
    ),
    "public/terraform-json/identity.json": (
        Verdict.ROUTINE,
        {("import", "corner_user_identity.user")},
    ),
    "public/terraform-json/moved-block.json": (Verdict.ROUTINE, {("moved", "random_id.test2")}),
    "public/terraform-plan-comment/basic-1-modify.json": (
        Verdict.NEEDS_APPROVAL,
        {("stateful-replace", "local_file.test"), ("stateful-replace", "local_file.test3")},
    ),
    "public/terraform-plan-comment/basic-2-delete.json": (
        Verdict.NEEDS_APPROVAL,
        {("stateful-destroy", "local_file.test"), ("stateful-destroy", "local_file.test3")},
    ),
    "public/terraform-plan-comment/basic-3-remove.json": (
        Verdict.ROUTINE,
        {("forget", "local_file.test2")},
    ),
    "public/tf-plan-format/delete-create.json": (
        Verdict.ROUTINE,
        {("replace", "null_resource.foo-bar")},
    ),
    "public/tf-plan-format/delete.json": (Verdict.ROUTINE, {("delete", "terraform_data.foo-bar")}),
    "public/tf-plan-format/sensitive.json": (Verdict.ROUTINE, {("replace", "random_bytes.test")}),
    "public/tf-summarize/example-tfplan.json": (
        Verdict.ROUTINE,
        {
            ("drift", 'module.github["terraform-plan-summary"].github_branch.demo'),
            ("drift", 'module.github["terraform-plan-summary"].github_branch.main'),
            ("drift", 'module.github["terraform-plan-summary"].github_repository.repository'),
        },
    ),
    "public/tfplan-validator/fixture-create-delete.json": (
        Verdict.NEEDS_APPROVAL,
        {("stateful-replace", "local_file.foo")},
    ),
    "public/tfplan-validator/fixture-delete-create.json": (
        Verdict.NEEDS_APPROVAL,
        {("stateful-replace", "local_file.foo")},
    ),
    "public/tfplan-validator/fixture-delete.json": (
        Verdict.NEEDS_APPROVAL,
        {("stateful-destroy", "local_file.foo")},
    ),
    "public/tfplan-validator/multi-env-dev3.json": (
        Verdict.NEEDS_APPROVAL,
        {("stateful-destroy", "module.environment.local_file.foo[0]")},
    ),
    "public/luminortask/tfplan.json": (
        Verdict.ROUTINE,
        {("protection-missing", "module.eks.module.eks.aws_cloudwatch_log_group.this[0]")},
    ),
    "public/terraform-validator/tf12plan-delete-resources.json": (
        Verdict.ROUTINE,
        {
            ("delete", "google_folder.example_tf_folder"),
            ("delete", "google_folder_iam_policy.policy"),
            ("delete", "google_organization_iam_binding.binding"),
            ("delete", "google_organization_iam_member.member"),
            ("delete", "google_project.example_tf_project"),
            ("delete", "google_project_iam_policy.policy"),
        },
    ),
    "public/terraform-validator/tf12plan-update-binding-member.json": (
        Verdict.ROUTINE,
        {
            ("replace", "google_folder_iam_member.member"),
            ("replace", "google_organization_iam_member.member"),
            ("replace", "google_project_iam_member.member"),
        },
    ),
    "public/tfplan2md/azapi-replace-complete-plan.json": (
        Verdict.ROUTINE,
        {("replace", "azapi_resource.automation_account")},
    ),
    "public/tfplan2md/azuredevops-terraform-plan2.json": (
        Verdict.ROUTINE,
        {
            ("delete", "azuredevops_build_definition.example"),
            ("probable-rename", "azuredevops_build_definition.example2"),
            ("replace", "azuredevops_variable_group.example"),
        },
    ),
}
QUIET = sorted(
    str(path.relative_to(FIXTURES))
    for path in FIXTURES.rglob("*.json")
    if str(path.relative_to(FIXTURES)) not in EXPECTED
)


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_exact_findings_by_address(relative: str) -> None:
    verdict, expected = EXPECTED[relative]
    analysis = analyse_fixture(relative)
    assert pairs(analysis) == expected
    assert analysis.verdict is verdict


@pytest.mark.parametrize("relative", QUIET)
def test_plans_with_only_creates_updates_and_reads_have_no_findings(relative: str) -> None:
    analysis = analyse_fixture(relative)
    assert analysis.findings == ()
    assert analysis.verdict is Verdict.ROUTINE


def _finding(relative: str, finding_id: str, address: str) -> Any:
    (found,) = [
        f for f in analyse_fixture(relative).findings if (f.id, f.address) == (finding_id, address)
    ]
    return found


def test_a_replacement_names_the_forcing_attribute() -> None:
    found = _finding("generated/plan_tf1155_terraform_data.json", "replace", "terraform_data.cbd")
    assert found.attributes == ("triggers_replace",)
    assert "because triggers_replace changed" in found.message


def test_a_stateful_destroy_says_what_is_lost_and_why() -> None:
    found = _finding(
        "public/tfplan-validator/multi-env-dev3.json",
        "stateful-destroy",
        "module.environment.local_file.foo[0]",
    )
    assert found.message == (
        "module.environment.local_file.foo[0] is destroyed because its count index is no longer "
        "in range: the file's content will be lost."
    )
    assert "moved" in found.hint


def test_a_taint_replacement_says_so_without_replace_paths() -> None:
    found = _finding("public/terraform-json/action-reason.json", "replace", "null_resource.example")
    assert "because it is tainted" in found.message
    assert found.attributes == ()


def test_a_replace_without_replace_paths_names_the_attributes_that_differ() -> None:
    """Terraform 0.12 wrote neither replace_paths nor action_reason: the attributes that
    differ between before and after are named instead (etag and id, unknown after apply on
    any new object, are not), and no untaint advice."""
    folder = _finding(
        "public/terraform-validator/tf12plan-update-binding-member.json",
        "replace",
        "google_folder_iam_member.member",
    )
    assert folder.attributes == ("member",)
    assert folder.message == (
        "google_folder_iam_member.member is replaced because member changed (the plan does not "
        "name the attribute that forces the replacement, and this is the only one that differs)."
    )
    assert folder.hint == "Check that a new object is acceptable, or revert the change to member."
    azapi = _finding(
        "public/tfplan2md/azapi-replace-complete-plan.json",
        "replace",
        "azapi_resource.automation_account",
    )
    assert azapi.attributes == ("body", "location", "parent_id", "tags")
    assert "because one of body, location, parent_id, tags changed" in azapi.message
    bar = _finding(
        "public/terraform-json/config-resource-depends-on.json", "replace", "null_resource.bar"
    )
    assert bar.attributes == ("triggers",)
    for found in (folder, azapi, bar):
        assert "untaint" not in found.hint


def test_a_stateful_replace_without_replace_paths_advises_reverting_what_differs() -> None:
    catalog = parse_catalog(
        [{"type": "google_project_iam_member", "loses": "the member's access to the project"}]
    )
    analysis = analyse_fixture(
        "public/terraform-validator/tf12plan-update-binding-member.json", catalog=catalog
    )
    (found,) = [f for f in analysis.findings if f.id == "stateful-replace"]
    assert found.message == (
        "google_project_iam_member.member is replaced because member changed (the plan does not "
        "name the attribute that forces the replacement, and this is the only one that "
        "differs): the member's access to the project will be lost."
    )
    assert found.hint.startswith("Revert the change to member to keep the object")
    assert "untaint" not in found.hint


def test_a_replace_where_nothing_known_differs_says_so_and_suggests_taint() -> None:
    """The same plan with the project member's member put back (generated-rules/MANIFEST.md):
    only etag, known only after apply, may differ, so taint or -replace is the likely cause."""
    found = _finding(
        "generated-rules/tf12plan-replace-nothing-known-differs.json",
        "replace",
        "google_project_iam_member.member",
    )
    assert found.attributes == ("etag",)
    assert found.message == (
        "google_project_iam_member.member is replaced although no value the plan knows changes "
        "(probably tainted or planned with -replace; etag is known only after apply)."
    )
    assert "`terraform untaint`" in found.hint


def test_the_rename_in_a_real_plan_carries_its_moved_block() -> None:
    found = _finding(
        "public/tfplan2md/azuredevops-terraform-plan2.json",
        "probable-rename",
        "azuredevops_build_definition.example2",
    )
    assert found.related == ("azuredevops_build_definition.example",)
    assert found.moved_block == (
        "moved {\n  from = azuredevops_build_definition.example\n"
        "  to   = azuredevops_build_definition.example2\n}\n"
    )
    assert "name" in found.attributes and "id" not in found.attributes


def test_drift_actions_are_in_the_document() -> None:
    analysis = analyse_fixture("public/tf-summarize/example-tfplan.json")
    plan = check_document([analysis], environment="dev")["plans"][0]
    assert {entry["action"] for entry in plan["drift"]} == {"delete"}
    assert len(plan["drift"]) == 3


def _string_leaves(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_string_leaves(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(_string_leaves(item) for item in value))
    return set()


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_no_attribute_value_reaches_the_document(relative: str) -> None:
    raw = orjson.loads(fixture_bytes(relative))
    entries = raw.get("resource_changes", []) + raw.get("resource_drift", [])
    names = {relative}  # the source is in the document
    values = set()
    for entry in entries:
        names |= {entry.get("address", ""), entry["type"], entry["name"]}
        for side in ("before", "after"):
            values |= _string_leaves(entry["change"].get(side))
    document = orjson.dumps(check_document([analyse_fixture(relative)], environment="dev"))
    leaked = {
        value
        for value in values
        if len(value) >= 6
        and not any(value in name for name in names)
        and value.encode() in document
    }
    assert leaked == set()

"""The plan-check service: catalog, plan sources (files, stdin, binary plans), environment."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from tests.support.terraform import TerraformWorkdir

from signalbox.core.errors import ConfigError, PlanNotJson, UnknownEnvironment, UsageError
from signalbox.services.plan_check import (
    choose_environment,
    load_catalog,
    read_plan_source,
    read_policy_file,
    shipped_catalog,
)

TERRAFORM_DATA = 'resource "terraform_data" "users" {\n  input = "pool"\n}\n'


# ------------------------------------------------------------------------------ catalog


def test_load_catalog_without_user_entries_is_the_shipped_catalog_parsed_once() -> None:
    assert load_catalog({}) is shipped_catalog()
    assert load_catalog({"catalog": []}) is load_catalog({})
    assert len(shipped_catalog()) >= 60


def test_user_catalog_entries_add_types_and_override_shipped_ones() -> None:
    document = {
        "catalog": [
            {
                "type": "acme_ledger",
                "loses": "every booking in the ledger",
                "protection": {"argument": "locked", "protected": True},
            },
            {"type": "aws_sqs_queue", "loses": "the order queue and every order in it"},
        ]
    }
    catalog = load_catalog(document)
    ledger = catalog.get("acme_ledger")
    assert ledger is not None and ledger.protection is not None
    assert ledger.protection.argument == "locked"
    queue = catalog.get("aws_sqs_queue")
    assert queue is not None and queue.loses == "the order queue and every order in it"
    assert len(catalog) == len(shipped_catalog()) + 1
    shipped_queue = shipped_catalog().get("aws_sqs_queue")
    assert shipped_queue is not None and "order" not in shipped_queue.loses


def test_catalog_that_is_not_a_list_of_tables_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="list of tables"):
        load_catalog({"catalog": {"type": "x"}})
    with pytest.raises(ConfigError, match=r"\[\[catalog\]\] entry 2 \(acme_x\) does not say"):
        load_catalog({"catalog": [{"type": "acme_ok", "loses": "data"}, {"type": "acme_x"}]})


# ------------------------------------------------------------------------------ policy file


def test_policy_file_is_read_as_toml(tmp_path: Path) -> None:
    path = tmp_path / "signalbox.toml"
    path.write_text('[policy]\nstateful-destroy = "blocked"\n', "utf-8")
    assert read_policy_file(path) == {"policy": {"stateful-destroy": "blocked"}}


def test_missing_or_malformed_policy_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        read_policy_file(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text('[policy]\nstateful-destroy = "blocked\n', "utf-8")
    with pytest.raises(ConfigError, match=r"not valid TOML.*line 2"):
        read_policy_file(broken)


# ------------------------------------------------------------------------------ environment


def test_environment_given_is_used_when_the_file_declares_none() -> None:
    assert choose_environment("dev", {}) == "dev"


def test_the_only_declared_environment_is_the_default() -> None:
    assert choose_environment(None, {"environments": {"dev": {}}}) == "dev"


def test_an_environment_the_file_does_not_declare_is_refused() -> None:
    document = {"environments": {"dev": {}, "prod": {}}}
    with pytest.raises(UnknownEnvironment) as refused:
        choose_environment("prdo", document)
    assert "'prdo'" in refused.value.message and "dev, prod" in refused.value.message


def test_no_environment_is_a_usage_error_naming_the_choices() -> None:
    with pytest.raises(UsageError, match="declares 2: dev, prod"):
        choose_environment(None, {"environments": {"prod": {}, "dev": {}}})
    with pytest.raises(UsageError, match="No environment given") as missing:
        choose_environment(None, {})
    assert "--env" in missing.value.hint


# ------------------------------------------------------------------------------ plan sources


def test_a_plan_file_is_read_byte_for_byte(tmp_path: Path) -> None:
    data = b"\xff\xfe{\x00}\x00"  # UTF-16 with a byte-order mark: decoding is the core's job
    path = tmp_path / "plan.json"
    path.write_bytes(data)
    assert read_plan_source(str(path)) == data


def test_dash_reads_standard_input_as_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    data = b'{"format_version": "1.2"}\n'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert read_plan_source("-") == data


def test_a_binary_plan_on_standard_input_is_refused_with_the_pipe_to_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"PK\x03\x04rest")))
    with pytest.raises(PlanNotJson) as refused:
        read_plan_source("-")
    assert "terraform show -json tfplan | signalbox check -" in refused.value.hint


def test_a_missing_plan_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as missing:
        read_plan_source(str(tmp_path / "plan.json"))
    assert str(tmp_path / "plan.json") in missing.value.message
    with pytest.raises(UsageError, match="is a directory"):
        read_plan_source(str(tmp_path))


def test_a_binary_plan_without_terraform_names_the_command_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    plan = tmp_path / "tfplan.bin"
    plan.write_bytes(b"PK\x03\x04" + bytes(64))
    with pytest.raises(PlanNotJson) as refused:
        read_plan_source(str(plan))
    assert f"terraform show -json {plan} > plan.json" in refused.value.hint
    assert "no terraform or tofu on PATH" in refused.value.message


def _planned(make: Callable[..., TerraformWorkdir], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real binary plan made by Terraform 1.15.5; the process env lets `show` run offline."""
    workdir = make("1.15.5")
    workdir.write("main.tf", TERRAFORM_DATA)
    workdir.init().check("terraform init")
    workdir.plan("tfplan").check("terraform plan")
    for key, value in workdir.env.items():
        if key.startswith(("TF_", "CHECKPOINT", "HOME")):
            monkeypatch.setenv(key, value)
    return workdir.directory / "tfplan"


@pytest.mark.terraform
def test_a_binary_plan_is_shown_as_json_by_the_terraform_given(
    terraform_workdir: Callable[..., TerraformWorkdir],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = _planned(terraform_workdir, monkeypatch)
    shim = terraform_workdir("1.15.5", name="shim").command.write_shim(tmp_path / "tools", "tf")
    assert plan.read_bytes().startswith(b"PK\x03\x04")
    shown = orjson.loads(read_plan_source(str(plan), terraform=str(shim)))
    changes = shown["resource_changes"]
    assert [(c["address"], c["change"]["actions"]) for c in changes] == [
        ("terraform_data.users", ["create"])
    ]


@pytest.mark.terraform
def test_a_binary_plan_is_shown_by_terraform_from_path(
    terraform_workdir: Callable[..., TerraformWorkdir],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = _planned(terraform_workdir, monkeypatch)
    tools = tmp_path / "path"
    terraform_workdir("1.15.5", name="shim").command.write_shim(tools, "terraform")
    monkeypatch.setenv("PATH", f"{tools}:/usr/bin:/bin")
    shown = orjson.loads(read_plan_source(str(plan)))
    assert shown["resource_changes"][0]["address"] == "terraform_data.users"


@pytest.mark.terraform
def test_a_broken_binary_plan_reports_terraforms_error(
    terraform_workdir: Callable[..., TerraformWorkdir],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shim = terraform_workdir("1.15.5", name="shim").command.write_shim(tmp_path / "tools", "tf")
    broken = tmp_path / "tfplan"
    broken.write_bytes(b"PK\x03\x04" + b"not really a zip")
    with pytest.raises(PlanNotJson) as failed:
        read_plan_source(str(broken), terraform=str(shim))
    assert "failed with exit code 1" in failed.value.message
    assert f"terraform show -json {broken} > plan.json" in failed.value.hint


@pytest.mark.terraform
def test_a_binary_plan_from_another_version_reports_terraforms_reason_and_the_version_to_use(
    terraform_workdir: Callable[..., TerraformWorkdir],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plan = _planned(terraform_workdir, monkeypatch)  # made by Terraform 1.15.5
    old = terraform_workdir("1.0.3", name="old").command.write_shim(tmp_path / "tools", "tf")
    with pytest.raises(PlanNotJson) as failed:
        read_plan_source(str(plan), terraform=str(old))
    message = failed.value.message
    assert message.endswith(
        "failed with exit code 1: Invalid plan file: Failed to read plan from plan file: plan "
        "file was created by Terraform 1.15.5, but this is 1.0.3; plan files cannot be "
        "transferred between different Terraform versions."
    )
    assert failed.value.hint.startswith("Show it with Terraform 1.15.5, the version that made it")
    assert f"terraform show -json {plan} > plan.json" in failed.value.hint
    assert "pool" not in message + failed.value.hint  # the plan's own values never appear


def test_terraforms_stdout_is_quoted_only_for_its_error_lines() -> None:
    from signalbox.services.plan_check import _terraform_error

    partial_plan = b'{"format_version":"1.2","variables":{"db_password":{"value":"hunter2"}'
    assert _terraform_error(partial_plan) != ""  # stderr: its last line is Terraform's
    assert _terraform_error(partial_plan, errors_only=True) == ""
    said = b"\x1b[31m\xe2\x95\xb7\n\xe2\x94\x82 Error: Failed to read the given file\n"
    assert _terraform_error(said, errors_only=True) == "Failed to read the given file"

"""`signalbox check` on damaged, wrapped, compressed and foreign-version plans: a real process,
exit 1 with the position for anything it cannot fully read, never a verdict.

The plans are the derived fixtures of tests/fixtures/plans/derived/reading (see its
MANIFEST.md) and their public sources; a signalbox.toml written by each test makes local_file
stateful, so that the intact plans need approval (exit 3) where the damaged ones stop (exit 1).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest
from tests.support.terraform import TerraformWorkdir

ROOT = Path(__file__).resolve().parents[2]
PLANS = ROOT / "tests" / "fixtures" / "plans"
DAMAGED = PLANS / "derived" / "reading"
FIXTURE_DELETE = PLANS / "public" / "tfplan-validator" / "fixture-delete.json"
POLICY = '[environments.dev]\n\n[[catalog]]\ntype = "local_file"\nloses = "the file\'s content"\n'
SECRET_INPUT = "pool-secret-value-do-not-print"


class Result(NamedTuple):
    code: int
    stdout: str
    stderr: str


def check(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> Result:
    """Run `python -m signalbox check ARGS --env dev` in ``cwd`` (with its signalbox.toml)."""
    (cwd / "signalbox.toml").write_text(POLICY, "utf-8")
    environment = {k: v for k, v in os.environ.items() if k != "SIGNALBOX_CONFIG"}
    environment.update(env or {}, COLUMNS="120")
    completed = subprocess.run(
        [sys.executable, "-m", "signalbox", "check", *map(str, args), "--env", "dev"],
        cwd=cwd,
        input=b"",
        capture_output=True,
        env=environment,
        timeout=120,
        check=False,
    )
    return Result(
        completed.returncode, completed.stdout.decode("utf-8"), completed.stderr.decode("utf-8")
    )


def test_the_intact_plan_needs_approval(tmp_path: Path) -> None:
    result = check(FIXTURE_DELETE, cwd=tmp_path)
    assert result.code == 3, result.stderr
    assert result.stdout.startswith("NEEDS APPROVAL on dev: 1 stateful resource destroyed")


def test_a_compact_plan_with_a_stray_brace_exits_1_with_the_position(tmp_path: Path) -> None:
    plan = DAMAGED / "fixture-delete.compact-stray-brace.txt"
    result = check(plan, cwd=tmp_path)
    assert result.code == 1, result.stdout
    assert result.stdout == ""
    assert result.stderr.startswith(f"PlanUnreadable: {plan}:1:89: the JSON document that")
    assert "(byte 88)" in result.stderr and "a stray `}` closes the plan early" in result.stderr


def test_a_pretty_plan_with_a_stray_brace_says_where_the_document_ended(tmp_path: Path) -> None:
    plan = DAMAGED / "fixture-delete.pretty-stray-brace.txt"
    result = check(plan, cwd=tmp_path)
    assert result.code == 1
    assert f"{plan}:6:5: the JSON document that starts at line 1 ends at line 6" in result.stderr
    assert "document 2" not in result.stderr


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("multi-env-dev3.resource-changez.txt", 'where Terraform writes "resource_changes"'),
        ("show-json-plan-error.errorex.txt", 'where Terraform writes "errored"'),
        ("multi-env-dev3.address-changed.txt", "does not agree with its module_address"),
        ("multi-env-dev3.type-changed.txt", "does not agree with its module_address"),
        ("fixture-delete-create.beforx.txt", 'is a replace without its "before" value'),
        ("run-all-with-an-unknown-line.txt", "line 11 holds `Releasing...`"),
        ("fixture-delete.zero-filled.txt", "found a NUL byte (binary data, not text)"),
    ],
)
def test_a_damaged_plan_exits_1_and_says_why(tmp_path: Path, name: str, says: str) -> None:
    result = check(DAMAGED / name, cwd=tmp_path)
    assert result.code == 1, result.stdout
    assert result.stderr.startswith("PlanUnreadable: ")
    assert says in result.stderr
    assert "\x00" not in result.stderr


def test_utf16_positions_are_bytes_of_the_file(tmp_path: Path) -> None:
    result = check(DAMAGED / "fixture-delete.utf16-stray-brace.txt", cwd=tmp_path)
    assert result.code == 1
    assert ":6:5: " in result.stderr and "(byte 218)" in result.stderr
    assert "(byte 220)" in result.stderr


def test_a_gzip_file_exits_1_saying_gunzip_it(tmp_path: Path) -> None:
    result = check(DAMAGED / "fixture-delete.json.gz", cwd=tmp_path)
    assert result.code == 1
    assert "is gzip-compressed, not plan JSON: gunzip it first." in result.stderr
    assert all(line.isprintable() for line in result.stderr.splitlines())


def test_noise_from_terragrunt_and_setup_terraform_is_skipped(tmp_path: Path) -> None:
    result = check(DAMAGED / "run-all-with-logs.txt", cwd=tmp_path)
    assert result.code == 3, result.stderr
    assert result.stdout.startswith("NEEDS APPROVAL on dev: 2 stateful resources destroyed")


# ------------------------------------------------------------------------------ real terraform


@pytest.mark.terraform
def test_a_binary_plan_from_another_terraform_version_gives_terraforms_reason(
    terraform_workdir: Callable[..., TerraformWorkdir], tmp_path: Path
) -> None:
    workdir = terraform_workdir("1.15.5")
    workdir.write(
        "main.tf", f'resource "terraform_data" "users" {{\n  input = "{SECRET_INPUT}"\n}}\n'
    )
    workdir.init().check("terraform init")
    workdir.plan("tfplan").check("terraform plan")
    old = terraform_workdir("1.0.3", name="old").command.write_shim(tmp_path / "tools", "tf")
    env = {key: value for key, value in workdir.env.items() if key.startswith(("TF_", "HOME"))}
    result = check(
        workdir.directory / "tfplan",
        "--terraform",
        old,
        cwd=tmp_path,
        env=env | {"CHECKPOINT_DISABLE": "1"},
    )
    assert result.code == 1, result.stdout
    assert result.stderr.startswith("PlanNotJson: ")
    assert (
        "Invalid plan file: Failed to read plan from plan file: plan file was created by "
        "Terraform 1.15.5, but this is 1.0.3; plan files cannot be transferred between "
        "different Terraform versions." in " ".join(result.stderr.split())
    )
    assert "Show it with Terraform 1.15.5, the version that made it" in result.stderr
    assert "where terraform init ran" not in result.stderr  # advice for another problem
    assert SECRET_INPUT not in result.stdout + result.stderr

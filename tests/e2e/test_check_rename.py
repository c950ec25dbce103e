"""End to end with real Terraform, offline: a rename without `moved` is caught, and the fix works.

The story of DESIGN.md section 1 in miniature: a resource standing for the user pool is applied,
renamed without a `moved` block, and planned. The real `signalbox check` process must say that
the plan destroys it (needs approval, exit 3), recognise the rename, and print the exact
`moved` block; once that block is in the configuration the plan must be routine (exit 0) and
applying it must keep the very same object. Terraform 1.0.3 (plan format 0.2, no `moved`
blocks: the fix there is `terraform state mv`) runs the same story with null_resource.
A binary plan file given to `signalbox check`, with Terraform on PATH, gives the same report.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from tests.support.terraform import TerraformWorkdir, path_with

pytestmark = [pytest.mark.terraform, pytest.mark.slow]

SIGNALBOX = Path(sys.executable).with_name("signalbox")
EXIT_ROUTINE = 0
EXIT_NEEDS_APPROVAL = 3

POLICY = """\
# The test's own stateful types: stand-ins for the Cognito user pool of the incident.
[[catalog]]
type = "terraform_data"
loses = "the stored input and output values (the test's stand-in for a user pool)"

[[catalog]]
type = "null_resource"
loses = "the resource's id (the test's stand-in for a user pool)"
"""

BACKEND = """\
terraform {
  backend "local" {
    path = "state/terraform.tfstate"
  }
}
"""


@dataclass(frozen=True)
class Scenario:
    """One Terraform version and the resource type it renames."""

    version: str
    resource_type: str
    body_argument: str  # the argument that carries the resource's identity-free content
    format_version: str
    null_provider: bool

    def resource(self, name: str, content: dict[str, str]) -> str:
        values = "\n".join(
            f"    {key} = {orjson.dumps(value).decode()}" for key, value in content.items()
        )
        return (
            f'resource "{self.resource_type}" "{name}" {{\n'
            f"  {self.body_argument} = {{\n{values}\n  }}\n}}\n"
        )

    def address(self, name: str) -> str:
        return f"{self.resource_type}.{name}"


TERRAFORM_1_15 = Scenario("1.15.5", "terraform_data", "input", "1.2", null_provider=False)
TERRAFORM_1_0 = Scenario("1.0.3", "null_resource", "triggers", "0.2", null_provider=True)

USERS = {"pool": "users", "tier": "dev", "mfa": "optional"}
SESSIONS = {"pool": "sessions", "tier": "dev"}
AUDIT = {"pool": "audit", "tier": "dev"}


def configuration(scenario: Scenario, users_name: str, *, with_audit: bool) -> str:
    """The users resource under ``users_name``, an untouched sibling, and maybe a new one."""
    parts = [BACKEND, scenario.resource(users_name, USERS), scenario.resource("sessions", SESSIONS)]
    if with_audit:  # a genuine, unrelated create of the same type: must not disturb the match
        parts.append(scenario.resource("audit", AUDIT))
    return "\n".join(parts)


def moved_block(source: str, target: str) -> str:
    return f"moved {{\n  from = {source}\n  to   = {target}\n}}\n"


def signalbox_check(
    workdir: TerraformWorkdir, plan: str, policy: Path, env: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], str]:
    """Run the real `signalbox check` process in the configuration directory."""
    completed = subprocess.run(
        [
            str(SIGNALBOX),
            "check",
            plan,
            "--env",
            "dev",
            "--policy",
            str(policy),
            "--format",
            "json",
        ],
        cwd=workdir.directory,
        env=env or workdir.env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    stderr = completed.stderr.decode(errors="replace")
    assert completed.stdout, (
        f"signalbox check printed nothing (exit {completed.returncode}): {stderr}"
    )
    return completed.returncode, orjson.loads(completed.stdout), stderr


def pairs(plan_report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(finding["id"], finding["address"]) for finding in plan_report["findings"]}


def state_ids(workdir: TerraformWorkdir) -> dict[str, str]:
    shown = workdir.show_json(None).check("terraform show -json (state)")
    resources = orjson.loads(shown.stdout)["values"]["root_module"]["resources"]
    return {resource["address"]: resource["values"]["id"] for resource in resources}


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "signalbox.toml"
    path.write_text(POLICY, encoding="utf-8")
    return path


@pytest.fixture(params=[TERRAFORM_1_15, TERRAFORM_1_0], ids=lambda scenario: scenario.version)
def renamed(
    request: pytest.FixtureRequest, terraform_workdir: Callable[..., TerraformWorkdir]
) -> tuple[Scenario, TerraformWorkdir, dict[str, str]]:
    """Applied with `users`, then renamed to `users_new` (no `moved`) and planned to plan.json."""
    scenario: Scenario = request.param
    workdir = terraform_workdir(scenario.version, null_provider=scenario.null_provider)
    workdir.write("main.tf", configuration(scenario, "users", with_audit=False))
    workdir.init().check("terraform init")
    workdir.apply().check("terraform apply")
    ids_before = state_ids(workdir)
    workdir.write("main.tf", configuration(scenario, "users_new", with_audit=True))
    workdir.plan_to_json("plan.json", "tfplan")
    return scenario, workdir, ids_before


def test_a_rename_without_moved_needs_approval_and_gets_the_exact_moved_block(
    renamed: tuple[Scenario, TerraformWorkdir, dict[str, str]], policy_file: Path
) -> None:
    scenario, workdir, _ = renamed
    old, new = scenario.address("users"), scenario.address("users_new")

    exit_code, document, stderr = signalbox_check(workdir, "plan.json", policy_file)

    assert exit_code == EXIT_NEEDS_APPROVAL, stderr
    assert document["schema"] == "signalbox.check/1"
    assert document["verdict"] == "needs-approval"
    [plan] = document["plans"]
    assert plan["terraform_version"] == scenario.version
    assert plan["format_version"] == scenario.format_version
    assert plan["counts"]["delete"] == 1
    assert plan["counts"]["create"] == 2
    assert pairs(plan) == {("stateful-destroy", old), ("probable-rename", new)}
    [rename] = [finding for finding in plan["findings"] if finding["id"] == "probable-rename"]
    assert rename["related"] == [old]
    assert rename["moved_block"] == moved_block(old, new)
    [destroy] = [finding for finding in plan["findings"] if finding["id"] == "stateful-destroy"]
    assert destroy["verdict"] == "needs-approval"
    assert "stand-in for a user pool" in destroy["message"]


def test_the_suggested_fix_makes_the_plan_routine_and_keeps_the_object(
    renamed: tuple[Scenario, TerraformWorkdir, dict[str, str]], policy_file: Path
) -> None:
    scenario, workdir, ids_before = renamed
    old, new = scenario.address("users"), scenario.address("users_new")
    _, first, _ = signalbox_check(workdir, "plan.json", policy_file)
    [suggested] = [f["moved_block"] for f in first["plans"][0]["findings"] if "moved_block" in f]

    if scenario.version == "1.0.3":  # no `moved` blocks before 1.1: the same move, by hand
        workdir.run("state", "mv", old, new).check("terraform state mv")
    else:
        workdir.write("moved.tf", suggested)
    workdir.plan_to_json("plan.json", "tfplan")
    exit_code, document, stderr = signalbox_check(workdir, "plan.json", policy_file)

    assert exit_code == EXIT_ROUTINE, stderr
    assert document["verdict"] == "routine"
    [plan] = document["plans"]
    assert plan["counts"]["delete"] == 0
    assert plan["counts"]["create"] == 1
    expected = {("moved", new)} if scenario.version != "1.0.3" else set()
    assert pairs(plan) == expected
    workdir.apply("tfplan").check("terraform apply tfplan")
    ids_after = state_ids(workdir)
    assert ids_after[new] == ids_before[old], "the object was recreated, not moved"
    assert old not in ids_after


def test_a_binary_plan_reads_through_terraform_on_path_like_its_json(
    renamed: tuple[Scenario, TerraformWorkdir, dict[str, str]], policy_file: Path
) -> None:
    _, workdir, _ = renamed
    shims = workdir.root / "bin"
    workdir.command.write_shim(shims)
    env = {**workdir.env, "PATH": path_with([shims], workdir.env)}

    json_exit, from_json, _ = signalbox_check(workdir, "plan.json", policy_file, env)
    binary_exit, from_binary, stderr = signalbox_check(workdir, "tfplan", policy_file, env)

    assert binary_exit == json_exit == EXIT_NEEDS_APPROVAL, stderr
    for document in (from_binary, from_json):  # the only field allowed to differ
        for plan in document["plans"]:
            del plan["source"]
    assert from_binary == from_json

"""`signalbox check` as a user runs it: a real process on real plans, exit codes and output."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import orjson
import pytest
from tests.support.terraform import TerraformWorkdir

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "plans"
FIXTURES = ROOT / "tests" / "fixtures" / "plans"
STORY = EXAMPLES / "cognito-renamed-without-moved.json"
TWELVE_WORKERS = FIXTURES / "generated" / "plan_tf1155_twelve_workers_replaced.json"
ROUTINE = EXAMPLES / "routine-frontend-change.json"
PROTECTION_OFF = EXAMPLES / "database-protection-off.json"
EXAMPLE_POLICY = ROOT / "examples" / "signalbox.toml"
# Sensitive values in plans, each with the files that hold it; none may ever be printed.
SECRETS = {
    FIXTURES / "public" / "terraform" / "show-json-sensitive-values.json": ["boop"],
    FIXTURES / "public" / "tf-plan-format" / "sensitive.json": ["hxk5iA==", "87193988"],
    ROUTINE: ["hunter2-do-not-print"],
    PROTECTION_OFF: ["correct-horse-battery-staple"],
}
FORBIDDEN_MODULES = ("fastapi", "sqlalchemy", "httpx", "uvicorn", "jinja2")


class Result(NamedTuple):
    code: int
    stdout: str
    stderr: str

    def document(self) -> dict[str, Any]:
        parsed: dict[str, Any] = orjson.loads(self.stdout)
        return parsed


def run_check(
    *args: str | Path,
    cwd: Path,
    stdin: bytes | None = None,
    env: dict[str, str] | None = None,
) -> Result:
    """Run `python -m signalbox check ARGS` in ``cwd`` (no signalbox.toml unless a test puts
    one there; SIGNALBOX_CONFIG removed)."""
    environment = {k: v for k, v in os.environ.items() if k != "SIGNALBOX_CONFIG"}
    environment.update(env or {}, COLUMNS="120")
    completed = subprocess.run(
        [sys.executable, "-m", "signalbox", "check", *map(str, args)],
        cwd=cwd,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=environment,
        timeout=120,
        check=False,
    )
    return Result(
        completed.returncode,
        completed.stdout.decode("utf-8"),
        completed.stderr.decode("utf-8"),
    )


def findings_of(document: dict[str, Any], plan: int = 0) -> list[tuple[str, str]]:
    return [(f["id"], f["address"]) for f in document["plans"][plan]["findings"]]


# ------------------------------------------------------------------------------ verdicts


def test_the_story_plan_needs_approval_and_suggests_the_moved_block(tmp_path: Path) -> None:
    result = run_check(STORY, "--env", "dev", "--format", "json", cwd=tmp_path)
    assert result.code == 3, result.stderr
    document = result.document()
    assert document["schema"] == "signalbox.check/1"
    assert document["environment"] == "dev" and document["verdict"] == "needs-approval"
    found = findings_of(document)
    assert ("stateful-destroy", "aws_cognito_user_pool.main") in found
    rename = next(f for f in document["plans"][0]["findings"] if f["id"] == "probable-rename")
    assert rename["address"] == "aws_cognito_user_pool.users"
    assert rename["related"] == ["aws_cognito_user_pool.main"]
    assert rename["moved_block"] == (
        "moved {\n  from = aws_cognito_user_pool.main\n  to   = aws_cognito_user_pool.users\n}\n"
    )


def test_text_report_puts_the_verdict_first(tmp_path: Path) -> None:
    result = run_check(STORY, "--env", "dev", cwd=tmp_path)
    assert result.code == 3
    assert result.stdout.splitlines()[0] == "NEEDS APPROVAL on dev: 1 stateful resource destroyed"
    assert "every user account" in result.stdout
    assert "from = aws_cognito_user_pool.main" in result.stdout
    assert result.stderr == ""


def test_a_routine_plan_exits_0(tmp_path: Path) -> None:
    result = run_check(ROUTINE, "--env", "dev", cwd=tmp_path)
    assert result.code == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ROUTINE on dev")


def test_a_protected_address_is_blocked_by_the_policy_file(tmp_path: Path) -> None:
    result = run_check(
        STORY, "--env", "prod", "--policy", EXAMPLE_POLICY, "--format", "json", cwd=tmp_path
    )
    assert result.code == 4, result.stderr
    document = result.document()
    assert document["verdict"] == "blocked"
    assert ("protected-destroy", "aws_cognito_user_pool.main") in findings_of(document)


def test_switching_protection_off_needs_approval(tmp_path: Path) -> None:
    result = run_check(PROTECTION_OFF, "--env", "dev", "--format", "json", cwd=tmp_path)
    assert result.code == 3
    assert findings_of(result.document()) == [("protection-disabled", "aws_db_instance.orders")]


def test_several_plans_give_one_report_with_the_worst_verdict(tmp_path: Path) -> None:
    result = run_check(ROUTINE, STORY, "--env", "dev", "--format", "json", cwd=tmp_path)
    assert result.code == 3
    document = result.document()
    assert [plan["source"] for plan in document["plans"]] == [str(ROUTINE), str(STORY)]
    assert [plan["verdict"] for plan in document["plans"]] == ["routine", "needs-approval"]


def test_a_file_with_several_documents_is_one_plan_each(tmp_path: Path) -> None:
    run_all = tmp_path / "run-all.json"
    run_all.write_bytes(ROUTINE.read_bytes() + PROTECTION_OFF.read_bytes())
    result = run_check(run_all, "--env", "dev", "--format", "json", cwd=tmp_path)
    assert result.code == 3
    plans = result.document()["plans"]
    assert [(plan["index"], plan["verdict"]) for plan in plans] == [
        (0, "routine"),
        (1, "needs-approval"),
    ]


# ------------------------------------------------------------------------------ inputs


def test_dash_reads_the_plan_from_standard_input(tmp_path: Path) -> None:
    result = run_check(
        "-", "--env", "dev", "--format", "json", cwd=tmp_path, stdin=STORY.read_bytes()
    )
    assert result.code == 3
    assert ("stateful-destroy", "aws_cognito_user_pool.main") in findings_of(result.document())


def test_utf16_with_a_byte_order_mark_reads_like_utf8(tmp_path: Path) -> None:
    utf16 = tmp_path / "powershell.json"
    utf16.write_bytes(STORY.read_text("utf-8").encode("utf-16"))  # BOM + UTF-16 LE
    assert utf16.read_bytes()[:2] == b"\xff\xfe"
    result = run_check(utf16, "--env", "dev", "--format", "json", cwd=tmp_path)
    plain = run_check(STORY, "--env", "dev", "--format", "json", cwd=tmp_path)
    assert result.code == plain.code == 3
    assert result.document()["plans"][0]["findings"] == plain.document()["plans"][0]["findings"]


def test_setup_terraform_wrapper_lines_around_the_json_are_ignored(tmp_path: Path) -> None:
    wrapped = tmp_path / "plan.json"
    wrapped.write_bytes(
        b"[command]/home/runner/work/_temp/0b1e/terraform-bin show -json tfplan\n"
        + PROTECTION_OFF.read_bytes()
        + b"::debug::Terraform exited with code 0.\n::debug::stderr: \n::debug::exitcode: 0\n"
    )
    result = run_check(wrapped, "--env", "dev", "--format", "json", cwd=tmp_path)
    assert result.code == 3, result.stderr
    assert findings_of(result.document()) == [("protection-disabled", "aws_db_instance.orders")]


def test_a_truncated_plan_exits_1_with_the_position(tmp_path: Path) -> None:
    truncated = tmp_path / "plan.json"
    truncated.write_bytes(STORY.read_bytes()[:2000])
    result = run_check(truncated, "--env", "dev", cwd=tmp_path)
    assert result.code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("PlanUnreadable: ")
    assert re.search(r"plan\.json:\d+:\d+", result.stderr), result.stderr


def test_a_binary_plan_without_terraform_exits_1_and_names_the_command(tmp_path: Path) -> None:
    binary = tmp_path / "tfplan"
    binary.write_bytes(b"PK\x03\x04" + bytes(100))
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    result = run_check("tfplan", "--env", "dev", cwd=tmp_path, env={"PATH": str(empty_path)})
    assert result.code == 1
    assert result.stderr.startswith("PlanNotJson: ")
    assert "terraform show -json tfplan > plan.json" in result.stderr


def test_a_missing_plan_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run_check("nope.json", "--env", "dev", cwd=tmp_path)
    assert result.code == 2
    assert "nope.json does not exist" in result.stderr


def test_an_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    result = run_check(STORY, "--env", "dev", "--format", "yaml", cwd=tmp_path)
    assert result.code == 2
    assert "--format" in result.stderr and "Traceback" not in result.stderr


# ------------------------------------------------------------------------------ policy and env


def test_policy_defaults_to_signalbox_toml_in_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "signalbox.toml").write_text('[policy]\nstateful-destroy = "blocked"\n', "utf-8")
    result = run_check(STORY, "--env", "dev", cwd=tmp_path)
    assert result.code == 4, result.stdout + result.stderr


def test_the_only_declared_environment_needs_no_env_flag(tmp_path: Path) -> None:
    (tmp_path / "signalbox.toml").write_text(
        '[environments.staging.policy]\nstateful-destroy = "blocked"\n', "utf-8"
    )
    result = run_check(STORY, "--format", "json", cwd=tmp_path)
    assert result.code == 4
    assert result.document()["environment"] == "staging"


def test_without_env_and_without_a_policy_file_env_is_required(tmp_path: Path) -> None:
    result = run_check(STORY, cwd=tmp_path)
    assert result.code == 2
    assert "No environment given" in result.stderr and "--env" in result.stderr


def test_an_environment_the_policy_file_does_not_declare_is_refused(tmp_path: Path) -> None:
    result = run_check(STORY, "--env", "prdo", "--policy", EXAMPLE_POLICY, cwd=tmp_path)
    assert result.code == 2
    assert "'prdo'" in result.stderr and "dev, prod" in result.stderr


def test_a_bad_policy_value_is_a_usage_error(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[policy]\nstateful-destroy = "maybe"\n', "utf-8")
    result = run_check(STORY, "--env", "dev", "--policy", policy, cwd=tmp_path)
    assert result.code == 2
    assert "stateful-destroy" in result.stderr


def test_user_catalog_entries_make_a_type_stateful(tmp_path: Path) -> None:
    policy = tmp_path / "signalbox.toml"
    policy.write_text('[[catalog]]\ntype = "terraform_data"\nloses = "the example data"\n', "utf-8")
    plan = FIXTURES / "public" / "tf-plan-format" / "delete.json"
    without = run_check(
        plan, "--env", "dev", "--format", "json", "--policy", "/dev/null", cwd=tmp_path
    )
    with_catalog = run_check(plan, "--env", "dev", "--format", "json", cwd=tmp_path)
    assert without.code == 0 and with_catalog.code == 3
    assert findings_of(with_catalog.document()) == [("stateful-destroy", "terraform_data.foo-bar")]
    assert "the example data" in with_catalog.document()["plans"][0]["findings"][0]["message"]


# ------------------------------------------------------------------------------ output


def test_markdown_is_ready_for_a_pull_request_comment(tmp_path: Path) -> None:
    result = run_check(STORY, "--env", "dev", "--format", "markdown", cwd=tmp_path)
    assert result.code == 3
    markdown = result.stdout
    assert markdown.startswith("## ⚠️ signalbox: NEEDS APPROVAL on dev")
    assert "| 🔴 high | `stateful-destroy` | `aws_cognito_user_pool` | 1 |" in markdown
    assert "| `aws_cognito_user_pool.main` |\n" in markdown
    assert "```hcl\nmoved {\n  from = aws_cognito_user_pool.main\n" in markdown
    assert "**Changes:** 1 create, 1 replace, 1 delete, 1 no-op" in markdown


def test_twelve_workers_replaced_for_one_cause_are_one_paragraph(tmp_path: Path) -> None:
    """Real Terraform: twelve count instances replaced because one variable changed."""
    policy = tmp_path / "signalbox.toml"
    policy.write_text('[[catalog]]\ntype = "terraform_data"\nloses = "the scratch data"\n', "utf-8")
    result = run_check(TWELVE_WORKERS, "--env", "dev", cwd=tmp_path)
    assert result.code == 3, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "NEEDS APPROVAL on dev: 12 stateful resources replaced"
    assert lines[1].startswith("Policy: the built-in defaults")  # a catalog, no [policy]
    assert lines[5].split()[:5] == ["HIGH", "stateful-replace", "terraform_data", "×12", "is"]
    assert result.stdout.count("[stateful-replace]") == 1  # one paragraph, not twelve
    assert "HIGH     terraform_data ×12  [stateful-replace]" in result.stdout
    assert "         Each of these is replaced because triggers_replace changed" in result.stdout
    assert "         terraform_data.worker[0..11]\n" in result.stdout
    assert "Changes: 12 replace" in result.stdout
    assert len(lines) < 20
    document = run_check(TWELVE_WORKERS, "--env", "dev", "--format", "json", cwd=tmp_path)
    addresses = [address for _, address in findings_of(document.document())]
    assert sorted(addresses) == sorted(f"terraform_data.worker[{n}]" for n in range(12))
    markdown = run_check(TWELVE_WORKERS, "--env", "dev", "--format", "markdown", cwd=tmp_path)
    assert "| `stateful-replace` | `terraform_data` | 12 |" in markdown.stdout
    assert "| `terraform_data.worker[0..11]` |" in markdown.stdout


@pytest.mark.parametrize("output_format", ["text", "markdown", "json"])
@pytest.mark.parametrize("plan", list(SECRETS), ids=lambda p: p.name)
def test_sensitive_values_are_never_printed(plan: Path, output_format: str, tmp_path: Path) -> None:
    assert plan.is_file(), plan
    text = plan.read_text("utf-8")
    for secret in SECRETS[plan]:
        assert secret in text, f"the fixture must hold {secret!r} for this test to mean anything"
    result = run_check(plan, "--env", "dev", "--format", output_format, cwd=tmp_path)
    assert result.code in (0, 3, 4), result.stderr
    for secret in SECRETS[plan]:
        assert secret not in result.stdout and secret not in result.stderr


def test_the_json_document_names_attributes_but_holds_no_values(tmp_path: Path) -> None:
    """Every plain string value of the story plan is absent from the document."""
    plan: Any = orjson.loads(STORY.read_bytes())
    values: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and len(node) > 6 and "." not in node and "_" not in node:
            values.add(node)  # "dev-users", ARNs, ids, URLs... (not addresses or names)

    for change in plan["resource_changes"]:
        walk(change["change"].get("before"))
        walk(change["change"].get("after"))
    assert "eu-central-1_Ab12Cd34E" in str(plan)
    result = run_check(STORY, "--env", "dev", "--format", "json", cwd=tmp_path)
    printed = [value for value in values if value in result.stdout]
    assert printed == [] and "eu-central-1_Ab12Cd34E" not in result.stdout


# ------------------------------------------------------------------------------ lean imports


LEAN_PROBE = """
import atexit, sys
def report():
    loaded = sorted({name.split(".")[0] for name in sys.modules} & set(sys.argv[1].split(",")))
    sys.stderr.write("LOADED=" + ",".join(loaded) + "\\n")
atexit.register(report)
from signalbox.cli.main import main
main(sys.argv[2:])
"""


@pytest.mark.parametrize("output_format", ["text", "markdown", "json"])
def test_check_never_imports_the_server_stack(output_format: str, tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            LEAN_PROBE,
            ",".join(FORBIDDEN_MODULES),
            "check",
            str(STORY),
            "--env",
            "dev",
            "--format",
            output_format,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 3, completed.stderr
    loaded = completed.stderr.rsplit("LOADED=", 1)[1].strip()
    assert loaded == "", (
        f"{loaded} imported on the `signalbox check` path: import it inside the functions "
        "that use it (`python -X importtime -m signalbox check ...` shows which module does)"
    )


# ------------------------------------------------------------------------------ real terraform

RENAMED = 'resource "terraform_data" "users_new" {\n  input = "user pool"\n}\n'


def _check_binary(workdir: TerraformWorkdir, shim: Path, tmp_path: Path) -> Result:
    workdir.plan("tfplan").check("terraform plan")
    env = {key: value for key, value in workdir.env.items() if key.startswith(("TF_", "HOME"))}
    return run_check(
        workdir.directory / "tfplan",
        "--env",
        "dev",
        "--format",
        "json",
        "--terraform",
        shim,
        cwd=tmp_path,
        env=env | {"CHECKPOINT_DISABLE": "1"},
    )


@pytest.mark.terraform
def test_a_rename_in_a_binary_plan_gets_its_moved_block_and_then_is_routine(
    terraform_workdir: Callable[..., TerraformWorkdir], tmp_path: Path
) -> None:
    workdir = terraform_workdir("1.15.5")
    shim = workdir.command.write_shim(tmp_path / "tools", "tf")
    workdir.write("main.tf", RENAMED.replace("users_new", "users"))
    workdir.init().check("terraform init")
    workdir.apply().check("terraform apply")
    workdir.write("main.tf", RENAMED)

    renamed = _check_binary(workdir, shim, tmp_path)
    assert renamed.code == 0, renamed.stderr  # terraform_data is not stateful: rename is routine
    rename = next(
        f for f in renamed.document()["plans"][0]["findings"] if f["id"] == "probable-rename"
    )
    assert rename["address"] == "terraform_data.users_new"
    assert rename["related"] == ["terraform_data.users"]

    workdir.write("moved.tf", rename["moved_block"])
    moved = _check_binary(workdir, shim, tmp_path)
    assert moved.code == 0, moved.stderr
    assert findings_of(moved.document()) == [("moved", "terraform_data.users_new")]
    assert moved.document()["plans"][0]["counts"]["delete"] == 0


def test_make_run_shows_the_report_on_the_examples_and_succeeds() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "signalbox.cli.run_example", "check-plans"],  # make check-plans
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "SIGNALBOX_CONFIG"},
    )
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0].startswith("NEEDS APPROVAL on dev: 1 stateful resource destroyed")
    assert "from = aws_cognito_user_pool.main" in completed.stdout
    assert "`signalbox check` exit code: 3 (needs approval" in completed.stdout
    for secrets in SECRETS.values():
        assert not any(secret in completed.stdout for secret in secrets)


# ------------------------------------------------------------------------------ which policy


BUILT_IN = (
    "Policy: the built-in defaults (destroying or replacing a stateful resource needs approval)"
)


def test_the_report_says_the_built_in_policy_applied_without_a_file(tmp_path: Path) -> None:
    result = run_check(STORY, "--env", "dev", cwd=tmp_path)
    assert result.stdout.splitlines()[1] == f"{BUILT_IN}; no policy file."
    document = run_check(STORY, "--env", "dev", "--format", "json", cwd=tmp_path).document()
    assert document["policy"] == {
        "file": None,
        "sections": [],
        "text": f"{BUILT_IN}; no policy file.",
    }


def test_the_report_names_the_file_and_the_sections_it_applied(tmp_path: Path) -> None:
    result = run_check(STORY, "--env", "prod", "--policy", EXAMPLE_POLICY, cwd=tmp_path)
    said = f"Policy: {EXAMPLE_POLICY}, [environments.prod.policy]."
    assert result.stdout.splitlines()[1] == said
    assert result.stderr == ""
    markdown = run_check(
        STORY, "--env", "prod", "--policy", EXAMPLE_POLICY, "--format", "markdown", cwd=tmp_path
    )
    assert f"<sub>{said}</sub>" in markdown.stdout


def test_an_environment_a_policy_file_does_not_declare_is_warned_about(tmp_path: Path) -> None:
    (tmp_path / "signalbox.toml").write_text('[policy]\nreplace = "routine"\n', "utf-8")
    result = run_check(STORY, "--env", "prdo", cwd=tmp_path)
    assert result.code == 3  # a warning, not a failure: the check still runs
    assert result.stderr.startswith(
        "warning: signalbox.toml does not declare the environment 'prdo' (no "
        "[environments.prdo] table): only what applies to every environment was checked."
    )
    assert result.stdout.splitlines()[1] == "Policy: signalbox.toml, [policy]."


# ------------------------------------------------------------------------------ in a CI log


def test_a_long_plan_name_stays_on_one_line_in_a_ci_log(tmp_path: Path) -> None:
    plan = tmp_path / ("cognito-renamed-without-moved-" + "x" * 120 + ".json")
    plan.write_bytes(STORY.read_bytes())
    result = run_check(plan, "--env", "dev", cwd=tmp_path)  # stdout is a pipe
    lines = result.stdout.splitlines()
    assert [line for line in lines if line != line.rstrip()] == []
    assert lines[0] == "NEEDS APPROVAL on dev: 1 stateful resource destroyed"
    assert lines[3] == f"{plan} (Terraform 1.9.8, format 1.2)"

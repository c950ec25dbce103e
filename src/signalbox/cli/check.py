"""`signalbox check`: offline plan analysis; the exit code is the verdict.

Thin: it reads the arguments, asks ``signalbox.services.plan_check`` and renders the
document. Errors go to ``main()``'s single handler. The import path stays lean (no server
libraries) so a check of a big plan starts at once.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path

import typer

from signalbox.cli.collector import paused_collector
from signalbox.cli.consoles import console_for
from signalbox.cli.exit_codes import ExitCode
from signalbox.cli.render_check import VERDICT_EXIT_CODES

DEFAULT_POLICY = "signalbox.toml"

HELP = f"""Check Terraform plans: what they destroy, probable renames, and a verdict.

PLAN is `terraform show -json` output: a file, or - for standard input. A binary plan file from `terraform plan -out` is shown as JSON with terraform or tofu from PATH (or --terraform). Several PLAN arguments, and files holding several JSON documents (terragrunt run-all), give one report covering all, with the worst verdict.

Attribute values are never printed, only attribute names.

Exit codes:
  {ExitCode.OK:d}  routine: nothing needs a person
  {ExitCode.NEEDS_APPROVAL:d}  needs approval, e.g. a stateful resource is destroyed
  {ExitCode.BLOCKED:d}  blocked by the policy
  {ExitCode.FAILURE:d}  a plan could not be read (the message gives the position)
  {ExitCode.USAGE:d}  usage error: bad flags, a missing file, a bad policy file

Examples:
  terraform show -json tfplan > plan.json
  signalbox check plan.json --env dev
  signalbox check tfplan --env prod --policy signalbox.toml
  signalbox check plan.json --env dev --format markdown >> "$GITHUB_STEP_SUMMARY"
"""  # noqa: E501


class OutputFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


def check(
    plans: list[str] = typer.Argument(
        ...,
        metavar="PLAN...",
        show_default=False,
        help="Plan JSON files (terraform show -json), binary plan files, or - for stdin.",
    ),
    env: str | None = typer.Option(
        None,
        "--env",
        "-e",
        metavar="ENV",
        show_default=False,
        help="Environment the plan is for; its policy applies. Required unless the policy "
        "file declares exactly one environment; must be one it declares, if it declares any.",
    ),
    policy: Path | None = typer.Option(
        None,
        "--policy",
        "-p",
        metavar="FILE",
        envvar="SIGNALBOX_CONFIG",
        show_default=False,
        show_envvar=True,
        dir_okay=False,
        help=f"Policy file (signalbox.toml). Default: ./{DEFAULT_POLICY} if it exists, "
        "otherwise the built-in policy (destroying or replacing a stateful resource needs "
        "approval; everything else is routine).",
    ),
    output_format: OutputFormat = typer.Option(
        OutputFormat.text,
        "--format",
        "-f",
        case_sensitive=False,
        help="text for a terminal, markdown for a pull-request comment or "
        "$GITHUB_STEP_SUMMARY, json for machines (schema signalbox.check/1, see docs/check.md).",
    ),
    terraform: str | None = typer.Option(
        None,
        "--terraform",
        metavar="PATH",
        show_default=False,
        help="terraform or tofu binary used to read binary plan files "
        "(default: terraform, then tofu, from PATH).",
    ),
) -> None:
    from signalbox.services import plan_check

    policy_file, document = _policy_document(policy)
    environment = plan_check.choose_environment(env, document)
    used = plan_check.policy_used(policy_file, environment, document)
    warning = used.warning()
    if warning:
        console_for(sys.stderr, soft_wrap=True).print(warning, markup=False)
    if plans.count(plan_check.STDIN) > 1:
        from signalbox.core.errors import UsageError

        raise UsageError(
            "Standard input (-) can be read only once.",
            hint="Pass - at most once among the PLAN arguments.",
        )
    with paused_collector():
        sources = [
            (
                path if path != plan_check.STDIN else "<stdin>",
                plan_check.read_plan_source(path, terraform=terraform),
            )
            for path in plans
        ]
        result = plan_check.check_plan_sources(sources, environment=environment, document=document)
        del sources
    result.document["policy"] = used.to_plain()
    _render(result.document, output_format)
    raise typer.Exit(int(VERDICT_EXIT_CODES.get(str(result.verdict), ExitCode.FAILURE)))


def _policy_document(policy: Path | None) -> tuple[str | None, dict[str, object]]:
    """The policy file's name as given (None: there is none) and its parsed document."""
    from signalbox.services.plan_check import read_policy_file

    if policy is not None:
        return str(policy), read_policy_file(policy)
    if os.path.isfile(DEFAULT_POLICY):
        return DEFAULT_POLICY, read_policy_file(DEFAULT_POLICY)
    return None, {}


def _render(document: dict[str, object], output_format: OutputFormat) -> None:
    from signalbox.cli import render_check

    if output_format is OutputFormat.json:
        sys.stdout.buffer.write(render_check.render_json(document))
    elif output_format is OutputFormat.markdown:
        sys.stdout.write(render_check.render_markdown(document))
    else:
        render_check.render_text(document, console_for())
    sys.stdout.flush()

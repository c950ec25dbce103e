"""`signalbox gate`: ask the server for a deploy slot, then run COMMAND only on go.

Exit codes: COMMAND's own code when it ran; 75 refused for now (held, reserved, frozen,
superseded, queue wait expired); 76 approval not given within --wait; 77 denied (policy
blocked, approval denied, or not allowed); 2 usage; 1 the server could not be reached or
understood. See docs/gate.md.
"""

from __future__ import annotations

import os
import re
import sys

import typer

from signalbox.cli.ci_context import ci_context_from_env
from signalbox.cli.client import TOKEN_OPTION, URL_OPTION, ApiClient
from signalbox.cli.gate_api import DEFAULT_POLL_SECONDS, GateApi, client_transport
from signalbox.cli.gate_flow import GateRequest, run_gate
from signalbox.core.durations import parse_duration
from signalbox.core.errors import UsageError

__all__ = ["GATE_HELP", "gate", "read_plan", "server_from_env"]

HOTFIX_OPTION = typer.Option(
    None,
    "--hotfix",
    metavar="N",
    min=1,
    help="Deploy as the hotfix of ENV's open incident N: ahead of every queued deploy, and "
    "through its freeze. Only its commander and the responders they name may (else 77). It "
    "still waits for a running deploy, and its plan is still checked.",
)

_ZERO = re.compile(r"^\s*0+\s*[dhms]?\s*$")  # --wait 0, 0s, 0m: ask once, do not wait

GATE_HELP = "\n\n".join(
    (
        "Run COMMAND (after `--`) only when the server says this deploy may go.",
        "Asks the server for a deploy slot on ENV with the plan's analysis, waits in the "
        "queue or for an approval (long-polling, up to --wait), then runs COMMAND with the "
        "deploy lease renewed while it runs, reports its outcome and duration, and releases "
        "the environment. If the gate is killed, the command's processes are stopped with it "
        "(see docs/gate.md for the limits on a terminal), the lease lapses and the "
        "environment frees itself. While waiting it says so every minute.",
        "Reads SIGNALBOX_URL and SIGNALBOX_TOKEN, and the commit, branch, actor and run link "
        "from GitHub Actions or GitLab CI variables (flags override them). Messages go to "
        "standard error; COMMAND's output is passed through untouched.",
        "Exit codes: COMMAND's own code when it ran; 75 refused for now (held, reserved, "
        "frozen, superseded, queue wait expired); 76 approval not given within --wait; 77 "
        "denied (policy blocked, approval denied, or not allowed: e.g. a --hotfix outside the "
        "incident's team); 2 usage; 1 server unreachable or not understood.",
        "With --hotfix N the deploy is the fix of ENV's open incident N: it jumps the queue "
        "and passes the incident's freeze, for the incident's commander and responders only; "
        "it still waits for a deploy already running, and a plan that needs approval still "
        "waits for one (the commander may give it).",
        "Example: signalbox gate --env dev --plan plan.json --wait 20m -- terraform apply tfplan",
    )
)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def server_from_env(url_flag: str | None, token_flag: str | None) -> tuple[str, str]:
    """The server URL and token from the flags or SIGNALBOX_URL and SIGNALBOX_TOKEN; in CI
    both must be set (a job that guessed a default server would ask the wrong one)."""
    url = (url_flag or os.environ.get("SIGNALBOX_URL", "")).strip()
    token = (token_flag or os.environ.get("SIGNALBOX_TOKEN", "")).strip()
    if not url or not token:
        missing = " and ".join(
            name
            for name, value in (("SIGNALBOX_URL", url), ("SIGNALBOX_TOKEN", token))
            if not value
        )
        raise UsageError(
            f"{missing} {'is' if ' and ' not in missing else 'are'} not set.",
            hint="Set SIGNALBOX_URL to the server (e.g. https://signalbox.example.com) and "
            "SIGNALBOX_TOKEN to a token with the developer role on the environment.",
        )
    return url, token


def read_plan(path: str | None) -> bytes | None:
    """The plan file's bytes (JSON or a binary plan), ``-`` for stdin; None without one."""
    if path is None:
        return None
    from signalbox.services.plan_check import read_plan_source

    return read_plan_source(path)


def gate(
    command: list[str] = typer.Argument(
        ..., metavar="-- COMMAND...", help="The deploy command to run on go, after `--`."
    ),
    env: str = typer.Option(..., "--env", "-e", help="The environment to deploy to."),
    plan: str | None = typer.Option(
        None,
        "--plan",
        help="Plan JSON (`terraform show -json tfplan`), a binary plan file, or - for stdin. "
        "Without it the deploy is judged without a plan analysis.",
    ),
    wait: str = typer.Option(
        "30m",
        "--wait",
        help="How long to wait in the queue or for an approval before giving up "
        "(75 when still queued, 76 when still awaiting approval). 0s: do not wait.",
    ),
    commit: str | None = typer.Option(None, "--commit", help="Commit (default: from CI)."),
    branch: str | None = typer.Option(
        None,
        "--branch",
        help="Branch (default: from CI). A newer deploy of the same "
        "branch supersedes older queued ones.",
    ),
    actor: str | None = typer.Option(None, "--actor", help="Who triggered it (default: CI)."),
    run_url: str | None = typer.Option(None, "--run-url", help="Link to the CI run."),
    hotfix: int | None = HOTFIX_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    if not command:
        raise UsageError(
            "No COMMAND given.",
            hint="Put the command after --, e.g. "
            "signalbox gate --env dev -- terraform apply tfplan",
        )
    wait_seconds = 0.0 if _ZERO.match(wait) else parse_duration(wait).total_seconds()
    base_url, secret = server_from_env(url, token)
    context = ci_context_from_env(os.environ).with_overrides(
        commit=commit, branch=branch, actor=actor, run_url=run_url
    )
    request = GateRequest(
        environment=env,
        context=context,
        command=command,
        plan=read_plan(plan),
        plan_source=plan or "",
        wait_seconds=wait_seconds,
        hotfix=hotfix,
    )
    client = ApiClient(base_url, secret, timeout=DEFAULT_POLL_SECONDS + 95.0)
    code = run_gate(GateApi(client_transport(client)), request, say=_say)
    raise typer.Exit(code)

"""`signalbox preflight`: would a gate started now go, wait, or be refused? Stores nothing.

The first step of a pipeline: a job bound for a frozen, held or reserved environment ends
here, before it builds anything, with every reason and whom to ask. Exit codes: 0 go, wait
(with the position and expected wait) or needs-approval (the gate would wait for one); 75
refused for now; 77 the plan is blocked or denied, or the caller may not deploy (or may not
run a hotfix of that incident); 2 usage; 1 the server could not be reached or understood.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import typer

from signalbox.cli.ci_context import ci_context_from_env
from signalbox.cli.client import JSON_OPTION, TOKEN_OPTION, URL_OPTION, ApiClient
from signalbox.cli.exit_codes import exit_code_for_preflight
from signalbox.cli.gate import HOTFIX_OPTION, read_plan, server_from_env
from signalbox.cli.gate_flow import render_analysis
from signalbox.cli.local_times import local_time
from signalbox.core.durations import format_duration

__all__ = ["PREFLIGHT_HELP", "preflight", "preflight_lines"]

PREFLIGHT_HELP = "\n\n".join(
    (
        "Would a gate started now on ENV go, wait, or be refused? Asks the server without "
        "creating a deploy: run it as the first step of a pipeline, so that a job bound for "
        "a frozen, held or reserved environment ends before it builds anything.",
        "Prints the answer the gate would get, its place in the queue and the expected wait, "
        "the plan's verdict (with --plan), and every reason that would stop or delay it, each "
        "with whom to ask and until when. Reads SIGNALBOX_URL, SIGNALBOX_TOKEN and the CI "
        "context (branch, commit, actor) like `gate`.",
        "Exit codes: 0 go, wait, or needs-approval (the gate would wait for an approval); 75 "
        "refused for now (frozen, held, reserved); 77 the plan is blocked or denied, or you "
        "may not deploy here (or may not run that --hotfix); 2 usage; 1 server unreachable "
        "or not understood.",
        "Example: signalbox preflight --env dev --plan plan.json",
    )
)


def _about(seconds: float) -> str:
    return format_duration(timedelta(seconds=round(seconds)))


def preflight_lines(answer: Mapping[str, Any], *, now: datetime) -> list[str]:
    """What `preflight` prints for the server's answer: the verdict first, then the plan,
    then every reason, one a line, with whom to ask and until when."""
    env, timezone = answer["environment"], answer.get("timezone") or "UTC"
    verdict = answer["verdict"]
    hotfix = answer.get("hotfix_for")
    what = f"a hotfix of incident {hotfix}" if hotfix is not None else "a deploy"
    position, wait = answer.get("position"), float(answer.get("expected_wait_seconds") or 0)
    takes = _about(float(answer.get("expected_deploy_seconds") or 0))
    if verdict == "go":
        head = f"go: {what} to {env} now would go at once (it takes about {takes})."
    elif verdict == "wait":
        head = (
            f"wait: {what} to {env} now would be number {position} in the queue; expected "
            f"wait about {_about(wait)}, then about {takes} to deploy."
        )
    elif verdict == "needs-approval":
        queued = ""
        if wait > 0:
            queued = f" (and number {position} in the queue; expected wait about {_about(wait)})"
        head = f"needs approval: {what} to {env} now would wait for an approval{queued}."
    else:
        head = f"refused ({answer.get('reason')}): {what} to {env} now would be refused."
    lines = [head]
    if answer.get("analysis") is not None:
        lines.extend(render_analysis(answer["analysis"]))
    elif answer.get("plan_verdict") == "none":
        lines.append("plan: none given (the deploy would be judged without a plan analysis)")
    superseding = answer.get("superseding") or []
    if superseding:
        ids = ", ".join(str(ident) for ident in superseding)
        lines.append(f"it would supersede the waiting deploys {ids} of the same branch.")
    reasons = answer.get("reasons") or []
    if reasons:
        lines.append("reasons:")
    for reason in reasons:
        extra = []
        if reason.get("whom"):
            extra.append(f"ask {reason['whom']}")
        if reason.get("until"):
            extra.append(f"until {local_time(reason['until'], timezone, now)}")
        said = f" [{'; '.join(extra)}]" if extra else ""
        lines.append(f"  {reason['effect']} ({reason['reason']}): {reason['message']}{said}")
    return lines


def preflight(
    env: str = typer.Option(..., "--env", "-e", help="The environment a gate would deploy to."),
    hotfix: int | None = HOTFIX_OPTION,
    plan: str | None = typer.Option(
        None,
        "--plan",
        help="Plan JSON (`terraform show -json tfplan`), a binary plan file, or - for stdin: "
        "judged as the gate would judge it.",
    ),
    commit: str | None = typer.Option(None, "--commit", help="Commit (default: from CI)."),
    branch: str | None = typer.Option(
        None, "--branch", help="Branch (default: from CI): a gate supersedes older ones of it."
    ),
    actor: str | None = typer.Option(None, "--actor", help="Who triggered it (default: CI)."),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    base_url, secret = server_from_env(url, token)
    context = ci_context_from_env(os.environ).with_overrides(
        commit=commit, branch=branch, actor=actor
    )
    payload: dict[str, Any] = {
        "environment": env,
        "branch": context.branch,
        "commit": context.commit,
        "actor": context.actor,
    }
    body = read_plan(plan)
    if body is not None:
        payload["plan"] = base64.b64encode(body).decode("ascii")
        payload["plan_source"] = plan or ""
    if hotfix is not None:
        payload["hotfix"] = hotfix
    client = ApiClient(base_url, secret, timeout=120.0)
    answer = client.post("/api/preflight", json=payload)
    code = exit_code_for_preflight(str(answer.get("verdict")), answer.get("reason"))
    if as_json:
        typer.echo(json.dumps(answer, indent=2, sort_keys=True))
    else:
        for line in preflight_lines(answer, now=datetime.now(UTC)):
            typer.echo(line)
        if code:
            typer.echo(f"[exit {int(code)}]")
    raise typer.Exit(int(code))

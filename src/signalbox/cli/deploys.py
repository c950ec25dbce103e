"""`signalbox approve`, `signalbox deny`, `signalbox deploys`: people's side of the gate."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import typer
from rich.table import Table

from signalbox.cli.client import TOKEN_OPTION, URL_OPTION, ApiClient
from signalbox.cli.consoles import console_for
from signalbox.core.times import format_local

__all__ = [
    "APPROVE_HELP",
    "DENY_HELP",
    "DEPLOYS_HELP",
    "approve",
    "deny",
    "deploys",
]


def _who(deploy: dict[str, Any]) -> str:
    actor = deploy.get("actor") or ""
    requester = deploy["requester"]
    return f"{actor} ({requester})" if actor and actor != requester else requester


APPROVE_HELP = "\n\n".join(
    (
        "Approve the plan of a deploy waiting for approval; its gate then goes.",
        "Needs the approver role on the deploy's environment, or, for a hotfix (`gate "
        "--hotfix N`), being the commander of incident N: that approval is recorded as the "
        "commander's. The approval is bound to the environment and the plan's digest: a "
        "changed plan needs a new one. By default you cannot approve a deploy you requested.",
    )
)


def approve(
    deploy_id: int = typer.Argument(..., help="The deploy waiting for approval."),
    reason: str = typer.Option("", "--reason", help="Optional note, kept in the event."),
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Approve the plan of a deploy waiting for approval; its gate then goes."""
    client = ApiClient.from_options(url, token)
    answer = client.post(f"/api/deploys/{deploy_id}/approve", json={"reason": reason})
    deploy = answer["deploy"]
    commander = answer.get("as_commander_of")
    role = f" as the commander of incident {commander}" if commander is not None else ""
    typer.echo(
        f"Approved deploy {deploy['id']} to {deploy['environment']}{role} "
        f"({deploy['branch']} @ {deploy['commit'][:12]} by {_who(deploy)}); its gate goes "
        "when the environment is free."
    )


DENY_HELP = "\n\n".join(
    (
        "Deny the plan of a deploy waiting for approval; its gate exits 77.",
        "Needs the approver role on the deploy's environment (or, for a hotfix, being the "
        "commander of its incident). The same plan sent again stays denied until an approver "
        "approves it.",
    )
)


def deny(
    deploy_id: int = typer.Argument(..., help="The deploy waiting for approval."),
    reason: str = typer.Option(..., "--reason", help="Why; the requester reads it."),
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Deny the plan of a deploy waiting for approval; its gate exits 77."""
    client = ApiClient.from_options(url, token)
    answer = client.post(f"/api/deploys/{deploy_id}/deny", json={"reason": reason})
    deploy = answer["deploy"]
    typer.echo(f"Denied deploy {deploy['id']} to {deploy['environment']}: {reason}")


DEPLOYS_HELP = "\n\n".join(
    (
        "List recent deploys, newest first: id, state, who, commit, plan verdict.",
        "Times are shown in each environment's time zone. `signalbox approve ID` lets a "
        "deploy in state awaiting-approval go.",
    )
)


def deploys(
    environment: str | None = typer.Option(None, "--env", "-e", help="Only this environment."),
    limit: int = typer.Option(20, "--limit", "-n", help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """List recent deploys, newest first: id, state, who, commit, plan verdict."""
    client = ApiClient.from_options(url, token)
    answer = client.get("/api/deploys", environment=environment, limit=limit)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    rows = answer["deploys"]
    if not rows:
        typer.echo("No deploys.")
        return
    now = datetime.now(UTC)
    table = Table(box=None, pad_edge=False)
    for column in ("ID", "ENV", "STATE", "WHO", "BRANCH", "COMMIT", "PLAN", "REQUESTED"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["environment"],
            row["state"],
            _who(row),
            row["branch"],
            row["commit"][:12],
            row["plan_verdict"],
            format_local(
                datetime.fromisoformat(row["requested_at"]), row.get("timezone") or "UTC", now=now
            ),
        )
    console_for(soft_wrap=True).print(table)

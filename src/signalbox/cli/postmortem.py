"""`signalbox postmortem N`, `signalbox action add|set`, `signalbox actions`.

signalbox postmortem 3 > postmortem.md          the draft, as Markdown, on standard output
signalbox postmortem 3 --format json --since 1d  the same as JSON, looking a day back
signalbox action add 3 "deletion protection on the pool" --owner bob --due 2026-12-15
signalbox action set 7 --status done --note "merged in #412"
signalbox actions --open                         every open action, overdue ones marked

The server drafts the postmortem (JSON); the Markdown is rendered here by the same pure
renderer the API's ``format=markdown`` uses, so the two never differ.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

import typer
from rich.table import Table

from signalbox.cli.client import JSON_OPTION, TOKEN_OPTION, URL_OPTION, ApiClient
from signalbox.cli.consoles import console_for
from signalbox.core.postmortem import from_plain
from signalbox.core.postmortem_markdown import render_markdown

__all__ = ["ACTIONS_HELP", "POSTMORTEM_HELP", "action_app", "actions", "postmortem"]


class Format(StrEnum):
    MARKDOWN = "markdown"
    JSON = "json"


POSTMORTEM_HELP = "\n\n".join(
    (
        "Draft incident NUMBER's postmortem from what happened, on standard output.",
        "Summary, impact window, times to detect, mitigate and resolve, the changes before "
        "the break (deploys with their plan findings, approvals, state writes with the "
        "resources they removed, out-of-band writes, holds and reservations), the timeline in "
        "the environment's time zone, the updates as posted, headings for what only people "
        "can write, and the follow-up actions. Needs read access to the environment.",
        "Example: signalbox postmortem 3 > postmortem.md",
    )
)


def postmortem(
    number: int = typer.Argument(..., help="The incident's number."),
    output: Format = typer.Option(
        Format.MARKDOWN, "--format", "-f", help="markdown (for a file to edit) or json."
    ),
    since: str = typer.Option(
        "6h", "--since", help="How far before the opening to look for the change that broke it."
    ),
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Draft incident NUMBER's postmortem from what happened, on standard output."""
    client = ApiClient.from_options(url, token)
    answer = client.get(f"/api/incidents/{number}/postmortem", since=since, format="json")
    if output is Format.JSON:
        typer.echo(json.dumps(answer, indent=2))
        return
    typer.echo(render_markdown(from_plain(answer)), nl=False)


action_app = typer.Typer(
    help="Follow-up actions of an incident: add them, set their status.", no_args_is_help=True
)


def describe(action: dict[str, Any]) -> str:
    """``action 1 of incident 3 (dev): ..., owned by bob, due 2026-12-15: proposed``."""
    owner = f", owned by {action['owner']}" if action.get("owner") else ""
    due = f", due {action['due']}" if action.get("due") else ""
    overdue = " (overdue)" if action.get("overdue") else ""
    return (
        f"action {action['id']} of incident {action['incident_id']} "
        f"({action['environment']}): {action['text']}{owner}{due}: {action['status']}{overdue}"
    )


@action_app.command("add")
def add(
    number: int = typer.Argument(..., help="The incident's number."),
    text: str = typer.Argument(..., help="What will be done so that it does not happen again."),
    owner: str = typer.Option("", "--owner", help="Who will do it (token name or CI login)."),
    due: str | None = typer.Option(None, "--due", help="Due date, YYYY-MM-DD."),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Add a follow-up action to incident NUMBER (status proposed).

    Needs developer rights on the incident's environment.
    Example: signalbox action add 3 "deletion protection on the pool" --owner bob --due 2026-12-15
    """
    client = ApiClient.from_options(url, token)
    body = {"text": text, "owner": owner, "due": due}
    answer = client.post(f"/api/incidents/{number}/actions", json=body)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    typer.echo(f"Added {describe(answer)}")


@action_app.command("set")
def set_status(
    action_id: int = typer.Argument(..., help="The action's id (see `signalbox actions`)."),
    status: str = typer.Option(
        ..., "--status", help="proposed, accepted, in-progress, done or not-doing."
    ),
    note: str = typer.Option("", "--note", help="Why, or what was done."),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Set a follow-up action's status, with an optional note.

    Needs developer rights on the incident's environment.
    Example: signalbox action set 7 --status done --note "merged in #412"
    """
    client = ApiClient.from_options(url, token)
    answer = client.post(f"/api/actions/{action_id}", json={"status": status, "note": note})
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    typer.echo(f"Set {describe(answer)}")


ACTIONS_HELP = "\n\n".join(
    (
        "List the follow-up actions of incidents in the environments you may read.",
        "Overdue actions (past their due date, neither done nor not-doing) are marked.",
        "Example: signalbox actions --open",
    )
)


def actions(
    open_only: bool = typer.Option(False, "--open", help="Only actions not done or dropped."),
    incident: int | None = typer.Option(None, "--incident", help="Only this incident's."),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """List the follow-up actions of incidents in the environments you may read."""
    client = ApiClient.from_options(url, token)
    answer = client.get("/api/actions", open="true" if open_only else None, incident=incident)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    rows = answer["actions"]
    if not rows:
        typer.echo("No open actions." if open_only else "No actions.")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("ID", "INCIDENT", "ENV", "STATUS", "OWNER", "DUE", "ACTION"):
        table.add_column(column)
    for row in rows:
        status = f"{row['status']} (overdue)" if row["overdue"] else row["status"]
        table.add_row(
            str(row["id"]),
            str(row["incident_id"]),
            row["environment"],
            status,
            row["owner"] or "-",
            row["due"] or "-",
            row["text"],
        )
    console_for(soft_wrap=True).print(table)

"""`signalbox status` (every environment at a glance) and `signalbox events`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from signalbox.cli.client import JSON_OPTION, TOKEN_OPTION, URL_OPTION, ApiClient
from signalbox.cli.deploys import deploy_figures, figure_cells, merge_figures
from signalbox.core.times import format_local


def _local(value: str | None, timezone: str, now: datetime) -> str:
    return format_local(datetime.fromisoformat(value), timezone, now=now) if value else ""


def status_table(environments: list[dict[str, Any]], now: datetime) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("ENVIRONMENT", "STATE", "HOLDER", "REASON", "UNTIL"):
        table.add_column(column)
    for column in ("NEXT RESERVATION", "QUEUE", "LAST DEPLOY"):  # from cli.deploys
        table.add_column(column)
    for environment in environments:
        hold = environment.get("hold") or {}
        table.add_row(
            environment["name"],
            environment["state"],
            hold.get("owner", ""),
            hold.get("reason", ""),
            _local(hold.get("until"), environment["timezone"], now),
            *figure_cells(environment.get("deploys"), environment["timezone"]),
        )
    return table


def status(
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Every environment you may see: state, holder, next reservation, queue, last deploy."""
    client = ApiClient.from_options(url, token)
    answer = client.get("/api/environments")
    merge_figures(answer["environments"], deploy_figures(client), now=datetime.now(UTC))
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    Console(highlight=False).print(status_table(answer["environments"], datetime.now(UTC)))


def events(
    env: str | None = typer.Option(None, "--env", "-e", help="Only this environment."),
    limit: int = typer.Option(50, "--limit", "-n", help="How many, newest first."),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """The event log, newest first: who changed what, when and why."""
    client = ApiClient.from_options(url, token)
    answer = client.get("/api/events", env=env, limit=limit)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    now = datetime.now(UTC)
    table = Table(box=None, header_style="bold")
    for column in ("WHEN", "ENV", "WHO", "WHAT", "MESSAGE"):
        table.add_column(column)
    for event in answer["events"]:
        where = event["environment"]
        when = _local(event["at"], event.get("timezone") or "UTC", now)
        table.add_row(when, where or "", event["actor"], event["kind"], event["message"])
    Console(highlight=False).print(table)

"""`signalbox reserve`, `signalbox reservations`, `signalbox cancel-reservation`.

Thin: parse the flags, call the API, print. Times are typed and shown in the environment's
time zone (the server reads them, so every client agrees on what "15:30" means).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.table import Table

from signalbox.cli.client import JSON_OPTION, TOKEN_OPTION, URL_OPTION, ApiClient
from signalbox.cli.consoles import console_for

__all__ = [
    "RESERVATIONS_HELP",
    "RESERVE_HELP",
    "cancel_reservation",
    "reservations",
    "reserve",
]


def local(iso: str, timezone: str) -> str:
    """``2026-11-26T14:30:00+00:00`` in Europe/Berlin -> ``2026-11-26 15:30 CET``."""
    moment = datetime.fromisoformat(iso).astimezone(ZoneInfo(timezone))
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname()}"


def describe_reservation(reservation: dict[str, Any]) -> str:
    zone = reservation.get("timezone") or "UTC"
    ident = f"#{reservation['id']}" if reservation.get("id") is not None else "freeze"
    return (
        f"{reservation['environment']} {ident}: {local(reservation['starts'], zone)} to "
        f"{local(reservation['ends'], zone)} by {reservation['owner']}: {reservation['reason']}"
    )


RESERVE_HELP = "\n\n".join(
    (
        "Reserve a time window on ENV: deploys that would still run in it are refused.",
        "Needs the stakeholder (or developer, or admin) role on ENV. A deploy is refused when"
        " its expected duration (the configured expected_deploy, or the p90 of the last 20"
        " successful deploys when longer) would reach into the window. Times are read in the"
        " environment's time zone.",
        'Example: signalbox reserve dev --from 15:30 --to 16:30 --reason "investor demo"',
    )
)


def reserve(
    environment: str = typer.Argument(..., help="The environment to reserve, e.g. dev."),
    starts: str = typer.Option(
        ...,
        "--from",
        help="Start: 15:30 (today, in the environment's time zone), 2026-11-26 15:30, "
        "or ISO 8601 with an offset.",
    ),
    ends: str = typer.Option(..., "--to", help="End, in the same forms as --from."),
    reason: str = typer.Option(..., "--reason", help="Why; shown to every refused deploy."),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Reserve a time window on ENV: deploys that would still run in it are refused."""
    client = ApiClient.from_options(url, token)
    answer = client.post(
        f"/api/environments/{environment}/reservations",
        json={"starts": starts, "ends": ends, "reason": reason},
    )
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    typer.echo(f"Reserved {describe_reservation(answer['reservation'])}")


RESERVATIONS_HELP = "\n\n".join(
    (
        "List reservations that are not over yet, and freeze windows of the next two weeks.",
        "Times are shown in each environment's time zone. Cancel one with `signalbox cancel-"
        "reservation ID`.",
    )
)


def reservations(
    environment: str | None = typer.Option(None, "--env", "-e", help="Only this environment."),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """List reservations that are not over yet, and freeze windows of the next two weeks."""
    client = ApiClient.from_options(url, token)
    answer = client.get("/api/reservations", environment=environment)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    rows = answer["reservations"]
    if not rows:
        typer.echo("No reservations.")
        return
    table = Table(box=None, pad_edge=False)
    for column in ("ID", "ENV", "FROM", "TO", "BY", "REASON"):
        table.add_column(column)
    for row in rows:
        zone = row.get("timezone") or "UTC"
        ident = str(row["id"]) if row.get("id") is not None else "freeze"
        table.add_row(
            ident,
            row["environment"],
            local(row["starts"], zone),
            local(row["ends"], zone),
            row["owner"],
            row["reason"],
        )
    console_for(soft_wrap=True).print(table)


def cancel_reservation(
    reservation_id: int = typer.Argument(..., help="The reservation's id (see reservations)."),
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Cancel a reservation: its owner may, and an admin of its environment."""
    client = ApiClient.from_options(url, token)
    answer = client.delete(f"/api/reservations/{reservation_id}")
    typer.echo(f"Cancelled {describe_reservation(answer['cancelled'])}")

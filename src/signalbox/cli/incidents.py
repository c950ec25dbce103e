"""`signalbox incident open|update|resolve|reopen|show` and `signalbox incidents`.

Thin: parse the flags, call the API (``/api/incidents``), print. ETAs are typed as people
say them (``30m``, ``15:30``) and read by the server in the environment's time zone; times
are shown in that zone. A refusal exits as every command's does (``cli.exit_codes``): 409
(already open, resolved) 75, 403 (not the commander) 77, a bad value 2.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import typer
from rich.table import Table

from signalbox.cli.client import JSON_OPTION, TOKEN_OPTION, URL_OPTION, ApiClient
from signalbox.cli.consoles import console_for
from signalbox.cli.local_times import ago, local_time

__all__ = ["INCIDENTS_HELP", "incident_app", "incident_line", "incidents"]

incident_app = typer.Typer(
    name="incident",
    help="Open, update, resolve, reopen and show incidents: an environment is broken.",
    no_args_is_help=True,
)


def incident_line(incident: dict[str, Any], timezone: str, now: datetime) -> str:
    """``incident 3 (sev1) users cannot log in - commander alice, identified, ETA 15:28 CET,
    last update 4m ago``."""
    eta = f", ETA {local_time(incident['eta'], timezone, now)}" if incident.get("eta") else ""
    return (
        f"incident {incident['id']} ({incident['severity']}) {incident['title']} - commander "
        f"{incident['commander']}, {incident['status']}{eta}, last update "
        f"{ago(incident['updated_at'], now)}"
    )


def _print(text: str) -> None:
    console_for(soft_wrap=True).print(text, markup=False)


def _effects(answer: dict[str, Any]) -> list[str]:
    effects = answer.get("effects") or {}
    env, lines = answer["environment"], []
    refused = effects.get("refused_deploys") or []
    if refused:
        listed = ", ".join(f"#{ident}" for ident in refused)
        lines.append(f"Refused {len(refused)} waiting deploy(s) to {env}: {listed}.")
    for owner in effects.get("suspended_holds") or []:
        lines.append(
            f"Suspended {owner}'s hold on {env}; it returns when the incident is resolved."
        )
    for owner in effects.get("returned_holds") or []:
        lines.append(f"{owner}'s hold on {env} is back, with a new fencing token.")
    for owner in effects.get("lapsed_holds") or []:
        lines.append(f"{owner}'s suspended hold on {env} lapsed meanwhile.")
    at_risk = effects.get("at_risk") or []
    if at_risk:
        listed = ", ".join(f"#{ident}" for ident in at_risk)
        lines.append(f"Told the owners of reservation(s) {listed} that they are at risk.")
    return lines


def _post(path: str, body: dict[str, Any], url: str | None, token: str | None) -> dict[str, Any]:
    answer: dict[str, Any] = ApiClient.from_options(url, token).post(path, body)
    return answer


OPEN_HELP = "\n\n".join(
    (
        "Open an incident on ENV and print its number.",
        "A freezing incident (sev1 and sev2 unless --no-freeze) refuses every waiting deploy "
        "that is not its hotfix at once (their gates exit 75, naming the incident, its "
        "commander and ETA), suspends other people's holds (they return on resolve) and tells "
        "the owners of reservations at risk. Needs the developer role on ENV; exits 75 when "
        "ENV already has an open incident.",
        'Example: signalbox incident open dev --title "users cannot log in" --severity sev1',
    )
)


@incident_app.command("open", help=OPEN_HELP)
def open_incident(
    env: str = typer.Argument(..., help="The broken environment, e.g. dev."),
    title: str = typer.Option(..., "--title", "-t", help="What is broken, as users see it."),
    severity: str = typer.Option(
        "sev2", "--severity", "-s", help="sev1 (the worst), sev2 or sev3."
    ),
    commander: str | None = typer.Option(
        None, "--commander", help="Who leads it (default: you).", show_default=False
    ),
    freeze: bool | None = typer.Option(
        None,
        "--freeze/--no-freeze",
        help="Freeze ENV: only the incident's hotfixes deploy (default: sev1 and sev2 do).",
        show_default=False,
    ),
    eta: str | None = typer.Option(
        None, "--eta", help="When it should work again: 30m, 15:30.", show_default=False
    ),
    note: str = typer.Option("", "--note", "-n", help="What is known so far."),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Open an incident on ENV and print its number (see OPEN_HELP)."""
    body = {
        "environment": env,
        "title": title,
        "severity": severity,
        "commander": commander,
        "freeze": freeze,
        "eta": eta,
        "note": note,
    }
    answer = _post("/api/incidents", body, url, token)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    now, number = datetime.now(UTC), answer["id"]
    eta_text = (
        f", ETA {local_time(answer['eta'], answer['timezone'], now)}" if answer["eta"] else ""
    )
    frozen = (
        f"{env} is frozen: only `signalbox gate --env {env} --hotfix {number}` deploys."
        if answer["frozen"]
        else f"{env} is not frozen."
    )
    lines = [
        f"Incident {number} opened on {env} ({answer['severity']}): {answer['title']}",
        f"Commander: {answer['commander']}{eta_text}. {frozen}",
        *_effects(answer),
        f"Post updates with: signalbox incident update {number} --status identified "
        '--eta 30m --note "..."',
    ]
    _print("\n".join(lines))


UPDATE_HELP = "\n\n".join(
    (
        "Post an update to incident N: a status, an ETA, a note. Handing over (--commander) "
        "and naming responders who may run its hotfixes (--responder) are for its commander "
        "or an admin (others exit 77).",
        'Example: signalbox incident update 3 --status identified --eta 15:28 --note "fix pushed"',
    )
)


@incident_app.command("update", help=UPDATE_HELP)
def update_incident(
    number: int = typer.Argument(..., help="The incident's number."),
    status: str | None = typer.Option(
        None,
        "--status",
        help="investigating, identified, mitigated or monitoring.",
        show_default=False,
    ),
    eta: str | None = typer.Option(None, "--eta", help="30m, 15:30.", show_default=False),
    note: str = typer.Option("", "--note", "-n", help="What changed."),
    commander: str | None = typer.Option(
        None, "--commander", help="Hand over (the commander or an admin).", show_default=False
    ),
    responders: list[str] = typer.Option(
        [],
        "--responder",
        help="May run its hotfixes (repeat; the commander or an admin).",
        show_default=False,
    ),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Post an update to incident N (see UPDATE_HELP)."""
    body = {
        "status": status,
        "eta": eta,
        "note": note,
        "commander": commander,
        "responders": list(responders),
    }
    answer = _post(f"/api/incidents/{number}/updates", body, url, token)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    now = datetime.now(UTC)
    _print(
        "\n".join([f"Updated {incident_line(answer, answer['timezone'], now)}.", *_effects(answer)])
    )


@incident_app.command("resolve")
def resolve_incident(
    number: int = typer.Argument(..., help="The incident's number."),
    note: str = typer.Option("", "--note", "-n", help="How it was resolved."),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Resolve an incident: its environment is unfrozen, suspended holds come back."""
    answer = _post(f"/api/incidents/{number}/resolve", {"note": note}, url, token)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    env = answer["environment"]
    lines = [f"Resolved incident {number} on {env}; {env} is open again.", *_effects(answer)]
    lines.append(f"Draft the postmortem with: signalbox postmortem {number}")
    _print("\n".join(lines))


@incident_app.command("reopen")
def reopen_incident(
    number: int = typer.Argument(..., help="The incident's number."),
    note: str = typer.Option("", "--note", "-n", help="Why it is not over."),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Open a resolved incident again; it freezes its environment again if it did."""
    answer = _post(f"/api/incidents/{number}/reopen", {"note": note}, url, token)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    env = answer["environment"]
    frozen = f" {env} is frozen again." if answer["frozen"] else ""
    _print("\n".join([f"Reopened incident {number} on {env}.{frozen}", *_effects(answer)]))


@incident_app.command("show")
def show_incident(
    number: int = typer.Argument(..., help="The incident's number."),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Show an incident and its updates as posted."""
    answer = ApiClient.from_options(url, token).get(f"/api/incidents/{number}")
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    now, tz = datetime.now(UTC), answer["timezone"]
    lines = [
        f"Incident {answer['id']} on {answer['environment']} ({answer['severity']}, "
        f"{answer['status']}): {answer['title']}",
        f"Commander: {answer['commander']}"
        + (f"; responders: {', '.join(answer['responders'])}" if answer["responders"] else ""),
        f"Opened {local_time(answer['opened_at'], tz, now)} by {answer['opened_by']}"
        + (f"; ETA {local_time(answer['eta'], tz, now)}" if answer["eta"] else "")
        + (
            f"; resolved {local_time(answer['resolved_at'], tz, now)} by {answer['resolved_by']}"
            if answer["resolved_at"]
            else ""
        ),
        "Freezes the environment." if answer["freezes"] else "Does not freeze the environment.",
    ]
    if answer["at_risk"]:
        lines.append("Reservations at risk: " + ", ".join(f"#{i}" for i in answer["at_risk"]))
    _print("\n".join(lines))
    table = Table(box=None, header_style="bold")
    for column in ("WHEN", "WHO", "WHAT", "STATUS", "ETA", "NOTE"):
        table.add_column(column)
    for update in answer["updates"]:
        table.add_row(
            local_time(update["at"], tz, now),
            update["author"],
            update["kind"],
            update["status"],
            local_time(update["eta"], tz, now),
            update["note"],
        )
    console_for(soft_wrap=True).print(table)


INCIDENTS_HELP = "\n\n".join(
    (
        "List the open incidents (--all: resolved ones too), newest first.",
        "Each line: the number, environment, severity, status, commander, ETA and when it "
        "was last updated, in the environment's time zone.",
    )
)


def incidents(
    env: str | None = typer.Option(None, "--env", "-e", help="Only this environment."),
    show_all: bool = typer.Option(False, "--all", help="Resolved incidents too."),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """List the open incidents (--all: resolved ones too), newest first."""
    params: dict[str, Any] = {"environment": env}
    if show_all:
        params["all"] = "true"
    answer = ApiClient.from_options(url, token).get("/api/incidents", **params)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    rows = answer["incidents"]
    if not rows:
        typer.echo("No open incidents." if not show_all else "No incidents.")
        return
    now = datetime.now(UTC)
    table = Table(box=None, header_style="bold")
    for column in ("ID", "ENV", "SEV", "STATUS", "TITLE", "COMMANDER", "ETA", "LAST UPDATE"):
        table.add_column(column)
    for row in rows:
        tz = row["timezone"]
        table.add_row(
            str(row["id"]),
            row["environment"],
            row["severity"],
            row["status"] + (" (frozen)" if row["frozen"] else ""),
            row["title"],
            row["commander"],
            local_time(row["eta"], tz, now),
            ago(row["updated_at"], now),
        )
    console_for(soft_wrap=True).print(table)

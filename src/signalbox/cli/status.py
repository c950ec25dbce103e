"""`signalbox status` (every environment at a glance) and `signalbox events`.

Both only show what the server says: the environment's picture (``GET /api/environments``,
computed once by ``core.status``) and the events in words (``GET /api/events``). Nothing is
merged or derived here.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from signalbox.cli.client import JSON_OPTION, TOKEN_OPTION, URL_OPTION, ApiClient
from signalbox.cli.consoles import console_for
from signalbox.cli.incidents import incident_line
from signalbox.cli.local_times import local_time

__all__ = ["events", "status", "status_view"]


def _who(environment: dict[str, Any]) -> tuple[str, str, str]:
    """(who, why, until) of the hold, or of the running deploy."""
    hold, running = environment.get("hold"), environment.get("running")
    if running:
        plan = running.get("plan") or {}
        return running["requester"], f"deploy {running['id']}: {plan.get('line', '')}", ""
    if hold:
        return hold["owner"], hold["reason"], hold["until"]
    return "", "", ""


def _next_window(environment: dict[str, Any], now: datetime) -> str:
    window = environment.get("next_reservation")
    if not window:
        return ""
    tz = environment["timezone"]
    starts, ends = local_time(window["starts"], tz, now), local_time(window["ends"], tz, now)
    text = f"{starts}-{ends} {window['owner']}: {window['reason']}"
    if environment.get("next_reservation_overlaps_deploy"):
        text += " (a deploy now would overlap)"
    return text


def _last(environment: dict[str, Any], now: datetime) -> str:
    last = environment.get("last_deploy")
    if not last:
        return ""
    finished = local_time(last["finished_at"], environment["timezone"], now)
    return f"#{last['id']} {last['state']} {finished}"


def _incidents(environments: list[dict[str, Any]], now: datetime) -> Text:
    """A line per open incident, and a line per reservation it puts at risk."""
    lines = Text()
    for environment in environments:
        incident, tz = environment.get("incident"), environment["timezone"]
        if not incident:
            continue
        lines.append(f"\n{environment['name']}: {incident_line(incident, tz, now)}")
        for window in environment.get("at_risk") or []:
            starts, ends = (
                local_time(window["starts"], tz, now),
                local_time(window["ends"], tz, now),
            )
            lines.append(
                f"\n  at risk: {window['owner']}'s reservation {starts}-{ends}: {window['reason']}"
            )
    return lines


def _notifications_failing(environments: list[dict[str, Any]], now: datetime) -> Text:
    """A line per failing notification target, naming the environments it hears of."""
    failing: dict[str, tuple[dict[str, Any], str, list[str]]] = {}
    for environment in environments:
        for target in environment.get("notifications_failing") or []:
            known = failing.setdefault(target["target"], (target, environment["timezone"], []))
            known[2].append(environment["name"])
    lines = Text()
    for name, (target, tz, names) in failing.items():
        attempts = target["attempts"]
        trouble = "gave up on a message queued" if target.get("state") == "given-up" else "failing"
        lines.append(
            f"\nnotifications to {name} ({', '.join(names)}) {trouble} since "
            f"{local_time(target['since'], tz, now)}, {attempts} attempt"
            f"{'s' if attempts != 1 else ''}: {target['last_error'] or 'no error recorded'} "
            "(signalbox notifications --failed)",
            style="red",
        )
    return lines


def status_view(environments: list[dict[str, Any]], now: datetime) -> Group:
    """The table of every environment, its open incident, the notification targets that are
    failing, then every reason a deploy would not go now."""
    table = Table(box=None, header_style="bold")
    columns = ("ENVIRONMENT", "STATE", "WHO", "WHY", "UNTIL", "NEXT RESERVATION", "QUEUE")
    for column in (*columns, "LAST DEPLOY"):
        table.add_column(column)
    for environment in environments:
        who, why, until = _who(environment)
        table.add_row(
            environment["name"],
            environment["state"],
            who,
            why,
            local_time(until, environment["timezone"], now),
            _next_window(environment, now),
            str(len(environment.get("queue") or [])),
            _last(environment, now),
        )
    reasons = Text()
    for environment in environments:
        for blocker in environment.get("blocking") or []:  # each sentence names its environment
            reasons.append(f"\n  - {blocker['message']}")
    if reasons:
        reasons = Text("\nA deploy started now would not go:", style="bold") + reasons
    return Group(
        table, _incidents(environments, now), _notifications_failing(environments, now), reasons
    )


def status(
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Every environment you may see: state, holder, next reservation, queue, last deploy."""
    answer = ApiClient.from_options(url, token).get("/api/environments")
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    view = status_view(answer["environments"], datetime.now(UTC))
    console_for(soft_wrap=True).print(view)


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
    for column in ("WHEN", "ENV", "WHAT", "KIND"):
        table.add_column(column)
    for event in answer["events"]:
        when = local_time(event["at"], event.get("timezone") or "UTC", now)
        table.add_row(when, event["environment"] or "", event["message"], event["kind"])
    console_for().print(table)

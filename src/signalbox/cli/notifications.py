"""`signalbox notify test NAME` and `signalbox notifications [--failed] [retry ...]`: how the
notification targets fare, sending again, and a test message.

Targets are named, never shown by URL: the server holds the URLs and sends the test itself,
so these commands need no secret but the token.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from signalbox.cli.client import JSON_OPTION, TOKEN_OPTION, URL_OPTION, ApiClient
from signalbox.cli.consoles import console_for
from signalbox.cli.exit_codes import ExitCode
from signalbox.cli.local_times import local_time
from signalbox.core.errors import UsageError

__all__ = [
    "NOTIFICATIONS_HELP",
    "RETRY_HELP",
    "TEST_HELP",
    "notifications",
    "notifications_app",
    "notifications_view",
    "notify_app",
    "retry",
    "send_test",
]

TEST_HELP = "\n\n".join(
    (
        "Send a test message through the notification target NAME now and print what "
        "Apprise answered.",
        "The server sends it with the target's URLs (the command never sees them). Needs the "
        "grant admin:*. Exits 0 when the target took it, 1 when it did not (the answer says "
        "why), 2 for a name that is not configured (the configured ones are listed).",
        "Example: signalbox notify test dev-channel",
    )
)

NOTIFICATIONS_HELP = "\n\n".join(
    (
        "How notifications fare: each target (a failing one marked, with its last error), "
        "then the messages, newest first.",
        "A target is failing when its oldest message did not go through: it is tried again "
        "with backoff (10 s, doubling, at most 5 min apart) until notify_give_up, and nothing "
        "after it is sent meanwhile. Shows the messages of events of the environments you may "
        "read. Send again with `signalbox notifications retry ID` or `--target NAME` (admin).",
        "Example: signalbox notifications --failed",
    )
)

RETRY_HELP = "\n\n".join(
    (
        "Send a message again now: delivery ID (whatever its state), or every failed and "
        "given-up message of --target NAME.",
        "Needs the grant admin:*. Exits 75 when the delivery is being sent right now, 2 for "
        "an unknown delivery or target.",
        "Example: signalbox notifications retry 42",
        "Example: signalbox notifications retry --target dev-channel",
    )
)

notify_app = typer.Typer(
    name="notify",
    help="Notification targets: send a test message through one (admin).",
    no_args_is_help=True,
)

notifications_app = typer.Typer(name="notifications", help=NOTIFICATIONS_HELP)


@notify_app.command("test", help=TEST_HELP)
def send_test(
    name: str = typer.Argument(..., help="The target's name, from a [[notify]] table."),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    answer = ApiClient.from_options(url, token).post(f"/api/notify/{name}/test")
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
    elif answer["sent"]:
        typer.echo(f"Sent a test message through {name}: {_sentence(answer['answer'])}")
    else:
        console_for(sys.stderr, soft_wrap=True).print(
            f"The test message through {name} was not sent: {_sentence(answer['answer'])}",
            markup=False,
        )
    if not answer["sent"]:
        raise typer.Exit(int(ExitCode.FAILURE))


def _sentence(text: str) -> str:
    """``text`` ending with one full stop (Apprise's own words often end with one)."""
    return text.rstrip().rstrip(".") + "."


def _target_status(target: dict[str, Any], timezone: str, now: datetime) -> Text:
    failing = target.get("failing")
    if failing:
        since = local_time(failing["since"], timezone, now)
        retry = local_time(failing["next_attempt_at"], timezone, now)
        attempts = failing["attempts"]
        text = Text(f"FAILING since {since}", style="bold red")
        text.append(
            f" ({attempts} attempt{'s' if attempts != 1 else ''}, next {retry}): "
            f"{failing['last_error'] or 'no error recorded'}",
            style="red",
        )
        return text
    gave_up = target.get("gave_up")
    if gave_up:
        since = local_time(gave_up["since"], timezone, now)
        text = Text(f"GAVE UP on a message queued {since}", style="bold red")
        text.append(
            f": {gave_up['last_error'] or 'no error recorded'}; nothing delivered since "
            "(signalbox notifications retry --target NAME)",
            style="red",
        )
        return text
    if not target["configured"]:
        return Text("no longer configured", style="yellow")
    return Text("ok")


def notifications_view(answer: dict[str, Any], now: datetime) -> Group:
    """The targets' table, then the deliveries' table (newest first)."""
    timezone = answer.get("timezone") or "UTC"
    targets = Table(box=None, header_style="bold", title_justify="left")
    for column in ("TARGET", "ENVIRONMENTS", "OPEN", "GIVEN UP", "LAST DELIVERED", "STATUS"):
        targets.add_column(column)
    for target in answer["targets"]:
        environments = target["environments"]
        targets.add_row(
            target["name"],
            "all" if environments is None else ", ".join(environments),
            str(target["open"]),
            str(target["given_up"]),
            local_time(target["last_delivered_at"], timezone, now),
            _target_status(target, timezone, now),
        )
    deliveries = Table(box=None, header_style="bold")
    for column in ("ID", "EVENT", "QUEUED", "ENV", "KIND", "TARGET", "STATE", "TRIES", "ERROR"):
        deliveries.add_column(column)
    for delivery in answer["deliveries"]:
        state = delivery["state"]
        deliveries.add_row(
            str(delivery["id"]),
            str(delivery["event_id"]),
            local_time(delivery["queued_at"], delivery["timezone"], now),
            delivery["environment"] or "",
            delivery["kind"],
            delivery["target"],
            Text(state, style="red" if state in ("failed", "given-up") else ""),
            str(delivery["attempts"]),
            delivery["last_error"] or "",
        )
    parts: list[Any] = []
    parts.append(targets if answer["targets"] else Text("No notification targets to show."))
    parts.append(Text(""))
    parts.append(deliveries if answer["deliveries"] else Text("No messages to show."))
    if answer.get("next_before"):
        parts.append(Text(f"\nOlder ones: add --before {answer['next_before']}."))
    return Group(*parts)


@notifications_app.callback(invoke_without_command=True)
def notifications(
    context: typer.Context,
    failed: bool = typer.Option(
        False, "--failed", help="Only failing targets and failed or given-up messages."
    ),
    target: str | None = typer.Option(None, "--target", "-t", help="Only this target."),
    limit: int = typer.Option(50, "--limit", "-n", help="How many messages, newest first."),
    before: int | None = typer.Option(
        None, "--before", help="Only messages older than this delivery id (the next page)."
    ),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    if context.invoked_subcommand is not None:
        return
    answer = ApiClient.from_options(url, token).get(
        "/api/notifications",
        failed="true" if failed else None,
        target=target,
        limit=limit,
        before=before,
    )
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    console_for(soft_wrap=True).print(notifications_view(answer, datetime.now(UTC)))


@notifications_app.command("retry", help=RETRY_HELP)
def retry(
    delivery_id: int | None = typer.Argument(
        None,
        metavar="ID",
        help="The delivery's id (the ID column of `signalbox notifications`).",
        show_default=False,
    ),
    target: str | None = typer.Option(
        None, "--target", "-t", help="Every failed and given-up message of this target."
    ),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    if (delivery_id is None) == (target is None):
        raise UsageError(
            "Name either a delivery id or --target NAME.",
            hint="e.g. signalbox notifications retry 42, or --target dev-channel.",
        )
    client = ApiClient.from_options(url, token)
    if target is not None:
        answer = client.post(f"/api/notifications/targets/{target}/retry")
        count = answer["requeued"]
        text = (
            f"Queued {count} failed message{'s' if count != 1 else ''} of {target} again."
            if count
            else f"{target} has no failed or given-up message to send again."
        )
    else:
        answer = client.post(f"/api/notifications/{delivery_id}/retry")
        delivery = answer["delivery"]
        text = (
            f"Queued delivery {delivery['id']} (event {delivery['event_id']}, "
            f"{delivery['kind']}) to {delivery['target']} again."
        )
    typer.echo(json.dumps(answer, indent=2) if as_json else text)

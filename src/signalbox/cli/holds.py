"""`signalbox hold|renew|release|force-release ENV`: claim an environment and let it go.

A refused hold exits 75 with one line naming the holder, the reason, since and until (in
the environment's time zone): the server's ``held`` answer, printed by ``cli.main``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import typer

from signalbox.cli.client import JSON_OPTION, TOKEN_OPTION, URL_OPTION, ApiClient
from signalbox.cli.consoles import console_for
from signalbox.core.times import format_local


def _until(hold: dict[str, Any]) -> str:
    until = datetime.fromisoformat(hold["until"])
    return format_local(until, hold["timezone"], now=datetime.now(UTC))


def _print(answer: dict[str, Any], as_json: bool, text: str) -> None:
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
    else:
        console_for(soft_wrap=True).print(text, markup=False)


def hold(
    env: str = typer.Argument(..., help="The environment, e.g. dev."),
    reason: str = typer.Option(
        ..., "--reason", "-r", help="Why; everyone who is refused reads it."
    ),
    duration: str = typer.Option(
        "4h", "--for", help="The lease: 30m, 4h, 1h30m. Renew to keep it longer."
    ),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Hold ENV so that nobody else (people, CI, Terraform) changes it; renews your own hold.

    Exits 75 when someone else holds it, naming them, their reason, since and until.
    """
    answer = ApiClient.from_options(url, token).post(
        f"/api/environments/{env}/hold", {"reason": reason, "duration": duration}
    )
    held = answer["hold"]
    verb = "Renewed your hold on" if answer["renewed"] else "You hold"
    _print(
        answer,
        as_json,
        f"{verb} {env} until {_until(held)} (fencing token "
        f"{held['fencing_token']}). Release it with: signalbox release {env}",
    )


def renew(
    env: str = typer.Argument(..., help="The environment you hold."),
    duration: str | None = typer.Option(
        None, "--for", help="New lease from now (default: the one you took).", show_default=False
    ),
    fencing_token: int | None = typer.Option(
        None, "--fencing-token", help="Refuse if your hold was lost and granted again since."
    ),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Extend your hold on ENV from now; exits 75 if you no longer hold it."""
    body: dict[str, Any] = {"duration": duration, "fencing_token": fencing_token}
    answer = ApiClient.from_options(url, token).post(f"/api/environments/{env}/hold/renew", body)
    _print(answer, as_json, f"You hold {env} until {_until(answer['hold'])}.")


def release(
    env: str = typer.Argument(..., help="The environment you hold."),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Release your hold on ENV; exits 75 if you do not hold it."""
    answer = ApiClient.from_options(url, token).delete(f"/api/environments/{env}/hold")
    _print(answer, as_json, f"Released {env}; it is free.")


def force_release(
    env: str = typer.Argument(..., help="The environment to free."),
    reason: str = typer.Option(..., "--reason", "-r", help="Why; the holder reads it."),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """End someone else's hold on ENV (admin), with a reason written to the event log."""
    answer = ApiClient.from_options(url, token).post(
        f"/api/environments/{env}/hold/force-release", {"reason": reason}
    )
    owner = answer["released"]["owner"]
    _print(answer, as_json, f"Released {owner}'s hold on {env}.")

"""`signalbox tf-config` and `signalbox state ...`: use signalbox as Terraform's state backend.

signalbox tf-config dev network          the backend "http" block and TF_HTTP_* variables
signalbox state versions dev [network]   every kept version: serial, who, when, deploy
signalbox state show dev network         resources added and removed by a version
signalbox state restore dev network --serial 41   old content as a new version (admin)
signalbox state new-key 2026-11          a key for the state_keys setting
signalbox state rotate-key               re-encrypt stored states under the first key
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from signalbox.cli.client import DEFAULT_URL, JSON_OPTION, TOKEN_OPTION, URL_OPTION, ApiClient
from signalbox.core.times import format_local

__all__ = ["backend_block", "state_app", "tf_config"]

state_app = typer.Typer(
    help="Terraform states kept by signalbox: versions, changes, restore, keys.",
    no_args_is_help=True,
)


TOKEN_PLACEHOLDER = "<your signalbox token>"


def backend_block(base_url: str, environment: str, state: str) -> str:
    address = f"{base_url.rstrip('/')}/tf/{environment}/{state}"
    return "\n".join(
        (
            "terraform {",
            '  backend "http" {',
            f'    address        = "{address}"',
            f'    lock_address   = "{address}"',
            f'    unlock_address = "{address}"',
            '    lock_method    = "LOCK"',
            '    unlock_method  = "UNLOCK"',
            "  }",
            "}",
        )
    )


def tf_config(
    environment: str = typer.Argument(..., help="The environment, e.g. dev."),
    state: str = typer.Argument(..., help="The state's name within it, e.g. network."),
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
    show_token: bool = typer.Option(
        False, "--show-token", help="Print your token in TF_HTTP_PASSWORD instead of a placeholder."
    ),
) -> None:
    """Print the Terraform backend block for ENVIRONMENT/STATE and the TF_HTTP_* variables.

    Put the block in your Terraform code (e.g. backend.tf), export the variables, and run
    `terraform init`. Terraform then reads and writes the state through signalbox, which
    refuses locks and writes while someone else holds the environment. The password is your
    signalbox token (printed only with --show-token).
    """
    base = url or os.environ.get("SIGNALBOX_URL") or DEFAULT_URL
    secret = token or os.environ.get("SIGNALBOX_TOKEN") or ""
    password = secret if show_token and secret else TOKEN_PLACEHOLDER
    typer.echo(backend_block(base, environment, state))
    typer.echo("")
    typer.echo("export TF_HTTP_USERNAME=signalbox")
    typer.echo(f"export TF_HTTP_PASSWORD='{password}'")


def _when(value: str, timezone: str) -> str:
    return format_local(datetime.fromisoformat(value), timezone, now=datetime.now(UTC))


def _author(version: dict[str, Any]) -> str:
    deploy = f" (deploy {version['deploy_id']})" if version.get("deploy_id") else ""
    return f"{version['author']}{deploy}"


def _notes(version: dict[str, Any]) -> str:
    notes = []
    if version["deleted"]:
        notes.append("deleted")
    if version["restored_from"] is not None:
        notes.append(f"restored from {version['restored_from']}")
    if version["pruned"]:
        notes.append("body pruned")
    if version["encrypted"]:
        notes.append("encrypted")
    return ", ".join(notes)


@state_app.command("versions")
def versions(
    environment: str = typer.Argument(..., help="The environment, e.g. dev."),
    state: str | None = typer.Argument(None, help="One state (default: every state of ENV)."),
    limit: int = typer.Option(50, "--limit", help="At most this many versions per state."),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """List the kept versions of ENV's states, newest first: serial, when, who, size."""
    client = ApiClient.from_options(url, token)
    path = f"/api/states/{environment}" + (f"/{state}" if state else "")
    answer = client.get(path, limit=limit)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    if not answer["versions"]:
        typer.echo(f"No Terraform state of {environment} is kept by signalbox yet.")
        return
    typer.echo(f"{'STATE':<16} {'SERIAL':>7}  {'WHEN':<16}  {'WHO':<24} {'BYTES':>10}  NOTES")
    for v in answer["versions"]:
        typer.echo(
            f"{v['state']:<16} {v['serial']:>7}  {_when(v['at'], answer['timezone']):<16}  "
            f"{_author(v):<24} {v['size']:>10}  {_notes(v)}"
        )


@state_app.command("show")
def show(
    environment: str = typer.Argument(..., help="The environment, e.g. dev."),
    state: str = typer.Argument(..., help="The state, e.g. network."),
    serial: int | None = typer.Option(None, "--serial", help="The version (default: newest)."),
    as_json: bool = JSON_OPTION,
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Show the resources a version added and removed, e.g.
    "aws_cognito_user_pool.main removed at 14:44 by ci-dev (deploy 123)"."""
    client = ApiClient.from_options(url, token)
    answer = client.get(f"/api/states/{environment}/{state}/show", serial=serial)
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    version = answer["version"]
    when = _when(version["at"], answer["timezone"])
    typer.echo(
        f"{environment}/{state} serial {version['serial']}, written {when} by "
        f"{_author(version)}{' (' + _notes(version) + ')' if _notes(version) else ''}"
    )
    if answer["note"]:
        typer.echo(answer["note"])
    for address in answer["removed"]:
        typer.echo(f"{address} removed at {when} by {_author(version)}")
    for address in answer["added"]:
        typer.echo(f"{address} added at {when} by {_author(version)}")
    if not (answer["removed"] or answer["added"] or answer["note"]):
        typer.echo("No resources were added or removed.")


@state_app.command("restore")
def restore(
    environment: str = typer.Argument(..., help="The environment, e.g. dev."),
    state: str = typer.Argument(..., help="The state, e.g. network."),
    serial: int = typer.Option(..., "--serial", help="The version whose content comes back."),
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Bring back version --serial's content as a new version (history is never rewritten).

    Needs the admin role and your hold on ENV (`signalbox hold ENV --reason ...`), so nobody
    applies meanwhile. Then run `terraform plan` to see what the restored state means."""
    client = ApiClient.from_options(url, token)
    answer = client.post(f"/api/states/{environment}/{state}/restore", {"serial": serial})
    version = answer["version"]
    typer.echo(
        f"Restored {environment}/{state} to the content of serial {serial}: it is now "
        f"serial {version['serial']}. Run `terraform plan` to see what it means."
    )


@state_app.command("new-key")
def new_key(key_id: str = typer.Argument(..., help="A name for the key, e.g. 2026-11.")) -> None:
    """Print a new random key as ID:BASE64, for the state_keys setting."""
    from signalbox.storage.state_crypto import new_key_text

    typer.echo(new_key_text(key_id))


@state_app.command("rotate-key")
def rotate_key(
    config: Path | None = typer.Option(None, "--config", help="signalbox.toml of the server."),
) -> None:
    """Re-encrypt every stored state body under the first key of state_keys.

    Runs against the server's database (SIGNALBOX_DATABASE_URL, --config, or
    ./signalbox.toml as `signalbox serve` reads it), next to a
    running server. Put the new key first in state_keys, restart the server (new writes use
    it), run this, then remove the old key."""
    from signalbox.cli.serve import settings_from
    from signalbox.services.database import open_engine
    from signalbox.services.tfstate import StateStore, rotate_keys

    settings = settings_from(config)
    engine = open_engine(settings)
    try:
        done = rotate_keys(StateStore.from_settings(engine, settings), now=datetime.now(UTC))
    finally:
        engine.dispose()
    typer.echo(f"Re-encrypted {done} stored state version(s).")

"""`signalbox token create NAME --grant ROLE:ENV ... [--ci]` (prints the token alone), `token
list`, `token revoke NAME`."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from signalbox.cli.client import TOKEN_OPTION, URL_OPTION, ApiClient
from signalbox.cli.consoles import console_for

token_app = typer.Typer(help="API tokens for people and CI (admin).", no_args_is_help=True)


@token_app.command("create")
def create(
    name: str = typer.Argument(..., help="Who the token is for, e.g. platform-eng or ci-dev."),
    grant: list[str] = typer.Option(
        ...,
        "--grant",
        "-g",
        metavar="ROLE:ENV",
        help="ROLE:ENV, repeatable; roles: "
        "viewer, stakeholder, developer, approver, admin; ENV "
        "may be *.",
    ),
    ci: bool = typer.Option(
        False, "--ci", help="A machine identity (a CI pipeline), not a person."
    ),
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Create an API token; the token is printed alone on standard output, once.

    Example: export SIGNALBOX_TOKEN=$(signalbox token create ci-dev --grant developer:dev --ci)
    """
    client = ApiClient.from_options(url, token)
    answer = client.post("/api/tokens", {"name": name, "grants": grant, "ci": ci})
    typer.echo(answer["token"])


@token_app.command("list")
def list_tokens(
    as_json: bool = typer.Option(False, "--json", help="Print the answer as JSON."),
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """List tokens (never their secrets): name, person or CI, grants, last use."""
    answer = ApiClient.from_options(url, token).get("/api/tokens")
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
        return
    table = Table(box=None, header_style="bold")
    for column in ("NAME", "KIND", "GRANTS", "CREATED BY", "LAST USED", "REVOKED"):
        table.add_column(column)
    for info in answer["tokens"]:
        table.add_row(
            info["name"],
            "ci" if info["ci"] else "person",
            " ".join(info["grants"]),
            info["created_by"],
            (info["last_used_at"] or "")[:16],
            (info["revoked_at"] or "")[:16],
        )
    console_for().print(table)


@token_app.command("revoke")
def revoke(
    name: str = typer.Argument(..., help="The token's name."),
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    """Revoke a token: requests with it get 401 from now on (on this server at once; another
    server sharing the database may still accept it for up to 5 s)."""
    ApiClient.from_options(url, token).delete(f"/api/tokens/{name}")
    typer.echo(f"Revoked the token {name}.")

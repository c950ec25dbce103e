"""`signalbox token create NAME --grant ROLE:ENV ... [--ci]`: prints the token alone."""

from __future__ import annotations

import typer

from signalbox.cli.client import TOKEN_OPTION, URL_OPTION, ApiClient
from signalbox.cli.main import app

token_app = typer.Typer(help="API tokens for people and CI (admin).", no_args_is_help=True)
app.add_typer(token_app, name="token")


@token_app.command("create")
def create(
    name: str = typer.Argument(..., help="Who the token is for, e.g. platform-eng or ci-dev."),
    grant: list[str] = typer.Option(
        ...,
        "--grant",
        "-g",
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

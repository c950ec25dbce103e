"""The `signalbox` command. Subcommands live in their own modules and are registered here."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from signalbox import __version__
from signalbox.cli.exit_codes import exit_code_for, one_line
from signalbox.core.errors import SignalboxError

app = typer.Typer(
    name="signalbox",
    help="Interlocking for shared Terraform environments: plan analysis, holds, "
    "reservations, one deploy at a time.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"signalbox {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """signalbox: know what a plan destroys; one change at a time per environment."""


def _register() -> None:
    """Import the command modules; each adds its commands to ``app``."""
    from signalbox.cli import commands  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    _register()
    try:
        # without standalone mode, click returns a command's typer.Exit code instead of raising
        returned = app(args=argv, standalone_mode=False)
    except SignalboxError as error:
        Console(stderr=True, highlight=False, soft_wrap=True).print(one_line(error), markup=False)
        sys.exit(int(exit_code_for(error)))
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        sys.exit(130)
    except Exception as click_error:  # click's usage errors when standalone_mode is off
        import click

        # typer >= 0.20 vendors click as typer._click: its usage errors are not click's
        if isinstance(click_error, click.ClickException) or (
            isinstance(click_error, typer.TyperException) and hasattr(click_error, "show")
        ):
            click_error.show()
            sys.exit(click_error.exit_code)
        raise
    sys.exit(returned if isinstance(returned, int) else 0)

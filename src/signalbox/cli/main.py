"""The `signalbox` command: every subcommand is registered here, in ``COMMANDS``.

The command modules only define functions (and sub-Typers for groups such as ``db``,
``state``, ``token`` and ``notifications``); none of them imports this module, so
``COMMANDS`` is the one place to read which commands exist, under which names, in the order
``signalbox --help`` lists them (Typer lists single commands first, then the groups).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import typer

from signalbox import __version__
from signalbox.cli import (
    check,
    demo,
    deploys,
    gate,
    holds,
    incidents,
    notifications,
    postmortem,
    preflight,
    reservations,
    serve,
    state,
    status,
    tokens,
    watch,
)
from signalbox.cli.consoles import console_for
from signalbox.cli.exit_codes import exit_code_for, one_line
from signalbox.cli.help import HelpfulCommand, HelpfulGroup, use_helpful_help
from signalbox.core.errors import SignalboxError

__all__ = ["COMMANDS", "Command", "Group", "app", "build_app", "main"]


@dataclass(frozen=True, slots=True)
class Command:
    """One subcommand: its name, the function that runs it, and its help (None: the
    function's docstring)."""

    name: str
    function: Callable[..., Any]
    help: str | None = None
    no_args_is_help: bool = False


@dataclass(frozen=True, slots=True)
class Group:
    """A group of subcommands (``signalbox state versions``), defined as a sub-Typer."""

    name: str
    commands: typer.Typer


COMMANDS: tuple[Command | Group, ...] = (
    Command("check", check.check, help=check.HELP, no_args_is_help=True),
    Command("approve", deploys.approve, help=deploys.APPROVE_HELP),
    Command("deny", deploys.deny, help=deploys.DENY_HELP),
    Command("deploys", deploys.deploys, help=deploys.DEPLOYS_HELP),
    Command("gate", gate.gate, help=gate.GATE_HELP, no_args_is_help=True),
    Command("preflight", preflight.preflight, help=preflight.PREFLIGHT_HELP, no_args_is_help=True),
    Command("hold", holds.hold),
    Command("renew", holds.renew),
    Command("release", holds.release),
    Command("force-release", holds.force_release),
    Group("incident", incidents.incident_app),
    Command("incidents", incidents.incidents, help=incidents.INCIDENTS_HELP),
    Command("postmortem", postmortem.postmortem, help=postmortem.POSTMORTEM_HELP),
    Group("action", postmortem.action_app),
    Command("actions", postmortem.actions, help=postmortem.ACTIONS_HELP),
    Command("reserve", reservations.reserve, help=reservations.RESERVE_HELP),
    Command("reservations", reservations.reservations, help=reservations.RESERVATIONS_HELP),
    Command("cancel-reservation", reservations.cancel_reservation),
    Command("serve", serve.serve),
    Group("db", serve.db_app),
    Group("state", state.state_app),
    Command("tf-config", state.tf_config),
    Command("status", status.status),
    Command("events", status.events),
    Command("watch", watch.watch, help=watch.WATCH_HELP),
    Group("notifications", notifications.notifications_app),
    Group("notify", notifications.notify_app),
    Command("demo", demo.demo),
    Group("token", tokens.token_app),
)
"""Every subcommand of `signalbox`."""


def _version(value: bool) -> None:
    if value:
        typer.echo(f"signalbox {__version__}")
        raise typer.Exit()


def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """signalbox: know what a plan destroys; one change at a time per environment."""


def build_app(commands: tuple[Command | Group, ...] = COMMANDS) -> typer.Typer:
    """The `signalbox` Typer app with ``commands`` registered."""
    built = typer.Typer(
        cls=HelpfulGroup,
        name="signalbox",
        help="Interlocking for shared Terraform environments: plan analysis, holds, "
        "reservations, one deploy at a time.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    built.callback()(root)
    for entry in commands:
        if isinstance(entry, Group):
            use_helpful_help(entry.commands)
            built.add_typer(entry.commands, name=entry.name, cls=HelpfulGroup)
        else:
            built.command(
                entry.name,
                cls=HelpfulCommand,
                help=entry.help,
                no_args_is_help=entry.no_args_is_help,
            )(entry.function)
    return built


app = build_app()


def main(argv: list[str] | None = None) -> None:
    try:
        # without standalone mode, click returns a command's typer.Exit code instead of raising
        returned = app(args=argv, standalone_mode=False)
    except SignalboxError as error:
        console_for(sys.stderr, soft_wrap=True).print(one_line(error), markup=False)
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

"""`signalbox ... --help` as a newcomer reads it: every command's rendered help (Typer's Rich
mode, 100 columns) names the environment variables its options read, shows every word of
its help texts, names values instead of types, and has plain usage lines."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from signalbox.cli.main import app

TYPE_NAMES = re.compile(r"<(?:bool|str|int|float|Path|datetime|list\[[^\]]*\])>")


def _walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    yield path, command
    if hasattr(command, "list_commands"):
        ctx = command.context_class(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _walk(sub, [*path, name])


COMMANDS = list(_walk(typer.main.get_command(app), []))


def rendered_help(*path: str) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    return result.output


def _ids(entry: tuple[list[str], Any]) -> str:
    return " ".join(entry[0]) or "signalbox"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[_ids(c) for c in COMMANDS])
def test_every_help_names_its_variables_and_keeps_every_word(path: list[str], command) -> None:
    shown = rendered_help(*path)
    words = set(shown.replace("│", " ").split())
    lost = [word for word in (command.help or "").split() if word not in words | {"\b"}]
    assert not lost, f"the help lost {lost} (read as markup?)"
    for param in command.params:
        envvars = param.envvar if isinstance(param.envvar, list | tuple) else [param.envvar]
        for envvar in filter(None, envvars):
            assert envvar in shown, f"{envvar} is not in `signalbox {' '.join(path)} --help`"
        lost = [word for word in (getattr(param, "help", None) or "").split() if word not in words]
        assert not lost, f"{param.name}'s help lost {lost} (read as markup?)"
    assert not TYPE_NAMES.findall(shown), TYPE_NAMES.findall(shown)
    assert "{" not in shown


def test_the_server_url_and_token_variables_are_learned_from_help_alone() -> None:
    shown = rendered_help("hold")
    assert "[env var: SIGNALBOX_URL]" in shown and "[env var: SIGNALBOX_TOKEN]" in shown
    assert "signalbox token create" in shown  # where a token comes from


def test_texts_with_brackets_are_shown_as_written() -> None:
    assert "[[notify]]" in rendered_help("notify", "test")
    assert "[env: SIGNALBOX_CONFIG" in rendered_help("serve")


@pytest.mark.parametrize(
    ("path", "usage"),
    [
        (["gate"], "Usage: signalbox gate [OPTIONS] --env ENV -- COMMAND..."),
        (["hold"], "Usage: signalbox hold [OPTIONS] --reason REASON ENV"),
        (["check"], "Usage: signalbox check [OPTIONS] PLAN..."),
        (["watch"], "Usage: signalbox watch [OPTIONS] [ENV]"),
        (["token", "create"], "Usage: signalbox token create [OPTIONS] --grant ROLE:ENV NAME"),
    ],
)
def test_usage_lines_read_as_they_are_typed(path: list[str], usage: str) -> None:
    lines = [line.strip() for line in rendered_help(*path).splitlines()]
    assert usage in lines


def test_options_show_the_value_they_take_and_flags_none() -> None:
    lines = rendered_help("hold").splitlines()
    (duration,) = [line for line in lines if "--for" in line]
    assert re.search(r"--for\s+DURATION\s+The lease", duration)
    (as_json,) = [line for line in lines if "--json" in line]
    assert re.search(r"--json\s+Print the answer as JSON", as_json)

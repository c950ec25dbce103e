"""Every command is registered in one list (``cli.main.COMMANDS``), never by importing a
module for its side effects: no command module imports ``cli.main``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from signalbox.cli.main import COMMANDS, Group, app, main

CLI = Path(__file__).resolve().parents[2] / "src" / "signalbox" / "cli"
RUNS_THE_CLI = {"main.py", "run_example.py"}  # run_example drives `signalbox` as a script


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize(
    "module", sorted(p.name for p in CLI.glob("*.py") if p.name not in RUNS_THE_CLI)
)
def test_no_command_module_imports_main(module):
    assert "signalbox.cli.main" not in imported_modules(CLI / module)


def test_every_command_is_in_the_list_once_and_the_app_has_exactly_those():
    names = [entry.name for entry in COMMANDS]
    assert len(names) == len(set(names))
    registered = [command.name for command in app.registered_commands]
    groups = [group.name for group in app.registered_groups]
    assert registered == [entry.name for entry in COMMANDS if not isinstance(entry, Group)]
    assert groups == [entry.name for entry in COMMANDS if isinstance(entry, Group)]


def test_version_is_printed(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("signalbox ")

"""Print docs/cli.md: the reference of every `signalbox` command, generated from the CLI itself.

`make docs` writes it; tests/test_docs.py fails when the committed file drifts from this output.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import typer.main

from signalbox.cli.main import app

HEADER = """# Command reference

Generated from the commands' own help by `make docs` (tools/gen_cli_docs.py); a test fails
when this file and the code disagree. Exit codes are listed in README.md ("Exit codes").
"""


def _walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    """Every command below ``command`` (typer vendors its own click: duck-typed)."""
    yield path, command
    if hasattr(command, "list_commands"):
        ctx = command.context_class(command)
        for name in sorted(command.list_commands(ctx)):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _walk(sub, [*path, name])


def _param_row(param: Any) -> str:
    is_argument = param.param_type_name == "argument"
    if is_argument:
        names = f"`{param.metavar or param.name.upper()}`"
        help_text = getattr(param, "help", None) or ""
    else:
        flags = [*param.opts, *param.secondary_opts]
        names = ", ".join(f"`{flag}`" for flag in flags)
        help_text = getattr(param, "help", None) or ""
        if param.envvar:
            envvars = param.envvar if isinstance(param.envvar, list | tuple) else [param.envvar]
            help_text += " (env: " + ", ".join(f"`{e}`" for e in envvars) + ")"
    default = ""
    if not is_argument and getattr(param, "show_default", None) is not False:
        value = param.default
        if value not in (None, False, (), []) and not callable(value):
            default = f"`{value}`"
    required = "yes" if param.required else ""
    clean = " ".join(help_text.replace("|", "\\|").split())
    return f"| {names} | {clean} | {default} | {required} |"


def render() -> str:
    root = typer.main.get_command(app)
    parts = [HEADER]
    for path, command in _walk(root, ["signalbox"]):
        ctx = command.context_class(command, info_name=" ".join(path))
        parts.append(f"\n## {' '.join(path)}\n")
        text = (command.help or command.short_help or "").strip()
        if text:
            parts.append(text.replace("\b\n", "") + "\n")
        parts.append(f"```\n{command.get_usage(ctx)}\n```\n")
        params = [p for p in command.get_params(ctx) if p.name != "help"]
        if params:
            parts.append("| argument / option | meaning | default | required |")
            parts.append("| --- | --- | --- | --- |")
            parts.extend(_param_row(p) for p in params)
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())

"""How `signalbox ... --help` reads: Typer's Rich help, with the words kept as written.

Typer's Rich mode reads help texts as Rich markup, so ``[env: SIGNALBOX_URL]`` or
``[[notify]]`` vanished as if they were style tags; it shows a flag as ``<bool>`` and a text
option as ``<str>``; and its usage line puts a required argument in braces (``{env}``).
``HelpfulCommand`` and ``HelpfulGroup`` fix the three for every command ``cli.main``
registers:

- help texts are escaped for Rich while the help is printed (the texts themselves, read by
  tools/gen_cli_docs.py, stay as written);
- an option without a metavar is shown by its value's name (``--for DURATION``, ``--reason
  REASON``, choices as ``text|markdown|json``), a flag by nothing, an argument in capitals;
- the usage line names the required options and the arguments as they are typed:
  ``signalbox gate [OPTIONS] --env ENV -- COMMAND...``.

Options that read an environment variable declare it (``envvar=``, ``show_envvar=True``),
so the help lists it: ``[env var: SIGNALBOX_URL]``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

__all__ = ["HelpfulCommand", "HelpfulGroup", "use_helpful_help"]


def _value_name(param: Any) -> str:
    """``DURATION`` for ``duration: str = typer.Option(..., "--for")``; choices joined."""
    descriptor = getattr(param, "type_descriptor", None)
    choices = getattr(descriptor, "choices", None) if descriptor is not None else None
    if descriptor is not None and getattr(descriptor, "is_choice", False) and choices:
        return "|".join(str(getattr(choice, "value", choice)) for choice in choices)
    return str(param.name or "value").upper()


def _no_type(ctx: Any) -> None:
    return None


def name_values(params: list[Any]) -> None:
    """Give each parameter without a metavar the name its help shows; an argument's is
    its name, so the type column (``<str>``) says nothing more and is left empty."""
    for param in params:
        if isinstance(param, TyperArgument):
            param.display_type_rich = _no_type  # type: ignore[method-assign]
        if param.metavar is not None:
            continue
        if isinstance(param, TyperOption):
            param.metavar = "" if param.is_flag else _value_name(param)
        elif isinstance(param, TyperArgument):
            param.metavar = _value_name(param)


def _one_line(text: str | None) -> str | None:
    """A help text's paragraphs with their line breaks made spaces (``\b`` ones kept)."""
    if not text:
        return text
    paragraphs = [
        p if p.lstrip().startswith("\b") else " ".join(p.split()) for p in text.split("\n\n")
    ]
    return "\n\n".join(paragraphs)


def _argument_usage(param: Any) -> str:
    name = str(param.metavar)
    if param.nargs != 1 and not name.endswith("..."):
        name += "..."
    return name if param.required else f"[{name}]"


def usage_pieces(command: Any, ctx: Any) -> list[str]:
    """``[OPTIONS] --env ENV -- COMMAND...``: the options, the required ones by name, then the
    arguments in order."""
    params = command.get_params(ctx)
    pieces = [command.options_metavar] if command.options_metavar else []
    for param in params:
        if isinstance(param, TyperOption) and param.required and not param.hidden:
            flag = max(param.opts, key=len)
            pieces.append(f"{flag} {param.metavar}" if param.metavar else flag)
    pieces += [_argument_usage(p) for p in params if isinstance(p, TyperArgument)]
    return pieces


def _markup_safe(text: str | None) -> str | None:
    from rich.markup import escape

    return escape(text) if text else text


@contextlib.contextmanager
def _escaped(command: Any, ctx: Any) -> Iterator[None]:
    """The help texts of ``command``, its parameters and its subcommands escaped for Rich
    markup while the help is printed, then put back as they were."""
    params = command.get_params(ctx)
    name_values(params)  # the --help option is made here, not with the command
    subcommands = list((getattr(command, "commands", None) or {}).values())
    objects: list[Any] = [command, *params, *subcommands]
    saved = [(obj, getattr(obj, "help", None), getattr(obj, "short_help", None)) for obj in objects]
    try:
        for obj, help_text, short_help in saved:
            listed = obj in subcommands  # a line in a table: one paragraph, no breaks
            obj.help = _markup_safe(_one_line(help_text) if listed else help_text)
            if short_help is not None:
                obj.short_help = _markup_safe(short_help)
        yield
    finally:
        for obj, help_text, short_help in saved:
            obj.help = help_text
            if short_help is not None:
                obj.short_help = short_help


class HelpfulCommand(TyperCommand):
    """A Typer command whose help shows every word, value names and a plain usage line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name_values(self.params)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return usage_pieces(self, ctx)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with _escaped(self, ctx):
            super().format_help(ctx, formatter)


class HelpfulGroup(TyperGroup):
    """A Typer group whose help shows every word of its own and its commands' help."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name_values(self.params)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with _escaped(self, ctx):
            super().format_help(ctx, formatter)


def use_helpful_help(commands: typer.Typer) -> None:
    """Make the commands and groups registered on ``commands`` (a sub-Typer such as
    ``token``) use ``HelpfulCommand`` and ``HelpfulGroup``, unless they chose a class."""
    for info in commands.registered_commands:
        if info.cls in (None, TyperCommand):  # Typer fills in its own class when none is given
            info.cls = HelpfulCommand
    for group in commands.registered_groups:
        if not isinstance(group.cls, type) or group.cls is TyperGroup:  # or Typer's placeholder
            group.cls = HelpfulGroup
        if isinstance(group.typer_instance, typer.Typer):
            use_helpful_help(group.typer_instance)

"""The Rich console for a stream: every table, list and report of the CLI is printed
through ``console_for``.

At a terminal the console fits the terminal's width, as Rich measures it. Anywhere else (a
CI log, a pipe, a file) nobody's screen is there to fit: the console is as wide as the
longest line, so no name is cut, ellipsized or wrapped, whatever ``COLUMNS`` says, and
no line ends in the spaces Rich pads table cells with.

    console_for().print(table)                 # standard output
    console_for(sys.stderr).print(line, markup=False)
"""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["UNBOUNDED_WIDTH", "console_for", "is_terminal"]

UNBOUNDED_WIDTH = 100_000
"""The width of a console that is not a terminal: wider than any line we print."""


def is_terminal(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _TrimmedLines:
    """A text stream that drops the spaces at the end of each line written through it."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        if lines:
            self._stream.write("".join(line.rstrip(" ") + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._stream.write(self._pending)
            self._pending = ""
        self._stream.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:  # encoding, fileno: the stream's own
        return getattr(self._stream, name)


def console_for(stream: IO[str] | None = None, **options: Any) -> Console:
    """The console for ``stream`` (standard output when None), highlighting nothing; at a
    terminal as wide as the terminal, elsewhere unbounded, with no trailing spaces.
    ``options`` go to Rich's ``Console``."""
    from rich.console import Console

    target = sys.stdout if stream is None else stream
    options.setdefault("highlight", False)
    if is_terminal(target):
        return Console(file=target, **options)
    options.setdefault("width", UNBOUNDED_WIDTH)
    return Console(file=_TrimmedLines(target), **options)  # type: ignore[arg-type]

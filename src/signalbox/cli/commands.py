"""Every command module, imported for its side effect of adding commands to the app.

Each module defines its commands with ``@app.command()`` on ``signalbox.cli.main.app``
(or adds a sub-app with ``app.add_typer``). Keep this list sorted.
"""

from signalbox.cli import (
    check,  # noqa: F401
    deploys,  # noqa: F401
    gate,  # noqa: F401
    holds,  # noqa: F401
    reservations,  # noqa: F401
    serve,  # noqa: F401
    state,  # noqa: F401
    status,  # noqa: F401
    tokens,  # noqa: F401
)

"""`signalbox serve` and `signalbox db upgrade|current`: the server and its database."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from signalbox.cli.exit_codes import ExitCode

if TYPE_CHECKING:  # settings (and tomllib) load only for the commands that read them
    from sqlalchemy import Engine

    from signalbox.settings import Settings

db_app = typer.Typer(
    help="The server's database: apply migrations, show the revision, back it up, check it.",
    no_args_is_help=True,
)

CONFIG_OPTION = typer.Option(
    None,
    "--config",
    "-c",
    help="signalbox.toml to read [env: SIGNALBOX_CONFIG; default: ./signalbox.toml if present].",
    show_default=False,
)


def settings_from(config: Path | None) -> Settings:
    """Settings from --config, SIGNALBOX_CONFIG, or ./signalbox.toml when it exists."""
    from signalbox.settings import load_settings

    default = Path("signalbox.toml")
    if config is None and not os.environ.get("SIGNALBOX_CONFIG") and default.is_file():
        config = default
    return load_settings(config)


def serve(
    config: Path | None = CONFIG_OPTION,
    host: str | None = typer.Option(
        None,
        "--host",
        help="Listen address [default: setting host, 127.0.0.1].",
        show_default=False,
    ),
    port: int | None = typer.Option(
        None, "--port", help="Listen port [default: setting port, 8787].", show_default=False
    ),
    access_log: bool = typer.Option(False, "--access-log", help="Log every request."),
) -> None:
    """Run the coordination server: holds, tokens, events (and the API for CI).

    Applies database migrations and syncs the configured environments at start.
    SIGNALBOX_DATABASE_URL overrides the database; SIGNALBOX_ADMIN_TOKEN is the bootstrap
    admin token. A port already in use stops it (exit 2), naming the process that holds the
    port. A request line and headers above 64 KiB get 431. It lifts its limit on open
    files to the hard limit and takes connections up to 256 below it; past that a new
    request gets 503 at once.
    """
    import dataclasses

    import uvicorn

    from signalbox.api.app import create_app
    from signalbox.api.header_limit import HeadLimitedHttpTools
    from signalbox.cli.listen import bind_listener
    from signalbox.cli.open_files import connection_cap

    settings = settings_from(config)
    settings = dataclasses.replace(
        settings, host=host or settings.host, port=port if port is not None else settings.port
    )
    listener = bind_listener(settings.host, settings.port)  # a taken port stops here, told
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    names = ", ".join(settings.environments) or "none (add [environments.NAME])"
    targets = [target.name for target in settings.notify]  # names only: URLs hold secrets
    told = (
        f"{len(targets)} notification target{'s' if len(targets) != 1 else ''} "
        f"({', '.join(targets)})"
        if targets
        else "no notification targets"
    )
    console.print(
        f"signalbox serving on http://{settings.host}:{settings.port} "
        f"(environments: {names}; database: {_safe_url(settings.database_url)}; {told})",
        markup=False,
    )
    if not settings.admin_token:
        console.print(
            "No SIGNALBOX_ADMIN_TOKEN: only tokens already created can sign in.", markup=False
        )
    _, cap = connection_cap()  # past it a new connection gets 503, not a hang
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            http=HeadLimitedHttpTools,  # a request head above 64 KiB gets 431
            limit_concurrency=cap,
            access_log=access_log,
            log_level="info" if access_log else "warning",
            timeout_graceful_shutdown=_SHUTDOWN_GRACE_SECONDS,
        )
    )
    with listener:
        server.run(sockets=[listener])
    if not server.started:  # the start-up failed (uvicorn has logged why)
        raise typer.Exit(int(ExitCode.FAILURE))


_SHUTDOWN_GRACE_SECONDS = 3
"""How long Ctrl-C waits for open requests: parked long-polls would otherwise hold the server
up to 25 s, and a waiting gate asks again (of this server once it is back, or another one)."""


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unreadable URL)"


@contextlib.contextmanager
def _database(config: Path | None) -> Iterator[tuple[Settings, Engine]]:
    """The settings and an engine on their database, disposed of at the end."""
    from signalbox.services.database import open_engine

    settings = settings_from(config)
    engine = open_engine(settings)
    try:
        yield settings, engine
    finally:
        engine.dispose()


@db_app.command("upgrade")
def db_upgrade(config: Path | None = CONFIG_OPTION) -> None:
    """Apply every migration the database lacks (the server also does this at start)."""
    from signalbox.services.database import upgrade

    with _database(config) as (settings, engine):
        revision = upgrade(engine)
    typer.echo(f"Database {_safe_url(settings.database_url)} is at revision {revision} (head).")


@db_app.command("current")
def db_current(config: Path | None = CONFIG_OPTION) -> None:
    """Show the database's migration revision and whether it is the newest."""
    from signalbox.services.database import current_revision, head_revision

    with _database(config) as (_settings, engine):
        revision = current_revision(engine)
    head = head_revision()
    state = "up to date" if revision == head else f"behind head {head}: run signalbox db upgrade"
    typer.echo(f"{revision or '(empty)'} ({state})")


@db_app.command("backup")
def db_backup(
    path: Path = typer.Argument(..., help="The new file to write the copy to."),
    config: Path | None = CONFIG_OPTION,
) -> None:
    """Copy the SQLite database to PATH, consistently, while the server runs.

    Restore: stop the server, copy the backup over the database file, remove the -wal and
    -shm files beside it, start the server (docs/server.md). PostgreSQL: use pg_dump.
    """
    from signalbox.services.database_care import back_up

    with _database(config) as (settings, engine):
        backup = back_up(engine, path)
    typer.echo(
        f"Backed up {_safe_url(settings.database_url)} to {backup.path} "
        f"({backup.size / 1_048_576:.1f} MiB, revision {backup.revision})."
    )


@db_app.command("check")
def db_check(config: Path | None = CONFIG_OPTION) -> None:
    """Check the database: SQLite integrity and foreign keys, migrations, state bodies.

    Exit 0 when every check passes, 1 when one finds a problem (each is listed).
    """
    from signalbox.services.database_care import check

    with _database(config) as (settings, engine):
        checked = check(engine)
    typer.echo(f"Database {_safe_url(settings.database_url)}:")
    for line in checked.passed:
        typer.echo(f"  ok       {line}")
    for line in checked.problems:
        typer.echo(f"  PROBLEM  {line}")
    if checked.problems:
        raise typer.Exit(int(ExitCode.FAILURE))

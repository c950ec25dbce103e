"""The FastAPI application, built by ``create_app(settings)``; nothing is built at import.

Start-up (lifespan): apply migrations, sync the configured environments, register the
bootstrap admin token, then sweep lapsed holds every ``sweep_seconds`` (writing
``hold.lapsed`` events) until shutdown.

Extension points for later parts: append a router to ``ROUTERS``; give a route prefix a
larger body limit in ``LARGE_BODY_ROUTES`` (path prefix -> the Settings field holding it,
or None for routes that enforce their own limit while streaming).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

import anyio
from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine

from signalbox import __version__
from signalbox.api.body_limit import BodySizeLimit
from signalbox.api.context import Server
from signalbox.api.problems import install_problem_handlers
from signalbox.api.routes import (
    deploys,
    events,
    health,
    holds,
    reservations,
    states,
    tfstate,
    tokens,
)
from signalbox.services.clock import Clock, SystemClock
from signalbox.services.environments import sync_environments
from signalbox.services.holds import expire_lapsed
from signalbox.services.tfstate.store import state_storage_notice
from signalbox.services.tokens import register_bootstrap_token
from signalbox.settings import Settings
from signalbox.storage import build_engine, upgrade

__all__ = ["LARGE_BODY_ROUTES", "ROUTERS", "create_app"]

log = logging.getLogger("signalbox.server")

ROUTERS: list[APIRouter] = [health.router, holds.router, tokens.router, events.router]
ROUTERS += [deploys.router, reservations.router]
ROUTERS += [tfstate.router, states.router]

LARGE_BODY_ROUTES: dict[str, str | None] = {}
LARGE_BODY_ROUTES["/api/deploys"] = "max_plan_bytes"  # the plan, base64, in the request
LARGE_BODY_ROUTES["/tf/"] = None  # states: max_state_bytes, enforced while streaming
LARGE_BODY_ROUTES["/api/noop-upload"] = None  # the state benchmark's floor
"""Path prefix -> name of the Settings field with its body limit (None: no limit here)."""

DEFAULT_SWEEP_SECONDS = 5.0


def _body_limit(settings: Settings) -> Callable[[str], int | None]:
    def limit_for(path: str) -> int | None:
        for prefix, field_name in LARGE_BODY_ROUTES.items():
            if path.startswith(prefix):
                return None if field_name is None else int(getattr(settings, field_name))
        return settings.max_body_bytes

    return limit_for


def start_up(context: Server) -> None:
    """Migrate, sync environments, register the bootstrap token (also used by the CLI)."""
    upgrade(context.engine)
    log.log(*state_storage_notice(context.settings))
    now = context.now()
    sync_environments(context.engine, context.settings, now=now)
    register_bootstrap_token(context.engine, context.settings.admin_token, now=now)
    if not context.settings.environments:
        log.warning("No environments are configured: add [environments.NAME] tables.")


async def _sweep_lapsed(context: Server, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await anyio.to_thread.run_sync(lambda: expire_lapsed(context.engine, now=context.now()))
        except Exception:  # the sweeper must survive a database hiccup
            log.exception("sweeping lapsed holds failed; will retry")


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    sweep_seconds: float | None = DEFAULT_SWEEP_SECONDS,
) -> FastAPI:
    """The server for ``settings``. ``sweep_seconds=None`` turns the lapse sweeper off (tests
    with a fake clock call ``expire_lapsed`` themselves)."""
    context = Server(
        settings=settings,
        engine=engine or build_engine(settings.database_url),
        clock=clock or SystemClock(),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(start_up, context)
        sweeper = (
            asyncio.create_task(_sweep_lapsed(context, sweep_seconds)) if sweep_seconds else None
        )
        try:
            yield
        finally:
            if sweeper is not None:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            if engine is None:
                context.engine.dispose()

    app = FastAPI(
        title="signalbox",
        version=__version__,
        lifespan=lifespan,
        description="Interlocking for shared Terraform environments.",
    )
    app.state.server = context
    install_problem_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(BodySizeLimit, limit_for=_body_limit(settings))
    return app

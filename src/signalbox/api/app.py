"""The FastAPI application, built by ``create_app(settings)``; nothing is built at import.

Everything app-wide is built in ``create_app`` and held on the app's ``Server``
(``api.context``): the engine, the clock, the Terraform ``StateStore``, and the long-poll's
change feed, decision batches and caches. One lifespan runs the start-up
(``services.database.start_up``: migrate, sync the configured environments, register the
bootstrap admin token), then starts the ``background_loops`` in order and stops them in
reverse order at shutdown.

``ROUTERS`` lists every router with the setting that turns it on (None: always on). A route
prefix with a larger body limit goes in ``LARGE_BODY_ROUTES`` (path prefix -> the Settings
field holding it, or None for routes that enforce their own limit while streaming).
``RequestMetrics``, the outermost middleware, counts every request by route template and
status for ``GET /metrics`` (``api.metrics``); ``ParkedPolls``, the innermost of ours, parks
the waiting gates' re-polls before the framework (``api.parked_polls``).
``/docs`` and ``/redoc`` load their assets from the server itself, under ``DOCS_ASSETS``
(``fastapi-offline``): they work with no network.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine

from signalbox import __version__
from signalbox.api.body_limit import BodySizeLimit
from signalbox.api.context import Server
from signalbox.api.longpoll import Batches, build_feed
from signalbox.api.metrics import DatabaseCollector, RequestMetrics, ServerMetrics
from signalbox.api.models.environments import PictureJson
from signalbox.api.parked_polls import ParkedPolls
from signalbox.api.problems import install_problem_handlers
from signalbox.api.routes import (
    bench,
    deploys,
    environments,
    event_stream,
    events,
    health,
    holds,
    incidents,
    metrics,
    notifications,
    postmortems,
    preflight,
    reservations,
    states,
    tfstate,
    tokens,
)
from signalbox.services.clock import Clock, SystemClock, attach_clock
from signalbox.services.database import open_engine, start_up
from signalbox.services.holds import expire_lapsed
from signalbox.services.housekeeping import housekeeping_loop
from signalbox.services.notify.targets import build_targets
from signalbox.services.notify.worker import Notifier
from signalbox.services.status import PictureCache
from signalbox.services.tfstate import StateStore
from signalbox.settings import Settings
from signalbox.web.errors import is_page, page_error
from signalbox.web.mount import install_pages

__all__ = [
    "DOCS_ASSETS",
    "LARGE_BODY_ROUTES",
    "ROUTERS",
    "BackgroundLoop",
    "background_loops",
    "create_app",
]

log = logging.getLogger("signalbox.server")

ROUTERS: list[tuple[APIRouter, str | None]] = [
    (health.router, None),
    (holds.router, None),
    (incidents.router, None),
    (postmortems.router, None),
    (tokens.router, None),
    (events.router, None),
    (event_stream.router, None),
    (notifications.router, None),
    (environments.router, None),
    (deploys.router, None),
    (preflight.router, None),
    (reservations.router, None),
    (tfstate.router, None),
    (states.router, None),
    (metrics.router, None),
    (bench.router, "bench_endpoints"),
]
"""Every router, with the name of the boolean setting that turns it on (None: always on)."""

LARGE_BODY_ROUTES: dict[str, str | None] = {}
LARGE_BODY_ROUTES["/api/deploys"] = "max_plan_bytes"  # the plan, base64, in the request
LARGE_BODY_ROUTES["/api/preflight"] = "max_plan_bytes"  # the same plan, judged unstored
LARGE_BODY_ROUTES["/tf/"] = None  # states: max_state_bytes, enforced while streaming
LARGE_BODY_ROUTES["/api/noop-upload"] = None  # the state upload's floor (bench_endpoints)
"""Path prefix -> name of the Settings field with its body limit (None: no limit here)."""

DOCS_ASSETS = "/docs/static"
"""Where the Swagger UI and ReDoc scripts, styles and icon are served (no token needed)."""

DEFAULT_SWEEP_SECONDS = 5.0


@dataclass(frozen=True)
class BackgroundLoop:
    """Work the server does by itself from start-up to shutdown."""

    name: str
    start: Callable[[], None]
    """Called on the event loop once start-up is done."""
    stop: Callable[[], Awaitable[None]]
    """Awaited at shutdown; returns when the loop has ended."""


def _task_loop(name: str, run: Callable[[], Coroutine[Any, Any, None]]) -> BackgroundLoop:
    """A loop that is one asyncio task running ``run()``, cancelled at shutdown."""
    tasks: list[asyncio.Task[None]] = []

    def start() -> None:
        tasks.append(asyncio.get_running_loop().create_task(run(), name=name))

    async def stop() -> None:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        tasks.clear()

    return BackgroundLoop(name, start, stop)


async def _sweep_lapsed(context: Server, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await anyio.to_thread.run_sync(lambda: expire_lapsed(context.engine, now=context.now()))
        except Exception:  # the sweeper must survive a database hiccup
            log.exception("sweeping lapsed holds failed; will retry")


def background_loops(context: Server, *, sweep_seconds: float | None) -> list[BackgroundLoop]:
    """Every background loop of the server, in the order they start:

    - the change feed: reads every environment's version each tick (waking the long-polls of
      changes made by other servers), expires lapsed deploys, keeps waiting gates alive;
    - the lapsed-hold sweeper: every ``sweep_seconds``, ends holds whose lease lapsed (with
      a ``hold.lapsed`` event); None turns it off (tests with a fake clock sweep themselves);
    - the housekeeping (with the sweeper): every ``HOUSEKEEPING_EVERY`` s, drops crashed
      uploads' segments and gives the space back (``services.housekeeping``; start-up does
      one round too);
    - the notifier, when a ``[[notify]]`` target is configured: delivers the outbox, woken
      by the change feed (``services.notify.worker``).
    """
    loops = [BackgroundLoop("change feed", context.feed.ensure_started, context.feed.stop)]
    if sweep_seconds:
        sweep = sweep_seconds
        loops.append(_task_loop("lapsed-hold sweeper", lambda: _sweep_lapsed(context, sweep)))
        tidy = lambda: housekeeping_loop(context.engine, context.now)  # noqa: E731
        loops.append(_task_loop("housekeeping", tidy))
    notifier = context.notifier
    if notifier is not None:
        context.feed.listen(notifier.poke)
        loops.append(BackgroundLoop("notifier", notifier.start, notifier.stop))
    return loops


def _lifespan(
    context: Server, loops: list[BackgroundLoop], *, own_engine: bool
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as running:
            if own_engine:
                running.callback(context.engine.dispose)
            await anyio.to_thread.run_sync(lambda: start_up(context.state_store, now=context.now()))
            for loop in loops:
                loop.start()
                running.push_async_callback(loop.stop)
            yield

    return lifespan


def _body_limit(settings: Settings) -> Callable[[str], int | None]:
    def limit_for(path: str) -> int | None:
        for prefix, field_name in LARGE_BODY_ROUTES.items():
            if path.startswith(prefix):
                return None if field_name is None else int(getattr(settings, field_name))
        return settings.max_body_bytes

    return limit_for


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    sweep_seconds: float | None = DEFAULT_SWEEP_SECONDS,
) -> FastAPI:
    """The server for ``settings``. An ``engine`` passed in is the caller's to dispose of;
    ``sweep_seconds=None`` turns the lapsed-hold sweeper off."""
    clock = clock or SystemClock()
    targets = build_targets(settings)  # a URL Apprise cannot read stops the start
    database = engine or open_engine(settings)
    attach_clock(database, clock.now)  # every write's time is read after its write lock
    notifier = Notifier(database, settings, targets, clock.now) if targets else None
    server_metrics = ServerMetrics.create(
        DatabaseCollector(database, clock.now, settings.environments, notifying=bool(targets))
    )
    context = Server(
        settings=settings,
        engine=database,
        clock=clock,
        state_store=StateStore.from_settings(database, settings),
        feed=build_feed(database, clock),
        batches=Batches(),
        deploy_environments={},
        pictures=PictureCache(),
        picture_json=PictureJson(),
        targets=targets,
        notifier=notifier,
        metrics=server_metrics,
    )
    loops = background_loops(context, sweep_seconds=sweep_seconds)
    app = FastAPIOffline(
        title="signalbox",
        version=__version__,
        description="Interlocking for shared Terraform environments.",
        lifespan=_lifespan(context, loops, own_engine=engine is None),
        static_url=DOCS_ASSETS,
        swagger_ui_parameters={"validatorUrl": None},  # never the online validator badge
        # FastAPI's OpenTelemetry hooks asked for a tracer provider on every request (an
        # environment lookup each time): nothing here configures one
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.server = context
    install_problem_handlers(app, pages=page_error, is_page=is_page)
    for router, setting in ROUTERS:
        if setting is None or getattr(settings, setting):
            app.include_router(router)
    install_pages(app)
    decision = next(
        r for r in deploys.router.routes if getattr(r, "endpoint", None) is deploys.decision
    )
    app.add_middleware(ParkedPolls, context=context, route=decision)  # inside the two below
    app.add_middleware(BodySizeLimit, limit_for=_body_limit(settings))
    app.add_middleware(RequestMetrics, metrics=server_metrics)  # outermost: counts 413s too
    return app

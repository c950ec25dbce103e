"""``GET /metrics``: Prometheus' text format (``api.metrics``), for a scraper.

It needs a token with the grant ``admin:*``, unless the setting ``metrics_public`` lets
anyone who can reach the server read it (for a scraper that cannot send a token). A refusal
is problem+json (401 with ``WWW-Authenticate``, 403), never the web pages' sign-in redirect
that other paths outside ``/api`` get.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from signalbox.api.auth import caller_of
from signalbox.api.context import Server, server
from signalbox.api.problems import problem_response
from signalbox.core.errors import Forbidden, SignalboxError
from signalbox.core.roles import ANY_ENVIRONMENT, Grant, Role

__all__ = ["METRICS_GRANT", "router"]

router = APIRouter(tags=["operations"])

METRICS_GRANT = Grant(Role.ADMIN, ANY_ENVIRONMENT)


def _may_read(request: Request, context: Server) -> None:
    """Nothing when metrics are public or the caller's token has ``admin:*``; 401 without a
    token, 403 naming the grant with one that lacks it."""
    if context.settings.metrics_public:
        return
    caller = caller_of(request, context)
    if METRICS_GRANT not in caller.grants:
        raise Forbidden(
            f"{caller.principal.name} may not read /metrics: it needs the grant {METRICS_GRANT}.",
            hint="Scrape with an admin token, or set metrics_public = true in [server] to let "
            "a scraper read it without one.",
            missing=str(METRICS_GRANT),
        )


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus' text exposition format (docs/server.md, Metrics).",
            "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
        }
    },
)
async def metrics(request: Request, context: Server = Depends(server)) -> Response:
    """The server's figures for Prometheus: requests, holds, deploys, the queue, deploy
    durations, state bytes written, the notification backlog (an ``admin:*`` token, or
    none with ``metrics_public``)."""
    try:
        await run_in_threadpool(_may_read, request, context)
    except SignalboxError as refused:  # a scraper reads problem+json, never the sign-in page
        return problem_response(refused)
    assert context.metrics is not None  # create_app builds them
    body = await run_in_threadpool(generate_latest, context.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)

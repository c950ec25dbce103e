"""An error met on a page, answered as a page: the status comes from ``api.problems``'
one table (``status_for``), the words from the error itself. A page that needs a sign-in
answers with a redirect to ``/login?next=...`` instead of a 401."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from signalbox.core import errors
from signalbox.web.render import page
from signalbox.web.security import viewer_of

__all__ = ["API_PREFIXES", "is_page", "page_error"]

API_PREFIXES = ("/api/", "/tf/", "/docs", "/redoc", "/openapi.json", "/static/")
"""Paths whose errors stay problem+json (or plain): everything else is a page."""

_HEADINGS = {
    400: "That request is not right",
    403: "Not allowed",
    404: "Not found",
    409: "That cannot be done now",
    413: "Too large",
    422: "That is not right",
    500: "Something went wrong",
}


def is_page(request: Request) -> bool:
    """Whether ``request`` asked for a page (its error is a page, not problem+json)."""
    path = request.url.path
    return path == "/api" or not path.startswith(API_PREFIXES)


async def page_error(request: Request, error: errors.SignalboxError, status: int) -> Response:
    """``error`` on a page: the sign-in for a 401, else a page saying what is wrong."""
    if status == 401:
        if request.method == "GET":
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        else:  # a form sent after the session ended: back to the page it was sent from
            sent_from = urlsplit(request.headers.get("referer", "/"))
            target = sent_from.path + (f"?{sent_from.query}" if sent_from.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)
    message, hint = error.message, error.hint
    if status == 404 and request.scope.get("route") is None:  # no page has this address
        message = f"There is no page at {request.url.path}."
        hint = "The board at / links to every environment, deploy and incident."
    try:
        viewer = await viewer_of(request)
    except Exception:  # the error page must not fail because the database did
        viewer = None
    return page(
        request,
        "error.html",
        viewer=viewer,
        title=_HEADINGS.get(status, "Error"),
        status=status,
        heading=_HEADINGS.get(status, "Error"),
        message=message,
        hint=hint,
    )

"""Signing in and out.

GET  /login     the sign-in form (``?next=/path`` to go back to after)
POST /login     sign in with an API token: a session cookie, then ``next``
POST /logout    end this browser's session
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from signalbox.api.context import Server, server
from signalbox.core.durations import format_duration
from signalbox.core.errors import FormRefused, Unauthenticated
from signalbox.services.web_sessions import sign_in, sign_out
from signalbox.web.render import page
from signalbox.web.security import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    Posted,
    check_origin,
    login_form_token,
    posted,
    safe_next,
    set_login_cookie,
    set_session_cookie,
    viewer_of,
)

__all__ = ["login_page", "router"]

router = APIRouter(include_in_schema=False)


def login_page(
    request: Request,
    context: Server,
    *,
    next_path: str,
    problem: Unauthenticated | None = None,
) -> HTMLResponse:
    """The sign-in form (with ``problem`` said above it), setting its double-submit cookie."""
    token = login_form_token(request)
    answer = page(
        request,
        "login.html",
        viewer=None,
        title="Sign in",
        next=safe_next(next_path),
        problem=problem,
        login_token=token,
        lifetime=format_duration(context.settings.web_session_lifetime),
    )
    set_login_cookie(answer, request, token)
    return answer


@router.get("/login", response_class=HTMLResponse)
async def login_form(
    request: Request, next: str = "/", context: Server = Depends(server)
) -> Response:
    if await viewer_of(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return login_page(request, context, next_path=next)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    token: str = Form(""),
    csrf: str = Form(""),
    next: str = Form("/"),
    context: Server = Depends(server),
) -> Response:
    check_origin(request)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf, expected):
        raise FormRefused(
            "The sign-in form has no valid form token (it is from an old page or another site).",
            hint="Open /login again and sign in from there.",
        )
    lifetime = context.settings.web_session_lifetime
    try:
        signed = await run_in_threadpool(
            sign_in, context.engine, token, lifetime=lifetime, now=context.now()
        )
    except Unauthenticated as error:
        return login_page(request, context, next_path=next, problem=error)
    answer = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(answer, request, signed.secret, max_age=int(lifetime.total_seconds()))
    return answer


@router.post("/logout")
async def logout(
    request: Request, form: Posted = Depends(posted), context: Server = Depends(server)
) -> Response:
    secret = request.cookies.get(SESSION_COOKIE, "")
    await run_in_threadpool(sign_out, context.engine, secret)
    answer = RedirectResponse("/login", status_code=303)
    answer.delete_cookie(SESSION_COOKIE, path="/")
    return answer

"""Who is looking at a page, and whether a form may act.

A browser signs in with an API token (``/login``) and gets a session cookie
(``SESSION_COOKIE``: HttpOnly, SameSite=Lax, Secure behind HTTPS); the session ends at
sign-out, when its token is revoked, or after ``session_lifetime``
(``services.web_sessions``). Roles are the token's: a page offers only what the viewer may
do, and every POST is checked again on the server by the service it calls.

Cross-site requests are refused twice over: every form carries its session's form token
(``FORM_FIELD``, compared in constant time), and a POST whose ``Origin`` (or, without
one, ``Referer``) names another site is refused before the form is read. The sign-in form,
which has no session yet, uses a double-submit token in ``LOGIN_COOKIE``.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

from signalbox.api.context import Server, server_of
from signalbox.core.errors import FormRefused, Unauthenticated
from signalbox.core.roles import ANY_ENVIRONMENT, Action, Grant, Role
from signalbox.core.views import Principal
from signalbox.services.tokens import Caller
from signalbox.services.web_sessions import WebSession, session_of

__all__ = [
    "FORM_FIELD",
    "LOGIN_COOKIE",
    "PUBLIC_VIEWER",
    "SESSION_COOKIE",
    "Posted",
    "Viewer",
    "board_viewer",
    "login_form_token",
    "posted",
    "safe_next",
    "set_session_cookie",
    "signed_in",
    "viewer_of",
]

SESSION_COOKIE = "signalbox_session"
LOGIN_COOKIE = "signalbox_login"
FORM_FIELD = "csrf"


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who looks at a page: a signed-in ``caller`` with its session's ``form_token``, or
    the anonymous viewer of a public board (``public``: read-only, no reasons shown)."""

    caller: Caller
    form_token: str = ""
    public: bool = False

    @property
    def name(self) -> str:
        return self.caller.principal.name

    def may(self, action: Action | str, environment: str | None) -> bool:
        return not self.public and self.caller.may(Action(action), environment)


PUBLIC_VIEWER = Viewer(
    Caller(Principal("anyone", False), (Grant(Role.VIEWER, ANY_ENVIRONMENT),)), public=True
)
"""The board's viewer when ``board_public`` is on and nobody signed in."""


def _cookie_secure(request: Request, context: Server) -> bool:
    return request.url.scheme == "https" or context.settings.base_url.startswith("https:")


async def viewer_of(request: Request) -> Viewer | None:
    """The signed-in viewer of ``request``, or None (no cookie, or its session ended)."""
    secret = request.cookies.get(SESSION_COOKIE, "")
    if not secret:
        return None
    context = server_of(request)
    found: WebSession | None = await run_in_threadpool(
        session_of, context.engine, secret, now=context.now()
    )
    return None if found is None else Viewer(found.caller, found.form_token)


def _sign_in_first() -> Unauthenticated:
    return Unauthenticated(
        "Sign in to see this page.", hint="Sign in with your API token at /login."
    )


async def signed_in(request: Request) -> Viewer:
    """FastAPI dependency: the signed-in viewer; Unauthenticated (a page answers it with the
    sign-in page) without one."""
    found = await viewer_of(request)
    if found is None:
        raise _sign_in_first()
    return found


async def board_viewer(request: Request) -> Viewer:
    """FastAPI dependency of the board: the signed-in viewer, else anyone when
    ``board_public`` is on, else Unauthenticated."""
    found = await viewer_of(request)
    if found is not None:
        return found
    if server_of(request).settings.board_public:
        return PUBLIC_VIEWER
    raise _sign_in_first()


def check_origin(request: Request) -> None:
    """FormRefused when the browser says the request comes from another site."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if not claimed:
        return  # neither header: the form token alone decides
    source = urlsplit(claimed)  # "null" (an opaque origin) matches no site: refused
    here = urlsplit(str(request.base_url))
    public = urlsplit(server_of(request).settings.base_url)
    if (source.scheme, source.netloc) not in {
        (here.scheme, here.netloc),
        (public.scheme, public.netloc),
    }:
        raise FormRefused(
            f"This form was sent from {source.scheme}://{source.netloc}, not from signalbox.",
            hint="Open the page on signalbox itself and send the form from there.",
        )


@dataclass(frozen=True, slots=True)
class Posted:
    """A form sent by a signed-in viewer, checked: same site, its session's form token."""

    viewer: Viewer
    form: FormData

    def text(self, name: str) -> str:
        value = self.form.get(name)
        return value.strip() if isinstance(value, str) else ""


async def posted(request: Request) -> Posted:
    """FastAPI dependency of every page's POST: the signed-in viewer and the form, once the
    origin and the form token are checked (FormRefused otherwise, nothing changed)."""
    check_origin(request)
    viewer = await signed_in(request)
    form = await request.form()
    sent = form.get(FORM_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(sent, viewer.form_token):
        raise FormRefused(
            "This form has no valid form token (it is from an old page or another site).",
            hint="Reload the page and send the form again.",
        )
    return Posted(viewer, form)


def login_form_token(request: Request) -> str:
    """The sign-in form's double-submit token: the one in LOGIN_COOKIE, or a new one."""
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)


def set_session_cookie(response: Response, request: Request, secret: str, *, max_age: int) -> None:
    context = server_of(request)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_cookie_secure(request, context),
    )
    response.delete_cookie(LOGIN_COOKIE, path="/")


def set_login_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_cookie_secure(request, server_of(request)),
    )


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: a path on this site, never another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target

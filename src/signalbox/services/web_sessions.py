"""Signing in to the web pages with an API token, and the session that follows.

``sign_in`` checks the token as the API does (``services.tokens.authenticate``) and stores a
session: a random cookie secret (only its SHA-256 is kept) and a random form token that
every form of the session must send back (the CSRF check, ``web.security``). A session is
honoured while its token is valid and until ``session_lifetime`` after sign-in: revoking the
token ends every session made from it at the next page view; signing out ends one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from signalbox.core.errors import Unauthenticated
from signalbox.core.roles import parse_grants
from signalbox.core.views import Principal
from signalbox.services.tokens import Caller, authenticate, hash_secret
from signalbox.storage.repositories.web_sessions import (
    WebSessionRepository,
    session_fields_by_hash,
)
from signalbox.storage.uow import UnitOfWork, read_connection

__all__ = ["SignedIn", "WebSession", "session_of", "sign_in", "sign_out"]


@dataclass(frozen=True, slots=True)
class WebSession:
    """A live session: who (``caller``, as their token allows), the form token its forms
    carry, and when it ends."""

    caller: Caller
    form_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session and the secret its cookie carries (never stored)."""

    secret: str
    session: WebSession


def sign_in(engine: Engine, token: str, *, lifetime: timedelta, now: datetime) -> SignedIn:
    """A session for the holder of ``token``; Unauthenticated (nothing stored) when the token
    is unknown or revoked."""
    token = token.strip()
    if not token:
        raise Unauthenticated(
            "Sign-in needs an API token.",
            hint="Paste your token (sbx_...); an admin makes one with `signalbox token create`.",
        )
    try:
        caller = authenticate(engine, token, now=now)
    except Unauthenticated:
        raise Unauthenticated(
            "That token is not valid (unknown or revoked).",
            hint="Check the token you pasted, or ask an admin for one "
            "(`signalbox token create NAME --grant ROLE:ENV`).",
        ) from None
    secret = secrets.token_urlsafe(32)
    form_token = secrets.token_urlsafe(32)
    until = now + lifetime
    with UnitOfWork(engine) as uow:
        row = uow.tokens.by_hash(hash_secret(token))
        if row is None or row.revoked_at is not None:  # revoked between the two reads
            raise Unauthenticated("That token was revoked.", hint="Ask an admin for a new token.")
        sessions = WebSessionRepository(uow.session)
        sessions.remove_expired(now=now)
        sessions.add(
            secret_hash=hash_secret(secret),
            token_id=row.id,
            form_token=form_token,
            now=now,
            until=until,
        )
    return SignedIn(secret, WebSession(caller, form_token, until))


def session_of(engine: Engine, secret: str, *, now: datetime) -> WebSession | None:
    """The live session whose cookie carries ``secret``; None when there is none, it has
    ended, or its token was revoked."""
    if not secret:
        return None
    with read_connection(engine) as connection:
        found = session_fields_by_hash(connection, hash_secret(secret))
    if found is None:
        return None
    name, is_ci, grants, revoked_at, form_token, expires_at = found
    if revoked_at is not None or expires_at <= now:
        return None
    return WebSession(Caller(Principal(name, is_ci), parse_grants(grants)), form_token, expires_at)


def sign_out(engine: Engine, secret: str) -> None:
    """End the session whose cookie carries ``secret`` (nothing happens if there is none)."""
    if not secret:
        return
    with UnitOfWork(engine) as uow:
        WebSessionRepository(uow.session).remove(hash_secret(secret))

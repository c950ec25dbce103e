"""API tokens: create (the secret is shown once), authenticate, the bootstrap admin token.

Tokens are ``sbx_`` + 32 random bytes (URL-safe base64), so a fast hash (SHA-256) is right:
only the hash is stored. Authentication looks the hash up and compares it with
``hmac.compare_digest``.

A token found valid is remembered for ``CALLER_CACHE_SECONDS`` (per engine, in this process:
``remembered_caller``), so that the requests of a busy client need no query, and the API's
authentication no thread. Revoking a token (or replacing the bootstrap one) forgets every
remembered token of the engine at once, so on the server that revoked it the next request
gets 401; another server sharing the database may accept it for up to
``CALLER_CACHE_SECONDS`` more.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from signalbox.core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    Unauthenticated,
    unknown_environment,
)
from signalbox.core.events import TokenBootstrap, TokenCreated, TokenRevoked
from signalbox.core.roles import ANY_ENVIRONMENT, Action, Grant, allowed, missing_grant
from signalbox.core.roles import parse_grants as parse_grant_texts
from signalbox.core.views import Principal
from signalbox.services.events import emit
from signalbox.storage.engine import kept_on
from signalbox.storage.repositories.tokens import token_fields_by_hash
from signalbox.storage.tables import TokenRow
from signalbox.storage.uow import UnitOfWork, read_connection

__all__ = [
    "BOOTSTRAP_NAME",
    "CALLER_CACHE_SECONDS",
    "Caller",
    "TokenInfo",
    "authenticate",
    "create_token",
    "hash_secret",
    "list_tokens",
    "new_secret",
    "register_bootstrap_token",
    "remembered_caller",
    "revoke_token",
]

TOKEN_PREFIX = "sbx_"
BOOTSTRAP_NAME = "bootstrap-admin"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")
_TOUCH_EVERY = timedelta(minutes=5)

CALLER_CACHE_SECONDS = 5.0
"""How long a token found valid is trusted without a query (revoking on this server forgets
it at once; another server sharing the database may accept it this much longer)."""

_CALLER_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated token: who (``principal``) and what they may do (``grants``)."""

    principal: Principal
    grants: tuple[Grant, ...]

    def may(self, action: Action, environment: str | None) -> bool:
        return allowed(self.grants, action, environment)

    def require(self, action: Action, environment: str | None) -> None:
        """Forbidden (403), naming the grant that is missing, unless allowed."""
        if not self.may(action, environment):
            raise Forbidden(
                f"{self.principal.name} may not {action} "
                f"{'on ' + environment if environment else 'here'}. "
                f"{missing_grant(action, environment)}",
                hint="Ask an admin for that grant (signalbox token create ... --grant ...).",
                action=str(action),
                environment=environment,
                missing=missing_grant(action, environment),
            )


@dataclass(frozen=True, slots=True)
class TokenInfo:
    name: str
    is_ci: bool
    grants: tuple[str, ...]
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, row: TokenRow) -> TokenInfo:
        return cls(
            row.name,
            row.is_ci,
            tuple(row.grants),
            row.created_at,
            row.created_by,
            row.revoked_at,
            row.last_used_at,
        )


def new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _validate_name(name: str) -> None:
    if not _NAME.match(name):
        raise InvalidInput(
            f"{name!r} is not a token name.",
            hint="Use letters, digits and . _ @ - (up to 128), such as ci-dev.",
            field="name",
        )


def create_token(
    engine: Engine, *, name: str, grants: Sequence[str], is_ci: bool, created_by: str, now: datetime
) -> tuple[str, TokenInfo]:
    """A new token; returns the secret (shown once, never stored) and its info."""
    _validate_name(name)
    parsed = parse_grant_texts(grants)
    if not parsed:
        raise InvalidInput(
            "A token needs at least one grant.",
            hint="Add --grant ROLE:ENV, such as --grant developer:dev.",
            field="grants",
        )
    secret = new_secret()
    with UnitOfWork(engine) as uow:
        known = uow.environments.names()
        for grant in parsed:
            if grant.environment != ANY_ENVIRONMENT and grant.environment not in known:
                raise unknown_environment(grant.environment, known)
        if uow.tokens.by_name(name) is not None:
            raise Conflict(
                f"A token named {name!r} already exists.",
                hint="Choose another name, or revoke the old token first.",
                name=name,
            )
        texts = [str(grant) for grant in parsed]
        row = uow.tokens.add(
            name=name,
            secret_hash=hash_secret(secret),
            is_ci=is_ci,
            grants=texts,
            created_at=now,
            created_by=created_by,
        )
        emit(
            uow,
            TokenCreated(name=name, grants=tuple(texts), is_ci=is_ci),
            environment=None,
            actor=created_by,
            now=now,
        )
        return secret, TokenInfo.of(row)


class _Callers:
    """The tokens found valid on one engine: sha256 -> (when, by the server's clock and by
    the monotonic one, and the caller). An entry is good while both clocks say it is younger
    than ``CALLER_CACHE_SECONDS`` (a clock set back cannot stretch it; a test's clock
    moved on ends it).

    ``forget_all`` (a revocation) also moves ``generation`` on, so that an authentication
    that read the token before the revocation committed does not remember it after."""

    def __init__(self) -> None:
        self.found: dict[str, tuple[datetime, float, Caller]] = {}
        self.generation = 0
        self.lock = threading.Lock()

    def get(self, digest: str, now: datetime) -> Caller | None:
        entry = self.found.get(digest)
        if entry is None:
            return None
        checked_at, checked_monotonic, caller = entry
        age = (now - checked_at).total_seconds()
        if not 0 <= age < CALLER_CACHE_SECONDS:
            return None
        if time.monotonic() - checked_monotonic >= CALLER_CACHE_SECONDS:
            return None
        return caller

    def remember(self, digest: str, caller: Caller, generation: int, now: datetime) -> None:
        with self.lock:
            if generation != self.generation:
                return
            if len(self.found) >= _CALLER_CACHE_SIZE:
                self.found.clear()
            self.found[digest] = (now, time.monotonic(), caller)

    def forget_all(self) -> None:
        with self.lock:
            self.generation += 1
            self.found.clear()


def _callers_of(engine: Engine) -> _Callers:
    return kept_on(engine, "callers", _Callers)


def remembered_caller(engine: Engine, secret: str, *, now: datetime) -> Caller | None:
    """The caller of ``secret`` if it was found valid in the last ``CALLER_CACHE_SECONDS``
    (and not revoked here since); None otherwise (then ``authenticate``). No query."""
    return _callers_of(engine).get(hash_secret(secret), now)


def authenticate(engine: Engine, secret: str, *, now: datetime) -> Caller:
    """The caller that ``secret`` identifies; Unauthenticated if none (or revoked)."""
    digest = hash_secret(secret)
    callers = _callers_of(engine)
    remembered = callers.get(digest, now)
    if remembered is not None:
        return remembered
    generation = callers.generation
    with read_connection(engine) as connection:
        row = token_fields_by_hash(connection, digest)
        valid = row is not None and hmac.compare_digest(row.secret_hash, digest)
        if row is None or not valid or row.revoked_at is not None:
            raise Unauthenticated(
                "The token is not valid (unknown or revoked).",
                hint="Check SIGNALBOX_TOKEN, or ask an admin for a token.",
            )
        caller = Caller(Principal(row.name, row.is_ci), parse_grant_texts(row.grants))
        stale = row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY
    if stale:
        _touch(engine, digest, now)
    callers.remember(digest, caller, generation, now)
    return caller


def _touch(engine: Engine, digest: str, now: datetime) -> None:
    """Mark the token used, unless a concurrent request already did within _TOUCH_EVERY."""
    with UnitOfWork(engine) as uow:
        uow.tokens.touch(digest, now=now, unless_used_since=now - _TOUCH_EVERY)


def register_bootstrap_token(engine: Engine, secret: str, *, now: datetime) -> None:
    """Make ``secret`` the bootstrap admin token (admin:*); an empty secret revokes it."""
    try:
        _register_bootstrap_token(engine, secret, now=now)
    finally:
        _callers_of(engine).forget_all()  # an old bootstrap secret must not be remembered


def _register_bootstrap_token(engine: Engine, secret: str, *, now: datetime) -> None:
    with UnitOfWork(engine) as uow:
        uow.lock_startup()
        row = uow.tokens.by_name(BOOTSTRAP_NAME)
        if not secret:
            if row is not None and row.revoked_at is None:
                row.revoked_at = now
                emit(
                    uow,
                    TokenRevoked(name=BOOTSTRAP_NAME, reason="SIGNALBOX_ADMIN_TOKEN is unset"),
                    environment=None,
                    actor="signalbox",
                    now=now,
                )
            return
        digest = hash_secret(secret)
        if row is None:
            uow.tokens.add(
                name=BOOTSTRAP_NAME,
                secret_hash=digest,
                is_ci=False,
                grants=["admin:*"],
                created_at=now,
                created_by="signalbox",
            )
        elif row.secret_hash == digest and row.revoked_at is None:
            return
        else:
            row.secret_hash, row.revoked_at, row.grants = digest, None, ["admin:*"]
        emit(uow, TokenBootstrap(name=BOOTSTRAP_NAME), environment=None, actor="signalbox", now=now)


def list_tokens(engine: Engine) -> list[TokenInfo]:
    with UnitOfWork(engine, read_only=True) as uow:
        return [TokenInfo.of(row) for row in uow.tokens.all()]


def revoke_token(engine: Engine, *, name: str, revoked_by: str, now: datetime) -> TokenInfo:
    with UnitOfWork(engine) as uow:
        row = uow.tokens.by_name(name)
        if row is None:
            raise InvalidInput(
                f"There is no token named {name!r}.",
                hint="List tokens with GET /api/tokens.",
                field="name",
            )
        if row.revoked_at is None:
            row.revoked_at = now
            emit(uow, TokenRevoked(name=name), environment=None, actor=revoked_by, now=now)
        info = TokenInfo.of(row)
    _callers_of(engine).forget_all()  # committed: no request here may use it any more
    return info

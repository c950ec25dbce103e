"""Browser sessions (``web_sessions``), looked up by the SHA-256 of the cookie's secret
together with their token, in one Core query: every page view runs it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Row, bindparam, delete, select
from sqlalchemy.orm import Session

from signalbox.storage.tables import TokenRow, WebSessionRow

__all__ = ["SessionFields", "WebSessionRepository", "session_fields_by_hash"]

_BY_HASH = (
    select(
        TokenRow.name,
        TokenRow.is_ci,
        TokenRow.grants,
        TokenRow.revoked_at,
        WebSessionRow.form_token,
        WebSessionRow.expires_at,
    )
    .join(TokenRow, TokenRow.id == WebSessionRow.token_id)
    .where(WebSessionRow.secret_hash == bindparam("secret_hash"))
)

SessionFields = Row[str, bool, list[str], datetime | None, str, datetime]


def session_fields_by_hash(connection: Connection, secret_hash: str) -> SessionFields | None:
    """(token name, is_ci, grants, token revoked_at, form_token, expires_at) of the session
    whose cookie secret hashes to ``secret_hash``, or None."""
    return connection.execute(_BY_HASH, {"secret_hash": secret_hash}).one_or_none()


class WebSessionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self, *, secret_hash: str, token_id: int, form_token: str, now: datetime, until: datetime
    ) -> WebSessionRow:
        row = WebSessionRow(
            secret_hash=secret_hash,
            token_id=token_id,
            form_token=form_token,
            created_at=now,
            expires_at=until,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def remove(self, secret_hash: str) -> int:
        """End the session (sign-out); returns how many rows went (0 or 1)."""
        result = self.session.execute(
            delete(WebSessionRow).where(WebSessionRow.secret_hash == secret_hash)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    def remove_expired(self, *, now: datetime) -> int:
        """Forget sessions past their end (run at each sign-in: they are few)."""
        result = self.session.execute(delete(WebSessionRow).where(WebSessionRow.expires_at <= now))
        return int(result.rowcount)  # type: ignore[attr-defined]

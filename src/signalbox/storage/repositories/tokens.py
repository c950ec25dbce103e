"""API tokens, looked up by the SHA-256 of their secret."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Row, bindparam, or_, select, update
from sqlalchemy.orm import Session

from signalbox.storage.tables import TokenRow

_BY_HASH = select(
    TokenRow.name,
    TokenRow.secret_hash,
    TokenRow.is_ci,
    TokenRow.grants,
    TokenRow.revoked_at,
    TokenRow.last_used_at,
).where(TokenRow.secret_hash == bindparam("secret_hash"))


TokenFields = Row[str, str, bool, list[str], datetime | None, datetime | None]


def token_fields_by_hash(connection: Connection, secret_hash: str) -> TokenFields | None:
    """The token's fields authentication needs (name, secret_hash, is_ci, grants, revoked_at,
    last_used_at), by hash, as one Core row: every request runs this, and without a Session
    (identity map, ORM loading) it costs about half as much."""
    return connection.execute(_BY_HASH, {"secret_hash": secret_hash}).one_or_none()


class TokenRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_hash(self, secret_hash: str) -> TokenRow | None:
        query = select(TokenRow).where(TokenRow.secret_hash == secret_hash)
        return self.session.scalars(query).one_or_none()

    def touch(self, secret_hash: str, *, now: datetime, unless_used_since: datetime) -> None:
        """Set last_used_at to ``now`` unless it is already ``unless_used_since`` or later.

        One conditional UPDATE: of many requests that find the mark stale at once, the first
        writes it and the others match no row (no lost update, no write each).
        """
        stale = or_(TokenRow.last_used_at.is_(None), TokenRow.last_used_at < unless_used_since)
        query = update(TokenRow).where(TokenRow.secret_hash == secret_hash, stale)
        self.session.execute(
            query.values(last_used_at=now), execution_options={"synchronize_session": False}
        )

    def by_name(self, name: str) -> TokenRow | None:
        return self.session.scalars(select(TokenRow).where(TokenRow.name == name)).one_or_none()

    def all(self) -> list[TokenRow]:
        return list(self.session.scalars(select(TokenRow).order_by(TokenRow.name)))

    def add(
        self,
        *,
        name: str,
        secret_hash: str,
        is_ci: bool,
        grants: list[str],
        created_at: datetime,
        created_by: str,
    ) -> TokenRow:
        row = TokenRow(
            name=name,
            secret_hash=secret_hash,
            is_ci=is_ci,
            grants=grants,
            created_at=created_at,
            created_by=created_by,
        )
        self.session.add(row)
        self.session.flush()
        return row

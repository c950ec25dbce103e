"""API tokens: the request body that creates one and the shapes of the answers (never the
secret, except once in the answer that creates it)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from signalbox.services.tokens import TokenInfo

__all__ = ["TokenCreate", "TokenListRead", "TokenRead", "TokenSecretRead"]


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    grants: list[str] = Field(description="ROLE:ENV, e.g. developer:dev or viewer:*")
    ci: bool = Field(False, description="A machine identity (a CI pipeline), not a person.")


class TokenRead(BaseModel):
    """One token: who it is for, what it may do, and when it was used (never its secret)."""

    name: str
    ci: bool = Field(description="A machine identity (a CI pipeline), not a person.")
    grants: list[str] = Field(description="ROLE:ENV grants, e.g. developer:dev.")
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(description="Updated at most every 5 minutes.")

    @classmethod
    def of(cls, info: TokenInfo) -> TokenRead:
        return cls(
            name=info.name,
            ci=info.is_ci,
            grants=list(info.grants),
            created_at=info.created_at,
            created_by=info.created_by,
            revoked_at=info.revoked_at,
            last_used_at=info.last_used_at,
        )


class TokenSecretRead(TokenRead):
    """A token just created, with its secret: shown in this answer only, never stored."""

    token: str = Field(description="The secret (sbx_...): send it as Bearer or Basic password.")

    @classmethod
    def created(cls, secret: str, info: TokenInfo) -> TokenSecretRead:
        return cls(token=secret, **TokenRead.of(info).model_dump())


class TokenListRead(BaseModel):
    tokens: list[TokenRead]

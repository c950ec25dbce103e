"""Request bodies and answer shapes of the token routes (moving to api/models/tokens.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from signalbox.services.tokens import TokenInfo

__all__ = ["TokenCreate", "token_read"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TokenCreate(_Body):
    name: str
    grants: list[str] = Field(description="ROLE:ENV, e.g. developer:dev or viewer:*")
    ci: bool = Field(False, description="A machine identity (a CI pipeline), not a person.")


def token_read(info: TokenInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "ci": info.is_ci,
        "grants": list(info.grants),
        "created_at": info.created_at.isoformat(),
        "created_by": info.created_by,
        "revoked_at": info.revoked_at.isoformat() if info.revoked_at else None,
        "last_used_at": info.last_used_at.isoformat() if info.last_used_at else None,
    }

"""The answers of the benchmark floors (``api.routes.bench``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["NoopRead", "NoopUploadRead"]


class NoopRead(BaseModel):
    ok: Literal[True] = Field(description="Always true: the request was authenticated.")
    caller: str = Field(description="The name of the token that asked.")


class NoopUploadRead(BaseModel):
    size: int = Field(description="How many body bytes were read (and discarded).")

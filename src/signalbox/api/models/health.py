"""The health check's answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["HealthRead"]


class HealthRead(BaseModel):
    status: Literal["ok"] = Field(description="Always ok: the server answers.")
    version: str = Field(description="The signalbox version the server runs.")

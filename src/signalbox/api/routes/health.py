"""``GET /healthz``: the server answers (no token needed)."""

from __future__ import annotations

from fastapi import APIRouter

from signalbox import __version__
from signalbox.api.models.health import HealthRead

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthRead)
def healthz() -> HealthRead:
    """The server answers (no token needed)."""
    return HealthRead(status="ok", version=__version__)

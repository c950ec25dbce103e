"""``/healthz`` (no token) and ``/api/noop`` (authenticated, does nothing: the benchmark floor)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from signalbox import __version__
from signalbox.api.auth import current_caller
from signalbox.services.tokens import Caller

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, Any]:
    """The server answers (no token needed)."""
    return {"status": "ok", "version": __version__}


@router.get("/api/noop")
def noop(caller: Caller = Depends(current_caller)) -> dict[str, Any]:
    """Authenticated no-op: the cost of one authenticated request, the floor of benchmarks."""
    return {"ok": True, "caller": caller.principal.name}

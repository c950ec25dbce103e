"""The benchmark floors, not part of the product: ``create_app`` registers this router only
when the ``bench_endpoints`` setting is on (otherwise they answer 404 and are not in
``/openapi.json``), and even then they answer admin tokens only (``admin:*``).

    GET  /api/noop                   authenticated no-op: the cost of one request
    POST /api/noop-upload            read the body and discard it (the state upload's floor)
    GET  /api/noop-download?size=N   stream N zero bytes (the state download's floor)

``bench/server.py`` and ``bench/tfstate.py`` compare with them.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from signalbox.api.auth import current_caller
from signalbox.api.models.bench import NoopRead, NoopUploadRead
from signalbox.core.errors import Forbidden
from signalbox.core.roles import ANY_ENVIRONMENT, Grant, Role
from signalbox.services.tokens import Caller

__all__ = ["ADMIN_GRANT", "router"]

router = APIRouter(tags=["benchmark floors"])

ADMIN_GRANT = Grant(Role.ADMIN, ANY_ENVIRONMENT)


def admin_caller(caller: Caller = Depends(current_caller)) -> Caller:
    """The caller, if its token has the grant ``admin:*``; Forbidden (403) naming it if not."""
    if ADMIN_GRANT not in caller.grants:
        missing = f"The benchmark endpoints need the grant {ADMIN_GRANT}."
        raise Forbidden(
            f"{caller.principal.name} may not use the benchmark endpoints. {missing}",
            hint="Run the benchmarks in bench/ (they use the bootstrap admin token).",
            missing=missing,
        )
    return caller


@router.get("/api/noop", response_model=NoopRead)
def noop(caller: Caller = Depends(admin_caller)) -> NoopRead:
    """Authenticated no-op: the cost of one authenticated request, the floor of benchmarks."""
    return NoopRead(ok=True, caller=caller.principal.name)


@router.post("/api/noop-upload", response_model=NoopUploadRead)
async def noop_upload(request: Request, caller: Caller = Depends(admin_caller)) -> NoopUploadRead:
    """Read the body and discard it (the state upload's floor); answers its size."""
    size = 0
    async for piece in request.stream():
        size += len(piece)
    return NoopUploadRead(size=size)


@router.get(
    "/api/noop-download",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "``size`` zero bytes.",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
def noop_download(
    size: int = Query(..., ge=0, le=1 << 31), caller: Caller = Depends(admin_caller)
) -> StreamingResponse:
    """Stream ``size`` zero bytes in 1 MiB pieces (the state download's floor)."""
    piece = bytes(1 << 20)

    def pieces() -> Iterator[bytes]:
        left = size
        while left > 0:
            yield piece[: min(left, len(piece))]
            left -= len(piece)

    return StreamingResponse(
        pieces(), media_type="application/octet-stream", headers={"Content-Length": str(size)}
    )

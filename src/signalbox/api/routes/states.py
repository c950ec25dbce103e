"""A Terraform state's history over the JSON API: versions, what a version changed, restore.

GET  /api/states/{environment}                     versions of every state, newest first
GET  /api/states/{environment}/{state}             versions of one state
GET  /api/states/{environment}/{state}/show?serial=N   addresses added/removed by N
POST /api/states/{environment}/{state}/restore     {"serial": N} (admin, under a hold)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from signalbox.api.auth import current_caller
from signalbox.api.context import Server, server
from signalbox.api.routes.tfstate import state_store
from signalbox.core.roles import Action
from signalbox.services.tfstate import (
    StateStore,
    VersionInfo,
    list_versions,
    restore_version,
    show_version,
)
from signalbox.services.tokens import Caller

__all__ = ["router", "version_read"]

router = APIRouter(prefix="/api/states", tags=["terraform state"])


class RestoreCreate(BaseModel):
    serial: int = Field(ge=0, description="The serial whose content becomes the newest version.")


def version_read(version: VersionInfo) -> dict[str, Any]:
    body = asdict(version)
    body["at"] = version.at.isoformat()
    return body


def _versions_read(
    context: Server, environment: str, versions: Sequence[VersionInfo]
) -> dict[str, Any]:
    return {
        "environment": environment,
        "timezone": context.timezone(environment),
        "versions": [version_read(v) for v in versions],
    }


@router.get("/{environment}")
def environment_versions(
    environment: str,
    limit: int = Query(50, ge=1, le=1000),
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
    store: StateStore = Depends(state_store),
) -> dict[str, Any]:
    caller.require(Action.READ_STATE, context.configured(environment))
    versions = list_versions(store, environment=environment, limit=limit)
    return _versions_read(context, environment, versions)


@router.get("/{environment}/{state}")
def state_versions(
    environment: str,
    state: str,
    limit: int = Query(50, ge=1, le=1000),
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
    store: StateStore = Depends(state_store),
) -> dict[str, Any]:
    caller.require(Action.READ_STATE, context.configured(environment))
    versions = list_versions(store, environment=environment, name=state, limit=limit)
    return _versions_read(context, environment, versions)


@router.get("/{environment}/{state}/show")
async def show(
    environment: str,
    state: str,
    serial: int | None = Query(None, ge=0),
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
    store: StateStore = Depends(state_store),
) -> dict[str, Any]:
    caller.require(Action.READ_STATE, context.configured(environment))
    change = await run_in_threadpool(
        lambda: show_version(store, environment=environment, name=state, serial=serial)
    )
    return {
        "version": version_read(change.version),
        "previous": version_read(change.previous) if change.previous else None,
        "added": list(change.added),
        "removed": list(change.removed),
        "timezone": change.timezone,
        "note": change.note,
    }


@router.post("/{environment}/{state}/restore")
async def restore(
    environment: str,
    state: str,
    body: RestoreCreate,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
    store: StateStore = Depends(state_store),
) -> dict[str, Any]:
    caller.require(Action.RESTORE_STATE, context.configured(environment))
    version = await run_in_threadpool(
        lambda: restore_version(
            store,
            principal=caller.principal,
            environment=environment,
            name=state,
            serial=body.serial,
            now=context.now(),
        )
    )
    return {"version": version_read(version)}

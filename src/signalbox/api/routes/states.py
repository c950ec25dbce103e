"""A Terraform state's history over the JSON API: versions, what a version changed, restore.

GET  /api/states/{environment}                     versions of every state, newest first
GET  /api/states/{environment}/{state}             versions of one state
GET  /api/states/{environment}/{state}/show?serial=N   addresses added/removed by N
POST /api/states/{environment}/{state}/restore     {"serial": N} (admin, under a hold)
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from signalbox.api.auth import current_caller
from signalbox.api.context import Server, server
from signalbox.api.models.bounds import StateSerial
from signalbox.api.models.states import (
    RestoreCreate,
    RestoreRead,
    StateChangeRead,
    VersionListRead,
    VersionRead,
)
from signalbox.api.routes.tfstate import state_store
from signalbox.core.roles import Action
from signalbox.core.tfstate import StateKey
from signalbox.services.tfstate import (
    StateStore,
    VersionInfo,
    list_state_versions,
    list_versions,
    restore_version,
    show_version,
)
from signalbox.services.tokens import Caller

__all__ = ["router"]

router = APIRouter(prefix="/api/states", tags=["terraform state"])


def _versions_read(
    context: Server, environment: str, versions: Sequence[VersionInfo]
) -> VersionListRead:
    return VersionListRead(
        environment=environment,
        timezone=context.timezone(environment),
        versions=[VersionRead.of(version) for version in versions],
    )


@router.get("/{environment}", response_model=VersionListRead)
def environment_versions(
    environment: str,
    limit: int = Query(50, ge=1, le=1000),
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
    store: StateStore = Depends(state_store),
) -> VersionListRead:
    caller.require(Action.READ_STATE, context.configured(environment))
    versions = list_versions(store, environment=environment, limit=limit)
    return _versions_read(context, environment, versions)


@router.get("/{environment}/{state}", response_model=VersionListRead)
def state_versions(
    environment: str,
    state: str,
    limit: int = Query(50, ge=1, le=1000),
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
    store: StateStore = Depends(state_store),
) -> VersionListRead:
    caller.require(Action.READ_STATE, context.configured(environment))
    versions = list_state_versions(store, key=StateKey(environment, state), limit=limit)
    return _versions_read(context, environment, versions)


@router.get("/{environment}/{state}/show", response_model=StateChangeRead)
async def show(
    environment: str,
    state: str,
    serial: StateSerial | None = Query(None),
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
    store: StateStore = Depends(state_store),
) -> StateChangeRead:
    caller.require(Action.READ_STATE, context.configured(environment))
    key = StateKey(environment, state)
    now = context.now()
    change = await run_in_threadpool(lambda: show_version(store, key=key, serial=serial, now=now))
    return StateChangeRead.of(change)


@router.post("/{environment}/{state}/restore", response_model=RestoreRead)
async def restore(
    environment: str,
    state: str,
    body: RestoreCreate,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
    store: StateStore = Depends(state_store),
) -> RestoreRead:
    caller.require(Action.RESTORE_STATE, context.configured(environment))
    version = await run_in_threadpool(
        lambda: restore_version(
            store,
            principal=caller.principal,
            key=StateKey(environment, state),
            serial=body.serial,
            now=context.now(),
        )
    )
    return RestoreRead(version=VersionRead.of(version))

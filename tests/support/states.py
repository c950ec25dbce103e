"""Writing a Terraform state body through the services as the ``/tf`` route does: read by
the API's upload reader, staged, then decided."""

from __future__ import annotations

from datetime import datetime

import anyio

from signalbox.api.state_upload import BodyReceiver
from signalbox.core.tfstate import Accepted, Refusal, StateHead, StateKey
from signalbox.core.views import Principal
from signalbox.services.tfstate import StagedBody, StateStore, stage_upload, write_state


def stage(store: StateStore, body: bytes, now: datetime) -> tuple[StagedBody, StateHead | None]:
    """``body`` staged as one request piece, and the state head read from it."""
    receiver = BodyReceiver(limit=1 << 30)

    async def pieces():
        yield body

    async def staged() -> StagedBody:
        return await stage_upload(store, receiver.segments(pieces()), now=now)

    return anyio.run(staged), receiver.head


def write(
    store: StateStore,
    key: StateKey,
    body: bytes,
    *,
    principal: Principal,
    now: datetime,
    lock_id: str | None = None,
) -> Accepted | Refusal:
    """Stage ``body`` and write it as the newest version of ``key``."""
    staged, head = stage(store, body, now)
    return write_state(
        store,
        principal=principal,
        key=key,
        staged=staged,
        head=head,
        declared_md5=None,
        lock_id=lock_id,
        now=now,
    )

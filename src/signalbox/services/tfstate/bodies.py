"""Reading, writing and deleting a state's body (Terraform's GET, POST/PUT and DELETE).

A write is decided by ``core.tfstate.decide_write`` with the environment row locked; an
accepted one becomes a new version, old versions beyond the retention lose their bodies, and
a person's write on a free environment places the automatic hold (the out-of-band rule).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from signalbox.core.errors import UnknownState
from signalbox.core.holds import Granted, HoldRequest
from signalbox.core.tfstate import (
    Accepted,
    EnvironmentFacts,
    Refusal,
    StateHead,
    WriteRequest,
    automatic_hold,
    automatic_hold_message,
    decide_delete,
    decide_write,
    live_hold,
)
from signalbox.core.views import HoldKind, Principal
from signalbox.services.events import record_event
from signalbox.services.holds import acquire_hold_in
from signalbox.services.tfstate.store import (
    StateStore,
    StoredState,
    envelope_of,
    load_facts,
    open_state,
    record_refusal,
    validate_state_name,
)
from signalbox.storage.repositories.tfstate import (
    TfStateRepository,
    read_segments,
    terraform_lock,
)
from signalbox.storage.tfstate_tables import TfStateVersionRow
from signalbox.storage.uow import UnitOfWork
from signalbox.tfstate.crypto import unseal
from signalbox.tfstate.staging import StagedBody

__all__ = ["delete_state", "prune_state", "read_state", "write_state"]

READ_BATCH = 4
"""Segments (1 MiB each) read per short database read while a state is sent."""
ABANDONED_AFTER = timedelta(hours=1)
"""A staged body that no version points at after this long is dropped."""


def read_state(store: StateStore, *, environment: str, name: str) -> StoredState | None:
    """The newest body of ``environment``/``name``; None when there is none (or deleted)."""
    with UnitOfWork(store.engine, read_only=True) as uow:
        uow.environments.get(environment)
        repo = TfStateRepository(uow.session)
        state = repo.state(environment, validate_state_name(name))
        head = repo.head(state) if state is not None else None
        if head is None or head.deleted:
            return None
        assert head.blob_id is not None
        blob_id, segments, envelope = head.blob_id, head.segments, envelope_of(head)
        serial, md5, size = head.serial, bytes.fromhex(head.md5), head.size
    pieces = _segments(store, blob_id, segments)
    return StoredState(serial, md5, size, unseal(store.keyring, envelope, pieces))


def _segments(store: StateStore, blob_id: int, count: int) -> Iterator[bytes]:
    for start in range(0, count, READ_BATCH):
        yield from read_segments(store.engine, blob_id, start, min(READ_BATCH, count - start))


def _stored_head(head: TfStateVersionRow | None) -> tuple[StateHead | None, bytes | None]:
    if head is None or head.deleted:
        return None, None
    return StateHead(head.lineage, head.serial), bytes.fromhex(head.md5)


def write_state(
    store: StateStore,
    *,
    principal: Principal,
    environment: str,
    name: str,
    staged: StagedBody,
    declared_md5: bytes | None,
    lock_id: str | None,
    now: datetime,
) -> Accepted | Refusal:
    """Terraform's POST/PUT of a state body, already staged (``tfstate.staging``): an accepted
    write points a new version at the staged blob, a refused one drops it."""
    path = f"{environment}/{name}"
    body = staged.summary
    request = WriteRequest(principal, lock_id or None, declared_md5, body.md5, body.head)
    with UnitOfWork(store.engine) as uow:
        env, repo, state = open_state(uow, environment, name, now=now)
        lock_row = repo.lock(state)
        facts = load_facts(uow, store.settings, env, now)
        stored, stored_md5 = _stored_head(repo.head(state))
        decision = decide_write(
            request,
            current_lock=terraform_lock(lock_row, state) if lock_row else None,
            facts=facts,
            stored=stored,
            stored_md5=stored_md5,
            path=path,
            now=now,
        )
        repo.drop_abandoned_blobs(before=now - ABANDONED_AFTER)
        if isinstance(decision, Refusal) or decision.unchanged:
            repo.delete_blob(staged.blob_id)
        if isinstance(decision, Refusal):
            return record_refusal(
                uow,
                decision,
                who=principal,
                what="write",
                path=path,
                environment=environment,
                now=now,
            )
        if not decision.unchanged:
            version = _new_version(state.id, staged, principal, facts, decision, now)
            repo.add_version(version)
            repo.finish_blob(staged.blob_id)
            _place_automatic_hold(
                uow, store, version, facts, principal=principal, state=name, now=now
            )
            _record_write(uow, version, principal, path, now)
        return decision


def _new_version(
    state_id: int,
    staged: StagedBody,
    principal: Principal,
    facts: EnvironmentFacts,
    decision: Accepted,
    now: datetime,
) -> TfStateVersionRow:
    body = staged.summary
    assert body.head is not None, "an accepted write is a state"
    own = live_hold(facts.hold, now)
    if own is not None and own.owner.name != principal.name:
        own = None  # a run that locked before someone else's hold: not under any hold
    return TfStateVersionRow(
        state_id=state_id,
        serial=body.head.serial,
        lineage=body.head.lineage,
        md5=body.md5.hex(),
        size=body.size,
        author=principal.name,
        author_is_ci=principal.is_ci,
        at=now,
        deleted=False,
        segments=body.segments,
        blob_id=staged.blob_id,
        key_id=staged.envelope.key_id,
        stream_id=staged.envelope.stream_id,
        deploy_id=own.deploy_id if own is not None else None,
        fencing_token=decision.fencing_token,
    )


def _record_write(
    uow: UnitOfWork, version: TfStateVersionRow, principal: Principal, path: str, now: datetime
) -> None:
    record_event(
        uow,
        environment=path.split("/", 1)[0],
        actor=principal.name,
        kind="state.written",
        message=f"{principal.name} wrote {path} serial {version.serial} ({version.size} bytes).",
        now=now,
        deploy_id=version.deploy_id,
        data={
            "state": path,
            "serial": version.serial,
            "lineage": version.lineage,
            "md5": version.md5,
            "size": version.size,
            "is_ci": principal.is_ci,
            "fencing_token": version.fencing_token,
        },
    )


def _place_automatic_hold(
    uow: UnitOfWork,
    store: StateStore,
    version: TfStateVersionRow,
    facts: EnvironmentFacts,
    *,
    principal: Principal,
    state: str,
    now: datetime,
) -> None:
    placed = automatic_hold(
        environment=facts.name,
        state=state,
        writer=principal,
        hold=facts.hold,
        duration=store.auto_hold,
        now=now,
    )
    if placed is None:
        return
    request = HoldRequest(facts.name, principal, HoldKind.WORK, placed.reason, placed.duration)
    granted = acquire_hold_in(uow, request, now=now)
    if not isinstance(granted, Granted):
        return
    version.fencing_token = granted.hold.fencing_token
    record_event(
        uow,
        environment=facts.name,
        actor=principal.name,
        kind="state.out-of-band",
        message=automatic_hold_message(
            facts.name, principal.name, granted.hold.until, now=now, tz=facts.timezone
        ),
        now=now,
        data={
            "state": f"{facts.name}/{state}",
            "serial": version.serial,
            "until": granted.hold.until.isoformat(),
            "fencing_token": granted.hold.fencing_token,
        },
    )


def prune_state(store: StateStore, *, environment: str, name: str, now: datetime) -> list[int]:
    """Drop the bodies of the versions beyond ``state_retention`` (never the newest); run
    after an accepted write has been answered. Returns the serials pruned."""
    with UnitOfWork(store.engine) as uow:
        uow.lock_environment(environment)
        repo = TfStateRepository(uow.session)
        state = repo.state(environment, validate_state_name(name))
        if state is None:
            return []
        pruned = repo.prune(state, keep=store.settings.state_retention, now=now)
        if pruned:
            record_event(
                uow,
                environment=environment,
                actor="signalbox",
                kind="state.pruned",
                message=f"Kept the newest {store.settings.state_retention} versions of "
                f"{environment}/{name}; the bodies of serials "
                f"{', '.join(map(str, sorted(pruned)))} were pruned.",
                now=now,
                data={"state": f"{environment}/{name}", "serials": pruned},
            )
        return pruned


def delete_state(
    store: StateStore,
    *,
    principal: Principal,
    environment: str,
    name: str,
    lock_id: str | None,
    now: datetime,
) -> Accepted | Refusal:
    """Terraform's DELETE: a deletion version is written; the history stays."""
    path = f"{environment}/{name}"
    with UnitOfWork(store.engine) as uow:
        env, repo, state = open_state(uow, environment, name, now=now)
        head = repo.head(state)
        if head is None or head.deleted:
            raise UnknownState(
                f"There is no state {path} to delete.",
                hint=f"List the states with `signalbox state versions {environment}`.",
            )
        lock_row = repo.lock(state)
        decision = decide_delete(
            deleter=principal,
            lock_id=lock_id or None,
            current_lock=terraform_lock(lock_row, state) if lock_row else None,
            facts=load_facts(uow, store.settings, env, now),
            path=path,
            now=now,
        )
        if isinstance(decision, Refusal):
            return record_refusal(
                uow,
                decision,
                who=principal,
                what="delete",
                path=path,
                environment=environment,
                now=now,
            )
        tombstone = _tombstone(head, principal, decision, now)
        repo.add_version(tombstone)
        record_event(
            uow,
            environment=environment,
            actor=principal.name,
            kind="state.deleted",
            message=f"{principal.name} deleted {path} (its versions are kept).",
            now=now,
            data={"state": path, "serial": head.serial},
        )
        return decision


def _tombstone(
    head: TfStateVersionRow, principal: Principal, decision: Accepted, now: datetime
) -> TfStateVersionRow:
    """A deletion version: no body; the state reads as absent until a new one is written."""
    return TfStateVersionRow(
        state_id=head.state_id,
        serial=head.serial,
        lineage=head.lineage,
        md5="",
        size=0,
        author=principal.name,
        author_is_ci=principal.is_ci,
        at=now,
        deleted=True,
        segments=0,
        key_id=None,
        stream_id=b"",
        fencing_token=decision.fencing_token,
    )

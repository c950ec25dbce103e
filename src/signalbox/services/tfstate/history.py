"""A state's history: list its versions, show what a version changed, restore an old one,
and re-encrypt stored bodies under the newest key.

A restore never rewrites history: it writes a new version with the old content and the next
serial (the body's top-level serial is rewritten so Terraform accepts it as the newest). It
needs the restore-state grant (admin) and a live hold of the environment by the caller.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from signalbox.core.errors import (
    InvalidInput,
    NotHolder,
    StateRefused,
    UnknownState,
)
from signalbox.core.events import StateKeysRotated, StateRestored
from signalbox.core.tfstate import (
    StateKey,
    diff_states,
    live_hold,
    resource_addresses,
    rewrite_serial,
    validate_state_name,
)
from signalbox.core.views import Principal
from signalbox.services.events import emit
from signalbox.services.tfstate.store import (
    StateStore,
    integrity_recorded,
    load_facts,
    open_state,
    store_body,
    version_body,
)
from signalbox.storage.repositories.tfstate import TfStateRepository, state_key
from signalbox.storage.state_crypto import seal_segment
from signalbox.storage.tfstate_tables import TfStateRow, TfStateVersionRow
from signalbox.storage.uow import UnitOfWork

__all__ = [
    "StateChange",
    "VersionInfo",
    "list_state_versions",
    "list_versions",
    "restore_version",
    "rotate_keys",
    "show_version",
]


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One version of the state ``key``, without its body."""

    key: StateKey
    serial: int
    lineage: str
    md5: str
    size: int
    author: str
    author_is_ci: bool
    at: datetime
    deploy_id: int | None
    fencing_token: int | None
    encrypted: bool
    deleted: bool
    restored_from: int | None
    pruned: bool

    @classmethod
    def of(cls, row: TfStateVersionRow, state: TfStateRow) -> VersionInfo:
        return cls(
            state_key(state),
            row.serial,
            row.lineage,
            row.md5,
            row.size,
            row.author,
            row.author_is_ci,
            row.at,
            row.deploy_id,
            row.fencing_token,
            row.key_id is not None,
            row.deleted,
            row.restored_from,
            row.pruned_at is not None,
        )


@dataclass(frozen=True, slots=True)
class StateChange:
    """What ``version`` changed since ``previous`` (addresses added and removed)."""

    version: VersionInfo
    previous: VersionInfo | None
    added: tuple[str, ...]
    removed: tuple[str, ...]
    timezone: str
    note: str = ""


def list_versions(store: StateStore, *, environment: str, limit: int = 50) -> list[VersionInfo]:
    """The versions of every state of ``environment``, by state name, each newest first."""
    with UnitOfWork(store.engine, read_only=True) as uow:
        uow.environments.get(environment)
        repo = TfStateRepository(uow.session)
        return [
            VersionInfo.of(row, state)
            for state in repo.states(environment)
            for row in repo.versions(state, limit=limit)
        ]


def list_state_versions(store: StateStore, *, key: StateKey, limit: int = 50) -> list[VersionInfo]:
    """The versions of the state ``key``, newest first; UnknownState when it has none."""
    validate_state_name(key.name)
    with UnitOfWork(store.engine, read_only=True) as uow:
        uow.environments.get(key.environment)
        repo = TfStateRepository(uow.session)
        state = repo.state(key)
        if state is None:
            raise _unknown(key)
        return [VersionInfo.of(row, state) for row in repo.versions(state, limit=limit)]


def _unknown(key: StateKey, serial: int | None = None) -> UnknownState:
    what = f"serial {serial} of " if serial is not None else ""
    return UnknownState(
        f"There is no {what}state {key.label}.",
        hint=f"List them with `signalbox state versions {key.environment}`.",
    )


def _body(store: StateStore, repo: TfStateRepository, row: TfStateVersionRow) -> Iterator[bytes]:
    """The checked clear body of ``row`` (StateIntegrityError naming it when damaged)."""
    blob_id = row.blob_id
    assert blob_id is not None, "a version with a body has a blob"
    stored = (repo.segment(blob_id, seq) for seq in range(row.segments))
    state = repo.session.get(TfStateRow, row.state_id)
    assert state is not None
    return version_body(store.keyring, state_key(state), row, stored)


def _addresses(
    store: StateStore, repo: TfStateRepository, row: TfStateVersionRow
) -> frozenset[str]:
    if row.deleted:
        return frozenset()
    return resource_addresses(b"".join(_body(store, repo, row)))


def show_version(
    store: StateStore,
    *,
    key: StateKey,
    serial: int | None = None,
    now: datetime | None = None,
) -> StateChange:
    """What a version of the state ``key`` (default: the newest) changed since the version
    before it. A damaged body is StateIntegrityError, recorded as an event at ``now``."""
    with integrity_recorded(store, now=now):
        return _show(store, key, serial)


def _show(store: StateStore, key: StateKey, serial: int | None) -> StateChange:
    validate_state_name(key.name)
    with UnitOfWork(store.engine, read_only=True) as uow:
        env = uow.environments.get(key.environment)
        repo = TfStateRepository(uow.session)
        state = repo.state(key)
        if state is None:
            raise _unknown(key)
        row = repo.head(state) if serial is None else repo.by_serial(state, serial)
        if row is None:
            raise _unknown(key, serial)
        previous = repo.before(row)
        if row.pruned_at is not None or (previous is not None and previous.pruned_at):
            note = "an older body was pruned (state_retention); the change cannot be shown"
            return StateChange(
                VersionInfo.of(row, state),
                VersionInfo.of(previous, state) if previous else None,
                (),
                (),
                env.timezone,
                note,
            )
        before = _addresses(store, repo, previous) if previous is not None else frozenset()
        diff = diff_states(before, _addresses(store, repo, row))
        return StateChange(
            VersionInfo.of(row, state),
            VersionInfo.of(previous, state) if previous else None,
            diff.added,
            diff.removed,
            env.timezone,
        )


def restore_version(
    store: StateStore,
    *,
    principal: Principal,
    key: StateKey,
    serial: int,
    now: datetime,
) -> VersionInfo:
    """Write version ``serial``'s content as the newest version of the state ``key`` (the
    caller holds its environment). A damaged source body is StateIntegrityError: nothing is
    written, and the damage is recorded as an event."""
    with integrity_recorded(store, now=now):
        return _restore(store, principal, key, serial, now)


def _restore(
    store: StateStore, principal: Principal, key: StateKey, serial: int, now: datetime
) -> VersionInfo:
    environment = key.environment
    with UnitOfWork(store.engine) as uow:
        env, repo, state = open_state(uow, key, now=now)
        now = uow.now(now)  # read after the environment's lock
        hold = live_hold(load_facts(uow, store.settings, env, now).hold, now)
        if hold is None or hold.owner.name != principal.name:
            raise NotHolder(
                f"Restoring {key.label} needs your hold on {environment}, so nobody applies "
                "meanwhile.",
                hint=f'Run `signalbox hold {environment} --reason "restore {key.name}"` first.',
            )
        source, head = _restorable(repo, state, serial)
        version = TfStateVersionRow(
            state_id=state.id,
            serial=max(head.serial, source.serial) + 1,
            lineage=source.lineage,
            md5="",
            size=0,
            author=principal.name,
            author_is_ci=principal.is_ci,
            at=now,
            deleted=False,
            segments=0,
            fencing_token=hold.fencing_token,
            restored_from=serial,
        )
        _copy_body(store, repo, source, version)
        restored = StateRestored(
            state=key.name,
            serial=version.serial,
            restored_from=serial,
            fencing_token=hold.fencing_token,
        )
        emit(uow, restored, environment=environment, actor=principal.name, now=now)
        return VersionInfo.of(version, state)


def _restorable(
    repo: TfStateRepository, state: TfStateRow, serial: int
) -> tuple[TfStateVersionRow, TfStateVersionRow]:
    """(the version to restore, the newest version), or the error saying why not."""
    key = state_key(state)
    lock = repo.lock(state)
    if lock is not None:
        raise StateRefused(
            f"{key.label} is locked by {lock.owner} (a Terraform run).",
            hint="Wait for it to finish, or force-unlock it first.",
        )
    source, head = repo.by_serial(state, serial), repo.head(state)
    if source is None or head is None:
        raise _unknown(key, serial)
    if source.pruned_at is not None:
        raise InvalidInput(
            f"The body of serial {serial} was pruned (state_retention).",
            hint=f"Pick a newer serial: `signalbox state versions {key.environment} {key.name}`.",
        )
    return source, head


def _copy_body(
    store: StateStore,
    repo: TfStateRepository,
    source: TfStateVersionRow,
    version: TfStateVersionRow,
) -> None:
    """Store ``source``'s body as ``version``'s, with its top-level serial rewritten."""
    digest, size = hashlib.md5(usedforsecurity=False), 0

    def counted() -> Iterator[bytes]:
        nonlocal size
        for piece in rewrite_serial(_body(store, repo, source), version.serial):
            digest.update(piece)
            size += len(piece)
            yield piece

    store_body(repo, store.keyring, version, counted())
    version.md5, version.size = digest.hexdigest(), size


def rotate_keys(store: StateStore, *, now: datetime, batch: int = 10) -> int:
    """Re-encrypt every stored body not under the first key; returns how many. Each version
    is re-encrypted in its own transaction, segment by segment."""
    primary = store.keyring.primary
    if primary is None:
        raise InvalidInput(
            "No state key is configured, so there is nothing to rotate to.",
            hint="Set state_keys (create a key with `signalbox state new-key`).",
        )
    done = 0
    while True:
        # a damaged body rolls this batch back, then is recorded
        with integrity_recorded(store, now=now), UnitOfWork(store.engine) as uow:
            repo = TfStateRepository(uow.session)
            rows = repo.to_reencrypt(primary.id, limit=batch)
            for row in rows:
                _reencrypt(store, repo, row)
            done += len(rows)
        if len(rows) < batch:
            break
    if done:
        with UnitOfWork(store.engine) as uow:
            rotated = StateKeysRotated(key_id=primary.id, versions=done)
            emit(uow, rotated, environment=None, actor="signalbox", now=now)
    return done


def _reencrypt(store: StateStore, repo: TfStateRepository, row: TfStateVersionRow) -> None:
    primary = store.keyring.primary
    assert primary is not None
    blob_id = row.blob_id
    if row.segments == 0 or blob_id is None:
        return
    stream_id = os.urandom(16)
    last = row.segments - 1
    for seq, plain in enumerate(_body(store, repo, row)):
        repo.replace_segment(
            blob_id, seq, seal_segment(primary, stream_id, seq, seq == last, plain)
        )
    row.key_id, row.stream_id = primary.id, stream_id

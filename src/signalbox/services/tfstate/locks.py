"""Terraform's LOCK and UNLOCK of a state, decided by ``core.tfstate`` in one transaction."""

from __future__ import annotations

from datetime import datetime

from signalbox.core.errors import InvalidInput
from signalbox.core.events import StateForceUnlocked, StateLocked, StateUnlocked
from signalbox.core.tfstate import (
    Accepted,
    LockInfo,
    Refusal,
    StateKey,
    decide_lock,
    decide_unlock,
    parse_lock_info,
)
from signalbox.core.views import Principal
from signalbox.services.events import emit
from signalbox.services.tfstate.store import StateStore, load_facts, open_state, record_refusal
from signalbox.storage.repositories.tfstate import terraform_lock
from signalbox.storage.uow import UnitOfWork

__all__ = ["lock_state", "unlock_state"]


def _lock_info(body: bytes) -> LockInfo | None:
    try:
        return parse_lock_info(body)
    except ValueError as error:
        raise InvalidInput(
            f"The body is not Terraform's lock JSON: {error}.",
            hint="Send the lock info (ID, Operation, Who, ...) as Terraform does.",
        ) from None


def lock_state(
    store: StateStore,
    *,
    principal: Principal,
    key: StateKey,
    body: bytes,
    now: datetime,
) -> Accepted | Refusal:
    """Terraform's LOCK of the state ``key``; ``body`` is the lock JSON (InvalidInput when it
    is not one)."""
    request = _lock_info(body)
    if request is None or not request.id:
        raise InvalidInput(
            "A LOCK needs Terraform's lock JSON with an ID.",
            hint="Send the lock info as the body, as Terraform does.",
        )
    with UnitOfWork(store.engine) as uow:
        env, repo, state = open_state(uow, key, now=now)
        now = uow.now(now)  # read after the environment's lock
        lock_row = repo.lock(state)
        current = terraform_lock(lock_row, state) if lock_row is not None else None
        facts = load_facts(uow, store.settings, env, now)
        decision = decide_lock(
            request, requester=principal, current=current, facts=facts, key=key, now=now
        )
        if isinstance(decision, Refusal):
            return record_refusal(uow, decision, who=principal, what="lock", key=key, now=now)
        if not decision.unchanged:
            repo.put_lock(state, request, owner=principal, now=now)
            locked = StateLocked(
                state=key.name, lock_id=request.id, operation=request.operation, who=request.who
            )
            emit(uow, locked, environment=key.environment, actor=principal.name, now=now)
        return decision


def unlock_state(
    store: StateStore,
    *,
    principal: Principal,
    is_admin: bool,
    key: StateKey,
    body: bytes,
    now: datetime,
) -> Accepted | Refusal:
    """Terraform's UNLOCK of the state ``key``; an empty ``body`` is ``terraform
    force-unlock`` (refused, saying what is true, when no Terraform run holds the lock)."""
    request = _lock_info(body)
    with UnitOfWork(store.engine) as uow:
        env, repo, state = open_state(uow, key, now=now)
        now = uow.now(now)  # read after the environment's lock
        lock_row = repo.lock(state)
        current = terraform_lock(lock_row, state) if lock_row is not None else None
        decision = decide_unlock(
            request,
            requester=principal,
            requester_is_admin=is_admin,
            current=current,
            facts=load_facts(uow, store.settings, env, now),
            key=key,
            now=now,
        )
        if isinstance(decision, Refusal):
            return record_refusal(uow, decision, who=principal, what="unlock", key=key, now=now)
        if current is not None:
            repo.remove_lock(state)
            unlocked = (StateForceUnlocked if decision.forced else StateUnlocked)(
                state=key.name, lock_id=current.info.id, owner=current.owner.name
            )
            emit(uow, unlocked, environment=key.environment, actor=principal.name, now=now)
        return decision

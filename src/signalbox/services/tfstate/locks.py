"""Terraform's LOCK and UNLOCK of a state, decided by ``core.tfstate`` in one transaction."""

from __future__ import annotations

from datetime import datetime

from signalbox.core.errors import InvalidInput
from signalbox.core.tfstate import (
    Accepted,
    LockInfo,
    Refusal,
    decide_lock,
    decide_unlock,
    parse_lock_info,
)
from signalbox.core.views import Principal
from signalbox.services.events import record_event
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
    environment: str,
    name: str,
    body: bytes,
    now: datetime,
) -> Accepted | Refusal:
    """Terraform's LOCK; ``body`` is the lock JSON (InvalidInput when it is not one)."""
    request = _lock_info(body)
    if request is None or not request.id:
        raise InvalidInput(
            "A LOCK needs Terraform's lock JSON with an ID.",
            hint="Send the lock info as the body, as Terraform does.",
        )
    path = f"{environment}/{name}"
    with UnitOfWork(store.engine) as uow:
        env, repo, state = open_state(uow, environment, name, now=now)
        lock_row = repo.lock(state)
        current = terraform_lock(lock_row, state) if lock_row is not None else None
        facts = load_facts(uow, store.settings, env, now)
        decision = decide_lock(
            request, requester=principal, current=current, facts=facts, path=path, now=now
        )
        if isinstance(decision, Refusal):
            return record_refusal(
                uow,
                decision,
                who=principal,
                what="lock",
                path=path,
                environment=environment,
                now=now,
            )
        if not decision.unchanged:
            repo.put_lock(state, request, owner=principal, now=now)
            record_event(
                uow,
                environment=environment,
                actor=principal.name,
                kind="state.locked",
                message=f"{principal.name} locked {path} for "
                f"{request.operation or 'Terraform'} ({request.who or 'unknown host'}).",
                now=now,
                data={"state": path, "lock_id": request.id, "operation": request.operation},
            )
        return decision


def unlock_state(
    store: StateStore,
    *,
    principal: Principal,
    is_admin: bool,
    environment: str,
    name: str,
    body: bytes,
    now: datetime,
) -> Accepted | Refusal:
    """Terraform's UNLOCK; an empty ``body`` is ``terraform force-unlock``."""
    request = _lock_info(body)
    path = f"{environment}/{name}"
    with UnitOfWork(store.engine) as uow:
        _, repo, state = open_state(uow, environment, name, now=now)
        lock_row = repo.lock(state)
        current = terraform_lock(lock_row, state) if lock_row is not None else None
        decision = decide_unlock(
            request, requester=principal, requester_is_admin=is_admin, current=current
        )
        if isinstance(decision, Refusal):
            return record_refusal(
                uow,
                decision,
                who=principal,
                what="unlock",
                path=path,
                environment=environment,
                now=now,
            )
        if current is not None:
            repo.remove_lock(state)
            forced = " (force-unlock)" if decision.forced else ""
            record_event(
                uow,
                environment=environment,
                actor=principal.name,
                kind="state.force-unlocked" if decision.forced else "state.unlocked",
                message=f"{principal.name} unlocked {path}{forced}; the lock was "
                f"{current.owner.name}'s.",
                now=now,
                data={"state": path, "lock_id": current.info.id, "owner": current.owner.name},
            )
        return decision

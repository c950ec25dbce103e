"""The three decisions of the Terraform state backend: LOCK, write, UNLOCK.

Each is one pure function of (what is stored, the request, ``now``) returning ``Accepted``
or a ``Refusal`` value. The service reads the facts, asks, and persists in one transaction.

LOCK, checked in this order:
1. another Terraform lock is stored -> refused (``locked``); the same lock id from the same
   principal again (a retried request) is accepted as ``unchanged``;
2. the environment has a live hold by someone else -> refused (``held``), plans included:
   a hold is a wall for every Terraform run against the environment;
3. only for locks whose operation can change the state (everything but
   ``OperationTypePlan``; ``OperationTypeRefresh`` writes the refreshed state, and unknown or
   missing operations count as changes): frozen by an incident and the requester does not
   hold the environment -> refused (``frozen``); now inside a reservation or freeze window
   -> refused (``reserved``). Plans pass here: nothing can change.

Write (POST/PUT), checked in this order: Content-MD5 does not match the body (a missing
header is accepted: Terraform always sends it, other clients may not); the body is not a
state (not one JSON object, something after it, a top-level key twice, no whole-number
serial or no lineage: ``statehead.read_whole_state_head``, so a cut body is refused without
Content-MD5 too); the state is locked and the ``?ID=`` is missing (``-lock=false``)
or is not the lock's id, or the writer is not the lock's owner; the state is not locked but
an ``?ID=`` is given (the lock was force-unlocked meanwhile); the environment is held by
someone else (except for a run that took its lock before the hold began: it may still save
what it has already changed, and its next run meets the hold at LOCK); the lineage differs
from the stored one; the serial is lower than the stored one, or equal with different
content. The same body again (equal serial and MD5) is
accepted as ``unchanged``.

UNLOCK: nothing locked -> a run's UNLOCK (with its lock JSON) is accepted as ``unchanged``
(its lock was released meanwhile), but ``terraform force-unlock`` (an empty body) is refused
with what is true: the environment is held (``held``: a hold is not a Terraform lock, and
force-unlock cannot end it; the refusal names the holder and the signalbox command that
can) or nothing is locked (``not-locked``); a lock JSON whose ID is not the stored lock's ->
refused; otherwise the lock's owner or an admin may unlock, with the lock JSON or with an
empty body (``terraform force-unlock``).
"""

from __future__ import annotations

from datetime import datetime

from signalbox.core.tfstate.lockinfo import LockInfo
from signalbox.core.tfstate.model import (
    Accepted,
    EnvironmentFacts,
    Refusal,
    RefusalCause,
    StateHead,
    StateKey,
    TerraformLock,
    WriteRequest,
)
from signalbox.core.tfstate.refusals import (
    frozen_refusal,
    held_refusal,
    locked_refusal,
    not_locked_refusal,
    reserved_refusal,
)
from signalbox.core.views import HoldView, Principal

__all__ = [
    "decide_delete",
    "decide_lock",
    "decide_unlock",
    "decide_write",
    "live_hold",
]


def live_hold(hold: HoldView | None, now: datetime) -> HoldView | None:
    """The hold if its lease has not lapsed."""
    return hold if hold is not None and hold.until > now else None


def _held_by_other(facts: EnvironmentFacts, who: Principal, now: datetime) -> HoldView | None:
    hold = live_hold(facts.hold, now)
    return hold if hold is not None and hold.owner.name != who.name else None


def decide_lock(
    request: LockInfo,
    *,
    requester: Principal,
    current: TerraformLock | None,
    facts: EnvironmentFacts,
    key: StateKey,
    now: datetime,
) -> Accepted | Refusal:
    """May ``requester`` take the Terraform lock of the state ``key``? (see module doc)"""
    tz = facts.timezone
    if current is not None:
        if current.info.id == request.id and current.owner.name == requester.name:
            return Accepted(unchanged=True)
        return locked_refusal(current, key=key, now=now, tz=tz)
    other = _held_by_other(facts, requester, now)
    if other is not None:
        return held_refusal(other, key=key, now=now, tz=tz)
    if request.read_only:
        return Accepted()
    if facts.frozen and live_hold(facts.hold, now) is None:
        return frozen_refusal(facts.frozen_reason, key=key)
    for window in facts.reservations:
        if window.starts <= now < window.ends:
            return reserved_refusal(window, key=key, now=now, tz=tz)
    return Accepted()


def _lock_refusal(
    lock_id: str | None, writer: Principal, current: TerraformLock | None
) -> Refusal | None:
    if current is None:
        if lock_id:
            return Refusal(
                RefusalCause.LOCK_MISMATCH,
                f"The write names lock {lock_id}, but the state is not locked: the lock was "
                "released or force-unlocked while Terraform ran. Nothing was stored; run "
                "Terraform again.",
            )
        return None
    owner = current.owner.name
    if not lock_id:
        return Refusal(
            RefusalCause.LOCK_MISMATCH,
            f"The state is locked by {owner} ({current.info.operation or 'Terraform'}), and "
            "this write has no lock id (-lock=false?). Nothing was stored; wait for the lock "
            "to be released and run Terraform with locking on.",
            whom=owner,
        )
    if lock_id != current.info.id or writer.name != owner:
        return Refusal(
            RefusalCause.LOCK_MISMATCH,
            f"The state is locked by {owner} with another lock id than {lock_id}. Nothing "
            f"was stored; ask {owner}, or wait for the lock to be released.",
            whom=owner,
        )
    return None


def _history_refusal(
    head: StateHead, md5: bytes, stored: StateHead | None, stored_md5: bytes | None
) -> Refusal | Accepted | None:
    if stored is None:
        return None
    if head.lineage != stored.lineage:
        return Refusal(
            RefusalCause.LINEAGE,
            f"The state's lineage {head.lineage!r} differs from the stored {stored.lineage!r}: "
            "it belongs to another state. Nothing was stored; check the backend address, or "
            "restore a version with `signalbox state restore`.",
        )
    if head.serial < stored.serial or (head.serial == stored.serial and md5 != stored_md5):
        return Refusal(
            RefusalCause.SERIAL,
            f"The state's serial {head.serial} does not follow the stored serial "
            f"{stored.serial}: it was written from an older copy. Nothing was stored; run "
            "`terraform plan` again to start from the stored state.",
        )
    if head.serial == stored.serial:
        return Accepted(unchanged=True)
    return None


def _own_token(facts: EnvironmentFacts, who: Principal, now: datetime) -> int | None:
    """The fencing token of ``who``'s live hold, recorded with the version it writes."""
    hold = live_hold(facts.hold, now)
    return hold.fencing_token if hold is not None and hold.owner.name == who.name else None


def _in_flight(lock: TerraformLock | None, request: WriteRequest, hold: HoldView) -> bool:
    """The write belongs to a Terraform run that locked the state before the hold began
    (its own lock, by its id): it may still save what it has already changed."""
    return (
        lock is not None
        and request.lock_id == lock.info.id
        and request.writer.name == lock.owner.name
        and lock.created < hold.since
    )


def decide_write(
    request: WriteRequest,
    *,
    current_lock: TerraformLock | None,
    facts: EnvironmentFacts,
    stored: StateHead | None,
    stored_md5: bytes | None,
    key: StateKey,
    now: datetime,
) -> Accepted | Refusal:
    """May this body replace the stored state ``key``? (see module doc)"""
    if request.declared_md5 is not None and request.declared_md5 != request.actual_md5:
        return Refusal(
            RefusalCause.CHECKSUM,
            "The body does not match its Content-MD5 header: it was damaged on the way. "
            "Nothing was stored; run Terraform again.",
        )
    if request.head is None:
        why = request.head_problem or "no top-level lineage and serial"
        return Refusal(
            RefusalCause.NOT_A_STATE,
            f"The body is not a Terraform state: {why}. Nothing was stored; send the whole "
            "state, as Terraform writes it.",
        )
    refusal = _lock_refusal(request.lock_id, request.writer, current_lock)
    if refusal is not None:
        return refusal
    other = _held_by_other(facts, request.writer, now)
    if other is not None and not _in_flight(current_lock, request, other):
        return held_refusal(other, key=key, now=now, tz=facts.timezone)
    history = _history_refusal(request.head, request.actual_md5, stored, stored_md5)
    if history is not None:
        return history
    return Accepted(fencing_token=_own_token(facts, request.writer, now))


def decide_delete(
    *,
    deleter: Principal,
    lock_id: str | None,
    current_lock: TerraformLock | None,
    facts: EnvironmentFacts,
    key: StateKey,
    now: datetime,
) -> Accepted | Refusal:
    """May ``deleter`` delete the state? The lock and hold rules of a write apply."""
    refusal = _lock_refusal(lock_id, deleter, current_lock)
    if refusal is not None:
        return refusal
    other = _held_by_other(facts, deleter, now)
    if other is not None:
        return held_refusal(other, key=key, now=now, tz=facts.timezone)
    return Accepted(fencing_token=_own_token(facts, deleter, now))


def decide_unlock(
    request: LockInfo | None,
    *,
    requester: Principal,
    requester_is_admin: bool,
    current: TerraformLock | None,
    facts: EnvironmentFacts,
    key: StateKey,
    now: datetime,
) -> Accepted | Refusal:
    """May ``requester`` remove the stored lock? ``request`` None is a force-unlock."""
    if current is None and request is None:
        hold = live_hold(facts.hold, now)
        return not_locked_refusal(hold, requester, key=key, now=now, tz=facts.timezone)
    if current is None:
        return Accepted(unchanged=True)
    owner = current.owner.name
    if request is not None and request.id != current.info.id:
        return Refusal(
            RefusalCause.NOT_OWNER,
            f"The state is locked by {owner} with another lock: this UNLOCK's lock id "
            f"{request.id} is not the current one. Nothing was changed.",
            whom=owner,
        )
    if requester.name != owner and not requester_is_admin:
        return Refusal(
            RefusalCause.NOT_OWNER,
            f"The lock belongs to {owner}; only {owner} or an admin may unlock it. Ask "
            f"{owner}, or an admin to run `terraform force-unlock`.",
            whom=owner,
        )
    return Accepted(forced=request is None)

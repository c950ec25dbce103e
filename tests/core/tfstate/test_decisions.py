from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.core.tfstate.builders import (
    ADMIN,
    CI,
    ENGINEER,
    KEY,
    NOW,
    demo,
    facts,
    hold,
    tf_lock,
)

from signalbox.core.tfstate import (
    Accepted,
    LockInfo,
    Refusal,
    RefusalCause,
    StateHead,
    WriteRequest,
    decide_delete,
    decide_lock,
    decide_unlock,
    decide_write,
)
from signalbox.core.views import HoldKind, Principal

APPLY = LockInfo(id="lock-2", operation="OperationTypeApply", who="runner@ci")
PLAN = LockInfo(id="lock-3", operation="OperationTypePlan", who="runner@ci")
MD5 = b"\x01" * 16


def lock(request: LockInfo = APPLY, **kw: object) -> Accepted | Refusal:
    kw.setdefault("requester", CI)
    kw.setdefault("current", None)
    kw.setdefault("facts", facts())
    return decide_lock(request, key=KEY, now=NOW, **kw)  # type: ignore[arg-type]


def write(**kw: object) -> Accepted | Refusal:
    request = WriteRequest(
        writer=kw.pop("writer", CI),  # type: ignore[arg-type]
        lock_id=kw.pop("lock_id", None),  # type: ignore[arg-type]
        declared_md5=kw.pop("declared", MD5),  # type: ignore[arg-type]
        actual_md5=MD5,
        head=kw.pop("head", StateHead("lin-a", 5)),  # type: ignore[arg-type]
    )
    kw.setdefault("current_lock", None)
    kw.setdefault("facts", facts())
    kw.setdefault("stored", StateHead("lin-a", 4))
    kw.setdefault("stored_md5", b"\x02" * 16)
    return decide_write(request, key=KEY, now=NOW, **kw)  # type: ignore[arg-type]


# LOCK -------------------------------------------------------------------------------------


def test_a_free_state_is_locked() -> None:
    assert lock() == Accepted()


def test_another_live_lock_refuses_and_names_its_owner() -> None:
    refused = lock(requester=ENGINEER, current=tf_lock(CI))
    assert isinstance(refused, Refusal) and refused.cause is RefusalCause.LOCKED
    assert refused.whom == "ci-dev"
    assert refused.lock_body is not None
    assert refused.lock_body.id.startswith("locked by ci-dev: OperationTypeApply since 14:41")
    assert "lock-1" in refused.lock_body.id and "force-unlock" in refused.lock_body.id
    assert "terraform force-unlock lock-1" in refused.lock_body.info


def test_same_lock_again_from_the_same_principal_is_a_retry() -> None:
    assert lock(current=tf_lock(CI, "lock-2")) == Accepted(unchanged=True)


def test_same_principal_with_a_new_lock_id_is_refused() -> None:
    assert isinstance(lock(current=tf_lock(CI, "lock-1")), Refusal)


def test_a_plan_is_refused_while_someone_else_holds() -> None:
    refused = lock(PLAN, facts=facts(hold=hold(ENGINEER)))
    assert isinstance(refused, Refusal) and refused.cause is RefusalCause.HELD
    assert refused.lock_body is not None
    assert refused.lock_body.id == (
        "held by platform-eng: renaming cognito pool (until 17:00) - signalbox release dev"
    )
    assert "Ask platform-eng" in refused.lock_body.info
    assert refused.lock_body.who == "platform-eng"


def test_the_hold_message_uses_the_environment_time_zone() -> None:
    berlin = facts(hold=hold(ENGINEER), timezone=ZoneInfo("Europe/Berlin"))
    refused = lock(facts=berlin)
    assert isinstance(refused, Refusal) and refused.lock_body is not None
    assert "(until 18:00)" in refused.lock_body.id and "CET" in refused.lock_body.info


def test_the_holder_itself_may_lock() -> None:
    assert lock(requester=ENGINEER, facts=facts(hold=hold(ENGINEER))) == Accepted()


def test_a_lapsed_hold_does_not_refuse() -> None:
    assert lock(facts=facts(hold=hold(ENGINEER, until=NOW))) == Accepted()


def test_an_apply_inside_a_reservation_is_refused_but_a_plan_passes() -> None:
    window = demo(NOW - timedelta(minutes=10), NOW + timedelta(minutes=50))
    refused = lock(facts=facts(reservations=(window,)))
    assert isinstance(refused, Refusal) and refused.cause is RefusalCause.RESERVED
    assert refused.lock_body is not None
    assert (
        refused.lock_body.id == "reserved by coo for investor demo (14:34-15:34) - apply "
        "after 15:34"
    )
    assert lock(PLAN, facts=facts(reservations=(window,))) == Accepted()


def test_a_reservation_that_has_not_started_does_not_refuse_the_lock() -> None:
    window = demo(NOW + timedelta(minutes=1), NOW + timedelta(minutes=50))
    assert lock(facts=facts(reservations=(window,))) == Accepted()


def test_refresh_counts_as_a_change() -> None:
    window = demo(NOW - timedelta(minutes=10), NOW + timedelta(minutes=50))
    refresh = LockInfo(id="r", operation="OperationTypeRefresh")
    assert isinstance(lock(refresh, facts=facts(reservations=(window,))), Refusal)


def test_frozen_refuses_applies_from_those_who_do_not_hold() -> None:
    frozen = facts(frozen=True, frozen_reason="incident 3: users cannot log in")
    refused = lock(facts=frozen)
    assert isinstance(refused, Refusal) and refused.cause is RefusalCause.FROZEN
    assert refused.lock_body is not None and "incident 3" in refused.lock_body.id
    assert lock(PLAN, facts=frozen) == Accepted()
    hotfix = facts(frozen=True, hold=hold(CI, kind=HoldKind.DEPLOY, deploy_id=9))
    assert lock(facts=hotfix) == Accepted()


def test_a_deploy_hold_names_the_deploy_when_it_has_no_reason() -> None:
    deploy_hold = hold(CI, kind=HoldKind.DEPLOY, deploy_id=123)
    refused = lock(requester=ENGINEER, facts=facts(hold=deploy_hold))
    assert isinstance(refused, Refusal) and refused.lock_body is not None
    assert refused.lock_body.operation == "signalbox deploy hold"


# WRITE ------------------------------------------------------------------------------------


def test_a_following_serial_is_accepted_with_the_writers_fencing_token() -> None:
    assert write() == Accepted()
    assert write(writer=ENGINEER, facts=facts(hold=hold(ENGINEER, token=9))) == Accepted(
        fencing_token=9
    )


def test_the_first_write_is_accepted() -> None:
    assert write(stored=None, stored_md5=None) == Accepted()


def test_a_checksum_mismatch_is_refused_first() -> None:
    refused = write(declared=b"\x00" * 16, head=StateHead("other", 1))
    assert isinstance(refused, Refusal) and refused.cause is RefusalCause.CHECKSUM


def test_a_missing_checksum_is_accepted() -> None:
    assert write(declared=None) == Accepted()


def test_a_body_that_is_not_a_state_is_refused() -> None:
    refused = write(head=None)
    assert isinstance(refused, Refusal) and refused.cause is RefusalCause.NOT_A_STATE


@pytest.mark.parametrize("lock_id", [None, "", "lock-9"])
def test_a_locked_state_refuses_writes_without_its_lock_id(lock_id: str | None) -> None:
    refused = write(writer=ENGINEER, lock_id=lock_id, current_lock=tf_lock(CI))
    assert isinstance(refused, Refusal) and refused.cause is RefusalCause.LOCK_MISMATCH
    assert refused.whom == "ci-dev"


def test_the_lock_id_from_another_principal_is_refused() -> None:
    refused = write(writer=ENGINEER, lock_id="lock-1", current_lock=tf_lock(CI))
    assert isinstance(refused, Refusal) and refused.cause is RefusalCause.LOCK_MISMATCH


def test_the_lock_owner_with_its_id_writes() -> None:
    assert write(lock_id="lock-1", current_lock=tf_lock(CI)) == Accepted()


def test_a_lock_id_for_an_unlocked_state_is_refused() -> None:
    refused = write(lock_id="lock-1")
    assert isinstance(refused, Refusal) and "force-unlocked" in refused.message


def test_a_write_by_someone_else_while_held_is_refused() -> None:
    refused = write(facts=facts(hold=hold(ENGINEER)))
    assert isinstance(refused, Refusal) and refused.cause is RefusalCause.HELD
    assert "platform-eng" in refused.message


def test_another_lineage_is_refused() -> None:
    refused = write(head=StateHead("lin-b", 9))
    assert isinstance(refused, Refusal) and refused.cause is RefusalCause.LINEAGE


def test_a_serial_going_backwards_is_refused() -> None:
    refused = write(head=StateHead("lin-a", 3))
    assert isinstance(refused, Refusal) and refused.cause is RefusalCause.SERIAL


def test_the_same_serial_is_a_retry_only_with_the_same_body() -> None:
    assert write(head=StateHead("lin-a", 4), stored_md5=MD5) == Accepted(unchanged=True)
    refused = write(head=StateHead("lin-a", 4))
    assert isinstance(refused, Refusal) and refused.cause is RefusalCause.SERIAL


@given(stored=st.integers(0, 10**6), serial=st.integers(0, 10**6))
def test_serial_property(stored: int, serial: int) -> None:
    outcome = write(head=StateHead("lin-a", serial), stored=StateHead("lin-a", stored))
    assert isinstance(outcome, Accepted) == (serial > stored)


def test_delete_follows_the_lock_and_hold_rules() -> None:
    assert (
        decide_delete(deleter=CI, lock_id=None, current_lock=None, facts=facts(), key=KEY, now=NOW)
        == Accepted()
    )
    held = decide_delete(
        deleter=CI,
        lock_id=None,
        current_lock=None,
        facts=facts(hold=hold(ENGINEER)),
        key=KEY,
        now=NOW,
    )
    assert isinstance(held, Refusal) and held.cause is RefusalCause.HELD
    locked = decide_delete(
        deleter=ENGINEER, lock_id=None, current_lock=tf_lock(CI), facts=facts(), key=KEY, now=NOW
    )
    assert isinstance(locked, Refusal) and locked.cause is RefusalCause.LOCK_MISMATCH


# UNLOCK -----------------------------------------------------------------------------------


def unlock(
    request: LockInfo | None,
    requester: Principal,
    admin: bool = False,
    current_owner: Principal | None = CI,
    held_by: Principal | None = None,
) -> Accepted | Refusal:
    current = tf_lock(current_owner) if current_owner else None
    return decide_unlock(
        request,
        requester=requester,
        requester_is_admin=admin,
        current=current,
        facts=facts(hold=hold(held_by)) if held_by else facts(),
        key=KEY,
        now=NOW,
    )


def test_the_owner_unlocks_with_its_lock_json() -> None:
    assert unlock(LockInfo(id="lock-1"), CI) == Accepted()


def test_force_unlock_by_the_owner_or_an_admin() -> None:
    assert unlock(None, CI) == Accepted(forced=True)
    assert unlock(None, ADMIN, admin=True) == Accepted(forced=True)


def test_force_unlock_by_a_stranger_is_refused() -> None:
    refused = unlock(None, ENGINEER)
    assert isinstance(refused, Refusal) and refused.cause is RefusalCause.NOT_OWNER
    assert "ci-dev" in refused.message


def test_an_unlock_with_another_lock_id_is_refused_even_for_an_admin() -> None:
    assert isinstance(unlock(LockInfo(id="lock-9"), ADMIN, admin=True), Refusal)


def test_a_stranger_with_the_right_lock_id_is_refused() -> None:
    assert isinstance(unlock(LockInfo(id="lock-1"), ENGINEER), Refusal)


def test_a_runs_unlock_of_a_lock_already_released_is_a_no_op() -> None:
    assert unlock(LockInfo(id="lock-1"), ENGINEER, current_owner=None) == Accepted(unchanged=True)
    held = unlock(LockInfo(id="lock-1"), ENGINEER, current_owner=None, held_by=CI)
    assert held == Accepted(unchanged=True)


def test_force_unlock_of_a_held_environment_says_it_is_a_hold_and_who_ends_it() -> None:
    refused = unlock(None, ADMIN, admin=True, current_owner=None, held_by=ENGINEER)
    assert isinstance(refused, Refusal) and refused.cause is RefusalCause.HELD
    assert refused.message.startswith(
        "dev is held by platform-eng (renaming cognito pool, until 17:00 UTC), not locked by "
        "Terraform: `terraform force-unlock` cannot end a hold, and nothing was changed."
    )
    assert '`signalbox force-release dev --reason "..."`' in refused.message
    assert refused.whom == "platform-eng"


def test_force_unlock_by_the_holder_points_to_release() -> None:
    refused = unlock(None, ENGINEER, current_owner=None, held_by=ENGINEER)
    assert isinstance(refused, Refusal) and refused.cause is RefusalCause.HELD
    assert refused.message.endswith("End your hold with `signalbox release dev`.")


def test_force_unlock_of_a_state_nobody_locked_says_there_is_nothing_to_unlock() -> None:
    refused = unlock(None, ADMIN, admin=True, current_owner=None)
    assert isinstance(refused, Refusal) and refused.cause is RefusalCause.NOT_LOCKED
    assert refused.message == (
        "dev/network is not locked by Terraform and dev is not held: there is nothing to "
        "unlock, and nothing was changed."
    )


def test_a_run_that_locked_before_the_hold_may_still_save() -> None:
    early = tf_lock(CI)  # created 3 minutes before NOW
    later_hold = replace(hold(ENGINEER), since=NOW - timedelta(minutes=1))
    saved = write(lock_id="lock-1", current_lock=early, facts=facts(hold=later_hold))
    assert saved == Accepted()
    earlier_hold = hold(ENGINEER)  # since 12:00, before the lock
    refused = write(lock_id="lock-1", current_lock=early, facts=facts(hold=earlier_hold))
    assert isinstance(refused, Refusal) and refused.cause is RefusalCause.HELD
    no_lock_id = write(lock_id=None, facts=facts(hold=later_hold))
    assert isinstance(no_lock_id, Refusal) and no_lock_id.cause is RefusalCause.HELD

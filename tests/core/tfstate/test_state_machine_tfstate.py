"""Random sequences of LOCK, UNLOCK, writes, holds and a moving clock against the state rules.

Invariants after every step: the stored serial never goes back and the lineage never changes;
a write is accepted only from the lock's owner with its id while the state is locked, and
never from someone else while the environment is held (but for a run that locked the state
before the hold began); a new lock is granted only when the
state is free and nobody else holds the environment (the owner's retry of its own lock is
answered as granted); only the owner or an admin removes a lock.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from tests.core.tfstate.builders import NOW

from signalbox.core.tfstate import (
    Accepted,
    EnvironmentFacts,
    LockInfo,
    StateHead,
    StateKey,
    TerraformLock,
    WriteRequest,
    decide_lock,
    decide_unlock,
    decide_write,
    live_hold,
)
from signalbox.core.views import HoldKind, HoldView, Principal

MAIN = StateKey("dev", "main")

PEOPLE = [Principal("alice", False), Principal("bob", False), Principal("ci", True)]
who = st.sampled_from(PEOPLE)
OPERATIONS = st.sampled_from(["OperationTypePlan", "OperationTypeApply", "OperationTypeRefresh"])


class StateRules(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = NOW
        self.lock: TerraformLock | None = None
        self.hold: HoldView | None = None
        self.stored: StateHead | None = None
        self.stored_md5: bytes | None = None
        self.token = 0
        self.lock_ids = 0
        self.highest_serial = -1

    def facts(self) -> EnvironmentFacts:
        return EnvironmentFacts(name="dev", hold=self.hold)

    def other_holds(self, person: Principal) -> bool:
        live = live_hold(self.hold, self.now)
        return live is not None and live.owner.name != person.name

    @rule(minutes=st.integers(1, 120))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule(person=who, minutes=st.integers(1, 240))
    def hold_environment(self, person: Principal, minutes: int) -> None:
        if self.other_holds(person):
            return  # the hold rule (core.holds) refuses; tested there
        self.token += 1
        self.hold = HoldView(
            "dev",
            person,
            HoldKind.WORK,
            "work",
            self.now,
            self.now + timedelta(minutes=minutes),
            self.token,
        )

    @rule(person=who, operation=OPERATIONS, reuse=st.booleans())
    def lock_state(self, person: Principal, operation: str, reuse: bool) -> None:
        if reuse and self.lock is not None:
            lock_id = self.lock.info.id
        else:
            self.lock_ids += 1
            lock_id = f"lock-{self.lock_ids}"
        request = LockInfo(id=lock_id, operation=operation)
        decision = decide_lock(
            request,
            requester=person,
            current=self.lock,
            facts=self.facts(),
            key=MAIN,
            now=self.now,
        )
        if isinstance(decision, Accepted):
            if self.lock is not None:  # a retry of the lock it already has (even if held since)
                assert decision.unchanged and self.lock.owner == person
                assert self.lock.info.id == lock_id
            else:
                assert not self.other_holds(person)
                self.lock = TerraformLock(MAIN, request, person, self.now)
        else:
            assert self.lock is not None or self.other_holds(person)

    @rule(person=who, with_id=st.booleans(), admin=st.booleans())
    def unlock_state(self, person: Principal, with_id: bool, admin: bool) -> None:
        request = LockInfo(id=self.lock.info.id) if with_id and self.lock else None
        decision = decide_unlock(
            request,
            requester=person,
            requester_is_admin=admin,
            current=self.lock,
            facts=self.facts(),
            key=MAIN,
            now=self.now,
        )
        if isinstance(decision, Accepted):
            if self.lock is not None:
                assert admin or self.lock.owner.name == person.name
            self.lock = None
        elif self.lock is None:  # a force-unlock of nothing is told, never done
            assert request is None
        else:
            assert not admin and self.lock.owner.name != person.name

    @rule(
        person=who,
        use_lock=st.booleans(),
        step=st.integers(-2, 3),
        lineage=st.sampled_from(["L", "L", "L", "other"]),
    )
    def write_state(self, person: Principal, use_lock: bool, step: int, lineage: str) -> None:
        serial = max(0, (self.stored.serial if self.stored else 0) + step)
        md5 = f"{lineage}{serial}".encode().ljust(16, b".")[:16]
        lock_id = self.lock.info.id if use_lock and self.lock else None
        request = WriteRequest(person, lock_id, md5, md5, StateHead(lineage, serial))
        decision = decide_write(
            request,
            current_lock=self.lock,
            facts=self.facts(),
            stored=self.stored,
            stored_md5=self.stored_md5,
            key=MAIN,
            now=self.now,
        )
        if not isinstance(decision, Accepted):
            return
        if self.other_holds(person):  # only a run that locked before the hold began
            assert self.lock is not None and self.hold is not None
            assert self.lock.created < self.hold.since
        if self.lock is not None:
            assert self.lock.owner.name == person.name and lock_id == self.lock.info.id
        if self.stored is not None:
            assert lineage == self.stored.lineage and serial >= self.stored.serial
        if not decision.unchanged:
            self.stored, self.stored_md5 = StateHead(lineage, serial), md5

    @invariant()
    def serial_never_goes_back_and_lineage_never_changes(self) -> None:
        if self.stored is None:
            return
        assert self.stored.serial >= self.highest_serial
        self.highest_serial = self.stored.serial
        assert self.stored.lineage in ("L", "other")


StateRules.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestStateRules = StateRules.TestCase

"""Holds + queue + gate driven together by random operations on a moving clock.

A small in-memory "service" keeps the state (holds, deploys, reservations) the way the real
services do, asking only the core rules for every decision, and checks after each step:
- at most one live holder per environment, and leases lapse exactly at ``until``;
- fencing tokens strictly increase per environment;
- at most one running deploy per environment;
- Go is only ever given to the first deploy in queue order, and a deploy that goes never
  runs into a reservation or freeze window (judged by the expected duration);
- a Go from the gate always lets the deploy take its deploy hold.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from tests.core.factories import T0

from signalbox.core.deploy_stats import expected_duration
from signalbox.core.errors import InvalidWindow, NotHolder
from signalbox.core.freeze import FreezeWindow, materialise
from signalbox.core.gate import (
    EnvironmentSnapshot,
    Go,
    NeedsApproval,
    RefusalReason,
    Refused,
    Wait,
    decide_gate,
    decide_wait_expiry,
)
from signalbox.core.holds import (
    Denied,
    Granted,
    HoldRequest,
    decide_hold,
    decide_release,
    decide_renew,
    is_live,
)
from signalbox.core.queue import ACTIVE_STATES, WAITING_STATES, queue_order, superseded_by
from signalbox.core.reservations import validate_window
from signalbox.core.views import (
    DeployState,
    DeployView,
    HoldKind,
    HoldView,
    Principal,
    ReservationView,
)

ENVIRONMENTS = ("dev", "prod")
PEOPLE = (Principal("platform-eng", False), Principal("alice", False), Principal("ci", True))
CONFIGURED = timedelta(minutes=17)
WAIT = timedelta(minutes=10)
WEEKEND = FreezeWindow("0 16 * * FRI", timedelta(hours=64), "Europe/Berlin", "weekend freeze")

envs = st.sampled_from(ENVIRONMENTS)
people = st.sampled_from(PEOPLE)
minutes = st.integers(1, 240)


class GateMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.now = T0
        self.holds: dict[str, HoldView | None] = dict.fromkeys(ENVIRONMENTS)
        self.last_token = dict.fromkeys(ENVIRONMENTS, 0)
        self.grants: dict[str, list[tuple[str, int]]] = {env: [] for env in ENVIRONMENTS}
        self.deploys: dict[int, DeployView] = {}
        self.deadlines: dict[int, object] = {}
        self.reservations: dict[str, list[ReservationView]] = {e: [] for e in ENVIRONMENTS}
        self.durations: dict[str, list[timedelta]] = {e: [] for e in ENVIRONMENTS}
        self.next_id = 1

    # --- holds ---------------------------------------------------------------------------

    @rule(env=envs, who=people, length=minutes)
    def hold(self, env: str, who: Principal, length: int) -> None:
        current = self.holds[env]
        request = HoldRequest(env, who, HoldKind.WORK, "refactoring", timedelta(minutes=length))
        result = decide_hold(current, request, last_token=self.last_token[env], now=self.now)
        if current is not None and is_live(current, self.now):
            same = current.owner == who and current.kind is HoldKind.WORK
            assert isinstance(result, Granted) is same
            if isinstance(result, Granted):
                assert result.renewed
                assert result.hold.fencing_token == current.fencing_token
            else:
                assert result.holder == current
                assert current.owner.name in result.reason
        else:
            assert isinstance(result, Granted) and not result.renewed
        if isinstance(result, Granted):
            self._store_hold(result.hold)

    @rule(env=envs, who=people, length=minutes)
    def renew(self, env: str, who: Principal, length: int) -> None:
        current = self.holds[env]
        holder = current is not None and is_live(current, self.now) and current.owner == who
        try:
            renewed = decide_renew(
                current,
                owner=who,
                environment=env,
                duration=timedelta(minutes=length),
                now=self.now,
            )
        except NotHolder:
            assert not holder
            return
        assert holder and current is not None
        assert renewed.fencing_token == current.fencing_token
        self.holds[env] = renewed

    @rule(env=envs, who=people)
    def release(self, env: str, who: Principal) -> None:
        current = self.holds[env]
        holder = current is not None and is_live(current, self.now) and current.owner == who
        try:
            decide_release(current, owner=who, environment=env, now=self.now)
        except NotHolder:
            assert not holder
            return
        assert holder
        self.holds[env] = None

    def _store_hold(self, hold: HoldView) -> None:
        grants = self.grants[hold.environment]
        if not grants or grants[-1][1] != hold.fencing_token:
            grants.append((hold.owner.name, hold.fencing_token))
            self.last_token[hold.environment] = hold.fencing_token
        self.holds[hold.environment] = hold

    # --- reservations ---------------------------------------------------------------------

    @rule(env=envs, offset=st.integers(-60, 600), length=st.integers(-30, 240))
    def reserve(self, env: str, offset: int, length: int) -> None:
        starts = self.now + timedelta(minutes=offset)
        ends = starts + timedelta(minutes=length)
        try:
            validate_window(starts, ends, self.now)
        except InvalidWindow:
            assert ends <= starts or ends <= self.now
            return
        reservation = ReservationView(
            len(self.reservations[env]) + 1, env, "coo", "demo", starts, ends
        )
        self.reservations[env].append(reservation)

    # --- deploys ----------------------------------------------------------------------------

    @rule(
        env=envs,
        who=people,
        branch=st.sampled_from(["main", "feature", "fix"]),
        priority=st.sampled_from([0, 0, 0, 5]),
        verdict=st.sampled_from(["routine", "routine", "needs-approval", "blocked", "none"]),
    )
    def request_deploy(
        self, env: str, who: Principal, branch: str, priority: int, verdict: str
    ) -> None:
        ident, self.next_id = self.next_id, self.next_id + 1
        deploy = DeployView(
            ident, env, who, branch, f"{ident:07d}", DeployState.QUEUED, priority, self.now,
            verdict, None if verdict == "none" else f"sha256:{ident}",
        )  # fmt: skip
        active = [d for d in self.deploys.values() if d.state in ACTIVE_STATES]
        victims = superseded_by([*active, deploy], deploy)
        for victim in victims:
            old = self.deploys[victim]
            assert (old.environment, old.branch) == (env, branch)
            assert old.state in WAITING_STATES
            self.deploys[victim] = replace(old, state=DeployState.SUPERSEDED)
        self.deploys[ident] = deploy
        self.deadlines[ident] = self.now + WAIT

    @precondition(lambda self: self._waiting())
    @rule(pick=st.integers(0, 1000))
    def gate(self, pick: int) -> None:
        waiting = self._waiting()
        deploy = waiting[pick % len(waiting)]
        env = deploy.environment
        snapshot = self._snapshot(env)
        decision = decide_gate(snapshot, deploy, now=self.now)
        event(f"gate: {type(decision).__name__} {getattr(decision, 'reason', '')}".strip())
        if isinstance(decision, Go):
            self._check_go(snapshot, deploy)
            self._start(deploy, snapshot.expected_duration)
        elif isinstance(decision, Wait | NeedsApproval):
            if isinstance(decision, NeedsApproval):
                deploy = replace(deploy, state=DeployState.AWAITING_APPROVAL)
                self.deploys[deploy.id] = deploy
            expiry = decide_wait_expiry(
                decision, wait_deadline=self.deadlines[deploy.id], now=self.now
            )  # type: ignore[arg-type]
            if expiry is not None:
                expected = (
                    RefusalReason.APPROVAL_EXPIRED
                    if isinstance(decision, NeedsApproval)
                    else RefusalReason.WAIT_EXPIRED
                )
                assert expiry.reason is expected
                self.deploys[deploy.id] = replace(deploy, state=DeployState.EXPIRED)
        else:
            assert isinstance(decision, Refused)
            assert decision.message
            final = (
                DeployState.DENIED
                if decision.reason is RefusalReason.DENIED
                else DeployState.REFUSED
            )
            if deploy.state is not DeployState.SUPERSEDED:
                self.deploys[deploy.id] = replace(deploy, state=final)

    @precondition(lambda self: self._awaiting())
    @rule(pick=st.integers(0, 1000), approve=st.booleans())
    def review(self, pick: int, approve: bool) -> None:
        awaiting = self._awaiting()
        deploy = awaiting[pick % len(awaiting)]
        self.deploys[deploy.id] = replace(deploy, approved=approve, denied=not approve)

    @precondition(lambda self: self._running())
    @rule(pick=st.integers(0, 1000), success=st.booleans())
    def finish(self, pick: int, success: bool) -> None:
        running = self._running()
        deploy = running[pick % len(running)]
        state = DeployState.SUCCEEDED if success else DeployState.FAILED
        self.deploys[deploy.id] = replace(deploy, state=state)
        assert deploy.started_at is not None
        if success:
            self.durations[deploy.environment].append(self.now - deploy.started_at)
        current = self.holds[deploy.environment]
        if current is not None and current.deploy_id == deploy.id and is_live(current, self.now):
            decide_release(
                current, owner=deploy.requester, environment=deploy.environment, now=self.now
            )
            self.holds[deploy.environment] = None

    @precondition(lambda self: self._running())
    @rule()
    def heartbeat(self) -> None:
        for deploy in self._running():
            current = self.holds[deploy.environment]
            if (
                current is not None
                and current.deploy_id == deploy.id
                and is_live(current, self.now)
            ):
                self.holds[deploy.environment] = decide_renew(
                    current, owner=deploy.requester, environment=deploy.environment,
                    duration=timedelta(minutes=5), now=self.now,
                    fencing_token=current.fencing_token,
                )  # fmt: skip

    @rule(step=st.integers(0, 300))
    def advance_clock(self, step: int) -> None:
        self.now += timedelta(minutes=step)
        for deploy in self._running():  # a runner that stopped renewing has died
            current = self.holds[deploy.environment]
            if (
                current is not None
                and current.deploy_id == deploy.id
                and not is_live(current, self.now)
            ):
                self.deploys[deploy.id] = replace(deploy, state=DeployState.FAILED)

    # --- helpers ------------------------------------------------------------------------------

    def _snapshot(self, env: str) -> EnvironmentSnapshot:
        freezes = materialise(
            [WEEKEND], env, self.now - timedelta(days=3), self.now + timedelta(days=1)
        )
        windows = [*self.reservations[env], *(freezes if env == "prod" else [])]
        return EnvironmentSnapshot(
            name=env,
            hold=self.holds[env],
            deploys=tuple(
                d
                for d in self.deploys.values()
                if d.environment == env and d.state in ACTIVE_STATES
            ),
            reservations=tuple(windows),
            expected_duration=expected_duration(self.durations[env], CONFIGURED),
            timezone="Europe/Berlin",
        )

    def _check_go(self, snapshot: EnvironmentSnapshot, deploy: DeployView) -> None:
        assert not [d for d in snapshot.deploys if d.state is DeployState.RUNNING]
        assert queue_order(snapshot.deploys)[0].id == deploy.id
        finish = self.now + snapshot.expected_duration
        assert not [w for w in snapshot.reservations if w.starts < finish and self.now < w.ends]
        assert deploy.plan_verdict == "routine" or deploy.approved
        assert not deploy.denied

    def _start(self, deploy: DeployView, expected: timedelta) -> None:
        env = deploy.environment
        current = self.holds[env]
        own_work_hold = (
            current is not None
            and is_live(current, self.now)
            and current.owner == deploy.requester
            and current.kind is HoldKind.WORK
        )
        if not own_work_hold:  # the holder's own deploy runs under the holder's work hold
            request = HoldRequest(
                env, deploy.requester, HoldKind.DEPLOY, f"deploy {deploy.id}", expected, deploy.id
            )
            result = decide_hold(current, request, last_token=self.last_token[env], now=self.now)
            assert not isinstance(result, Denied), result
            self._store_hold(result.hold)
        self.deploys[deploy.id] = replace(deploy, state=DeployState.RUNNING, started_at=self.now)

    def _waiting(self) -> list[DeployView]:
        return [d for d in self.deploys.values() if d.state in WAITING_STATES]

    def _awaiting(self) -> list[DeployView]:
        return [d for d in self.deploys.values() if d.state is DeployState.AWAITING_APPROVAL]

    def _running(self) -> list[DeployView]:
        return [d for d in self.deploys.values() if d.state is DeployState.RUNNING]

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def one_live_holder_per_environment_and_leases_lapse_at_until(self) -> None:
        for env in ENVIRONMENTS:
            current = self.holds[env]
            if current is None:
                continue
            assert is_live(current, self.now) is (self.now < current.until)
            if not is_live(current, self.now):
                other = next(p for p in PEOPLE if p != current.owner)
                request = HoldRequest(env, other, HoldKind.WORK, "probe", timedelta(minutes=1))
                probe = decide_hold(current, request, last_token=self.last_token[env], now=self.now)
                assert isinstance(probe, Granted)
                assert probe.hold.fencing_token == self.last_token[env] + 1

    @invariant()
    def fencing_tokens_strictly_increase(self) -> None:
        for grants in self.grants.values():
            tokens = [token for _, token in grants]
            assert tokens == sorted(set(tokens))
            assert tokens == list(range(1, len(tokens) + 1))

    @invariant()
    def at_most_one_running_deploy_per_environment(self) -> None:
        for env in ENVIRONMENTS:
            assert len([d for d in self._running() if d.environment == env]) <= 1


GateMachine.TestCase.settings = settings(max_examples=250, stateful_step_count=50, deadline=None)
test_gate_machine = GateMachine.TestCase

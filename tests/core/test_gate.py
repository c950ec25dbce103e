from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.core.factories import CI, COO, ENGINEER, at, deploy, hold, incident, reservation

from signalbox.core.errors import InvalidInput, InvalidTransition
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
from signalbox.core.queue import queue_order
from signalbox.core.views import DeployState, DeployView, HoldKind, HoldView, ReservationView

EXPECTED = timedelta(minutes=17)
NOW = at(0)  # 13:44 UTC, 14:44 in Berlin


def snapshot(
    *deploys: DeployView,
    current: HoldView | None = None,
    windows: tuple[ReservationView, ...] = (),
    frozen: bool = False,
    timezone: str | None = None,
    unplanned_needs_approval: bool = True,
) -> EnvironmentSnapshot:
    return EnvironmentSnapshot(
        name="dev",
        hold=current,
        deploys=deploys,
        reservations=windows,
        expected_duration=EXPECTED,
        incident=incident() if frozen else None,
        unplanned_needs_approval=unplanned_needs_approval,
        timezone=timezone,
    )


def decide(candidate: DeployView, *others: DeployView, now: datetime = NOW, **kw: object) -> object:
    return decide_gate(snapshot(candidate, *others, **kw), candidate, now=now)  # type: ignore[arg-type]


def refused(decision: object, reason: RefusalReason) -> Refused:
    assert isinstance(decision, Refused), decision
    assert decision.reason is reason, decision
    return decision


class TestTheStory:
    """The 14:44 apply, stopped for each of its three reasons, in Berlin time."""

    def test_held_by_the_engineer(self) -> None:
        # He took the hold at 13:00 Berlin (12:00 UTC) until 17:00 Berlin.
        current = hold(since=-104, until=136)
        decision = refused(
            decide(deploy(1), current=current, timezone="Europe/Berlin"), RefusalReason.HELD
        )
        assert decision.message == (
            "dev is held by platform-eng since 13:00 CET until 17:00 CET: renaming cognito "
            "pool. Ask platform-eng, or wait for `signalbox release dev`."
        )
        assert (decision.whom, decision.until) == ("platform-eng", at(136))

    def test_utc_iso_times_without_a_zone(self) -> None:
        decision = refused(decide(deploy(1), current=hold()), RefusalReason.HELD)
        assert "since 2026-11-26T12:00Z until 2026-11-26T16:00Z" in decision.message

    def test_a_deploy_at_15_20_would_overlap_the_15_30_demo(self) -> None:
        demo = reservation(46, 106)  # 15:30-16:30 Berlin
        decision = refused(
            decide(deploy(1), now=at(36), windows=(demo,), timezone="Europe/Berlin"),
            RefusalReason.RESERVED,
        )
        assert decision.message == (
            "A deploy to dev now would still be running at 15:30 CET (it takes about 17m), "
            "when coo's reservation begins, until 16:30 CET: investor demo. Ask coo, or "
            "deploy after 16:30 CET."
        )
        assert (decision.whom, decision.until) == ("coo", at(106))

    def test_a_deploy_that_ends_before_the_demo_goes(self) -> None:
        demo = reservation(46, 106)
        assert decide(deploy(1), now=at(29), windows=(demo,)) == Go(1)
        refused(decide(deploy(1), now=at(29.5), windows=(demo,)), RefusalReason.RESERVED)

    def test_during_the_demo(self) -> None:
        demo = reservation(46, 106)
        decision = refused(
            decide(deploy(1), now=at(60), windows=(demo,), timezone="Europe/Berlin"),
            RefusalReason.RESERVED,
        )
        assert decision.message == (
            "dev is reserved by coo from 15:30 CET until 16:30 CET: investor demo. Ask coo, "
            "or deploy after 16:30 CET."
        )

    def test_the_destroying_plan_needs_approval_then_goes(self) -> None:
        risky = deploy(1, verdict="needs-approval")
        decision = decide(risky)
        assert decision == NeedsApproval(
            1,
            "needs-approval",
            "Deploy 1 to dev has a plan that needs approval; ask an approver other than "
            "ci-dev to run `signalbox approve 1`.",
        )
        assert decide(replace(risky, approved=True)) == Go(1)

    def test_a_routine_plan_goes_at_once(self) -> None:
        assert decide(deploy(1)) == Go(1)


class TestEachRule:
    def test_running_deploy_asking_again_goes(self) -> None:
        running = deploy(1, state=DeployState.RUNNING)
        current = hold(CI, kind=HoldKind.DEPLOY, deploy_id=1, since=0, until=5)
        assert decide(running, deploy(2, requested=-5, priority=9), current=current) == Go(1)

    @pytest.mark.parametrize(
        "state",
        [DeployState.SUCCEEDED, DeployState.FAILED, DeployState.REFUSED, DeployState.CANCELLED],
    )
    def test_a_finished_deploy_cannot_go_again(self, state: DeployState) -> None:
        with pytest.raises(InvalidTransition) as caught:
            decide(deploy(1, state=state))
        assert state.value in caught.value.message

    def test_superseded_names_the_newer_deploy(self) -> None:
        old = deploy(1, state=DeployState.SUPERSEDED)
        decision = refused(decide(old, deploy(2, requested=3)), RefusalReason.SUPERSEDED)
        assert decision.message == (
            "Deploy 1 (main @ c0ffee0) to dev was superseded by deploy 2 (c0ffee0) of the "
            "same branch; this job can stop, the newer one will deploy."
        )
        assert (decision.whom, decision.until) == (None, None)

    def test_superseded_without_the_newer_one_in_the_snapshot(self) -> None:
        old = deploy(1, state=DeployState.SUPERSEDED)
        decision = refused(decide(old, deploy(2, branch="other")), RefusalReason.SUPERSEDED)
        assert "by a newer request of the same branch" in decision.message

    @pytest.mark.parametrize(
        "denied", [deploy(1, denied=True), deploy(1, state=DeployState.DENIED)]
    )
    def test_denied(self, denied: DeployView) -> None:
        decision = refused(decide(denied), RefusalReason.DENIED)
        assert "An approver denied the plan of deploy 1 to dev" in decision.message
        assert "`signalbox deploys --env dev`" in decision.message

    def test_expired(self) -> None:
        refused(decide(deploy(1, state=DeployState.EXPIRED)), RefusalReason.WAIT_EXPIRED)

    def test_blocked(self) -> None:
        decision = refused(decide(deploy(1, verdict="blocked")), RefusalReason.BLOCKED)
        assert "no approval can let it through" in decision.message
        assert "`signalbox check plan.json --env dev`" in decision.message

    def test_frozen_refuses_all_but_hotfixes(self) -> None:
        decision = refused(decide(deploy(1), frozen=True), RefusalReason.FROZEN)
        assert "frozen by incident 3" in decision.message
        assert '"users cannot log in"' in decision.message and "led by alice" in decision.message
        assert decision.whom == "alice"
        assert decide(deploy(1, priority=1, incident_id=3), frozen=True) == Go(1)
        # priority alone is not the hotfix lane: it must be the open incident's hotfix
        refused(decide(deploy(1, priority=1, incident_id=2), frozen=True), RefusalReason.FROZEN)

    def test_the_holder_may_deploy_through_his_own_hold(self) -> None:
        assert decide(deploy(1, requester=ENGINEER), current=hold(ENGINEER)) == Go(1)

    def test_a_lapsed_hold_does_not_stop_anyone(self) -> None:
        assert decide(deploy(1), current=hold(until=0)) == Go(1)
        refused(decide(deploy(1), current=hold(until=0.01)), RefusalReason.HELD)

    def test_the_deploy_hold_of_this_deploy_is_fine(self) -> None:
        own = hold(CI, kind=HoldKind.DEPLOY, deploy_id=1, since=0, until=5)
        assert decide(deploy(1), current=own) == Go(1)

    def test_a_deploy_hold_of_another_deploy_means_wait(self) -> None:
        other = hold(COO, kind=HoldKind.DEPLOY, deploy_id=9, since=-3, until=2)
        decision = decide(deploy(1), current=other)
        assert decision == Wait(
            1,
            1,
            None,
            "Deploy 1 is number 1 in the queue for dev, behind a deploy whose lease has not "
            "lapsed yet.",
            timedelta(minutes=14),  # 17 expected, its hold taken 3 minutes ago
        )
        assert decide(deploy(1), current=replace(other, until=at(0))) == Go(1)

    def test_a_freeze_window_names_its_owner(self) -> None:
        freeze = reservation(
            -60, 600, ident=None, owner="an admin", kind="freeze", reason="weekend freeze"
        )
        decision = refused(decide(deploy(1), windows=(freeze,)), RefusalReason.RESERVED)
        assert decision.message == (
            "dev is in a freeze window from 2026-11-26T12:44Z until 2026-11-26T23:44Z: "
            "weekend freeze. Ask an admin, or deploy after 2026-11-26T23:44Z."
        )

    def test_until_skips_chained_windows(self) -> None:
        windows = (reservation(10, 20), reservation(25, 40, ident=2, owner="cto"))
        decision = refused(decide(deploy(1), windows=windows), RefusalReason.RESERVED)
        assert decision.whom == "coo"
        assert decision.until == at(40)

    def test_a_plan_less_deploy_needs_approval_unless_configured(self) -> None:
        decision = decide(deploy(1, verdict="none"))
        assert isinstance(decision, NeedsApproval)
        assert "has no plan" in decision.message
        assert decide(deploy(1, verdict="none"), unplanned_needs_approval=False) == Go(1)

    def test_waits_behind_the_running_deploy(self) -> None:
        running = deploy(7, state=DeployState.RUNNING, requested=-10, branch="feature")
        decision = decide(deploy(8), running)
        assert decision == Wait(
            8,
            1,
            running,
            "Deploy 8 is number 1 in the queue for dev, behind deploy 7 (feature @ c0ffee0 by "
            "ci-dev).",
            timedelta(minutes=7),  # 17 expected, running for 10
        )

    def test_waits_behind_earlier_and_higher_priority_deploys(self) -> None:
        first = deploy(3, requested=-5, branch="a")
        hotfix = deploy(4, requested=-1, priority=5, branch="b")
        decision = decide(deploy(5, requested=-2, branch="c"), first, hotfix)
        assert isinstance(decision, Wait)
        assert (decision.position, decision.behind) == (3, first)
        assert decide(hotfix, first, deploy(5)) == Go(4)

    def test_the_snapshot_may_omit_the_deploy_itself(self) -> None:
        candidate = deploy(2, requested=1)
        decision = decide_gate(snapshot(deploy(1)), candidate, now=NOW)
        assert isinstance(decision, Wait)
        assert decision.position == 2

    def test_other_environment_or_unknown_verdict_is_a_caller_error(self) -> None:
        with pytest.raises(InvalidInput):
            decide_gate(snapshot(), deploy(1, environment="prod"), now=NOW)
        with pytest.raises(InvalidInput):
            decide(deploy(1, verdict="risky"))


class TestOrder:
    """The first check that applies answers; each row adds the next reason on top."""

    def test_every_reason_at_once_reports_them_in_order(self) -> None:
        ahead = deploy(2, state=DeployState.RUNNING, requested=-30, branch="x")
        base = dict(current=hold(), windows=(reservation(-5, 30),), frozen=True, timezone=None)
        candidate = deploy(1, verdict="blocked", denied=True, state=DeployState.SUPERSEDED)
        steps = [
            (candidate, RefusalReason.SUPERSEDED),
            (replace(candidate, state=DeployState.QUEUED), RefusalReason.DENIED),
            (replace(candidate, state=DeployState.QUEUED, denied=False), RefusalReason.BLOCKED),
        ]
        for subject, reason in steps:
            refused(decide(subject, ahead, **base), reason)
        subject = replace(
            candidate, state=DeployState.QUEUED, denied=False, plan_verdict="needs-approval"
        )
        refused(decide(subject, ahead, **base), RefusalReason.FROZEN)
        refused(decide(subject, ahead, **{**base, "frozen": False}), RefusalReason.HELD)
        free_env = {**base, "frozen": False, "current": None}
        refused(decide(subject, ahead, **free_env), RefusalReason.RESERVED)
        assert isinstance(decide(subject, ahead, **{**free_env, "windows": ()}), NeedsApproval)
        approved = replace(subject, approved=True)
        assert isinstance(decide(approved, ahead, **{**free_env, "windows": ()}), Wait)
        assert decide(approved, **{**free_env, "windows": ()}) == Go(1)


class TestWaitExpiry:
    def test_nothing_before_the_deadline(self) -> None:
        assert decide_wait_expiry(Wait(1, 2, None), wait_deadline=at(10), now=at(9)) is None

    def test_queue_wait_expired(self) -> None:
        ahead = deploy(7, state=DeployState.RUNNING)
        decision = decide_wait_expiry(Wait(8, 2, ahead), wait_deadline=at(10), now=at(10))
        assert decision is not None
        assert decision.reason is RefusalReason.WAIT_EXPIRED
        assert decision.whom == "ci-dev"
        assert decision.message == (
            "Deploy 8 was still number 2 in the queue at 2026-11-26T13:54Z, behind deploy 7 "
            "by ci-dev, so it stopped waiting to free the runner; run the pipeline again "
            "later or give it a longer --wait."
        )

    def test_approval_expired_is_told_apart(self) -> None:
        decision = decide_wait_expiry(
            NeedsApproval(8, "needs-approval"),
            wait_deadline=at(10),
            now=at(11),
            timezone="Europe/Berlin",
        )
        assert decision is not None
        assert decision.reason is RefusalReason.APPROVAL_EXPIRED
        assert decision.message == (
            "Nobody approved deploy 8 by 14:54 CET, so it stopped waiting; ask an approver "
            "to run `signalbox approve 8` and run the pipeline again."
        )


# --- properties -------------------------------------------------------------------------

active_states = st.sampled_from(
    [DeployState.QUEUED, DeployState.AWAITING_APPROVAL, DeployState.RUNNING]
)
deploy_lists = st.lists(
    st.builds(
        lambda ident, branch, state, priority, minute, verdict, approved: deploy(
            ident,
            branch=branch,
            state=state,
            priority=priority,
            requested=minute,
            verdict=verdict,
            approved=approved,
        ),
        ident=st.integers(1, 500),
        branch=st.sampled_from(["main", "feature"]),
        state=active_states,
        priority=st.integers(0, 2),
        minute=st.integers(-60, 0),
        verdict=st.sampled_from(["routine", "needs-approval", "none"]),
        approved=st.booleans(),
    ),
    min_size=1,
    max_size=8,
    unique_by=lambda d: d.id,
)
window_lists = st.lists(
    st.tuples(st.integers(-120, 240), st.integers(1, 120)).map(
        lambda pair: reservation(pair[0], pair[0] + pair[1])
    ),
    max_size=4,
)


@given(
    deploys=deploy_lists,
    windows=window_lists,
    expected=st.integers(0, 90),
    now=st.integers(-30, 200),
    holder=st.sampled_from([None, ENGINEER, CI]),
)
def test_a_deploy_that_goes_never_meets_a_reservation_and_is_first(
    deploys: list[DeployView],
    windows: list[ReservationView],
    expected: int,
    now: int,
    holder: object,
) -> None:
    current = hold(holder, since=-200, until=100) if holder is not None else None  # type: ignore[arg-type]
    env = EnvironmentSnapshot(
        name="dev",
        hold=current,
        deploys=tuple(deploys),
        reservations=tuple(windows),
        expected_duration=timedelta(minutes=expected),
    )
    moment = at(now)
    running = [d for d in deploys if d.state is DeployState.RUNNING]
    for candidate in deploys:
        decision = decide_gate(env, candidate, now=moment)
        if not isinstance(decision, Go) or candidate.state is DeployState.RUNNING:
            continue
        finish = moment + env.expected_duration
        assert all(not (w.starts < finish and moment < w.ends) for w in windows)
        assert not running
        assert queue_order(deploys)[0].id == candidate.id
        if current is not None and current.until > moment:
            assert current.owner.name == candidate.requester.name


@given(deploys=deploy_lists, now=st.integers(-30, 30))
def test_at_most_one_waiting_deploy_may_go(deploys: list[DeployView], now: int) -> None:
    env = snapshot(*deploys)
    goes = [
        d.id
        for d in deploys
        if d.state is not DeployState.RUNNING and isinstance(decide_gate(env, d, now=at(now)), Go)
    ]
    assert len(goes) <= 1


def test_now_must_be_aware() -> None:
    with pytest.raises(InvalidInput):
        decide_gate(snapshot(), deploy(1), now=datetime(2026, 11, 26, 13, 44))
    assert NOW.tzinfo is UTC

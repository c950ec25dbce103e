"""The picture of an environment (core.status): one state, every blocking reason, the queue."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.core.factories import CI, ENGINEER, T0, at, deploy, hold, incident, reservation

from signalbox.core.gate import EnvironmentSnapshot
from signalbox.core.queue import position_of
from signalbox.core.status import (
    DeployDetails,
    EnvironmentFacts,
    EnvironmentState,
    picture,
    plan_summary,
)
from signalbox.core.views import DeployState, HoldKind

SEVENTEEN = timedelta(minutes=17)


def facts(*, hold_=None, deploys=(), windows=(), details=None, frozen=False) -> EnvironmentFacts:
    snapshot = EnvironmentSnapshot(
        name="dev",
        hold=hold_,
        deploys=tuple(deploys),
        reservations=tuple(windows),
        expected_duration=SEVENTEEN,
        incident=incident() if frozen else None,
        timezone="Europe/Berlin",
    )
    return EnvironmentFacts(snapshot=snapshot, version=4, details=details or {})


def test_a_free_environment_has_nothing_in_the_way() -> None:
    seen = picture(facts(), now=T0)
    assert seen.state is EnvironmentState.FREE
    assert seen.blocking == () and seen.queue == () and seen.running is None
    assert seen.next_reservation is None and not seen.next_reservation_overlaps_deploy


def test_the_story_lists_every_reason_at_1444_not_only_the_first() -> None:
    """14:44: dev is held by the engineer, and a demo starts at 15:00, 16 minutes away,
    within a 17-minute deploy's reach: both reasons are listed, each with whom to ask."""
    demo = reservation(16, 76)
    seen = picture(facts(hold_=hold(), windows=[demo]), now=T0)
    assert seen.state is EnvironmentState.HELD
    assert [b.reason for b in seen.blocking] == ["held", "reserved"]
    held, reserved = seen.blocking
    assert held.whom == "platform-eng" and held.effect == "refused"
    assert "renaming cognito pool" in held.message and "Ask platform-eng" in held.message
    assert reserved.whom == "coo" and "would still be running at 15:00 CET" in reserved.message
    assert seen.next_reservation == demo and seen.next_reservation_overlaps_deploy


def test_a_reservation_beyond_a_deploys_reach_is_shown_but_blocks_nothing() -> None:
    later = reservation(60, 120)
    seen = picture(facts(windows=[later]), now=T0)
    assert seen.state is EnvironmentState.FREE
    assert seen.next_reservation == later and not seen.next_reservation_overlaps_deploy


def test_a_window_in_force_reads_reserved_now_and_a_freeze_reads_frozen() -> None:
    demo = reservation(-5, 55)
    assert picture(facts(windows=[demo]), now=T0).state is EnvironmentState.RESERVED_NOW
    freeze = reservation(-5, 55, ident=None, owner="policy", kind="freeze")
    frozen = picture(facts(windows=[freeze]), now=T0)
    assert frozen.state is EnvironmentState.FROZEN
    assert [b.reason for b in frozen.blocking] == ["freeze"]
    assert frozen.reservation_now == freeze


def test_a_reservation_a_deploy_would_overlap_reads_reserved_soon() -> None:
    seen = picture(facts(windows=[reservation(10, 40)]), now=T0)
    assert seen.state is EnvironmentState.RESERVED_SOON
    assert seen.blocking[0].until == at(40)


def test_the_running_deploy_carries_its_plan_summary_and_others_queue_behind() -> None:
    running = deploy(1, state=DeployState.RUNNING)
    deploy_hold = hold(CI, since=0, until=1, kind=HoldKind.DEPLOY, deploy_id=1)
    waiting = [deploy(3, requested=2), deploy(2, requested=1, branch="feature")]
    plan = plan_summary("needs-approval", _analysis())
    seen = picture(
        facts(
            hold_=deploy_hold,
            deploys=[running, *waiting],
            details={1: DeployDetails(actor="frontend-dev", plan=plan)},
        ),
        now=T0,
    )
    assert seen.state is EnvironmentState.DEPLOYING
    assert seen.running is not None and seen.running.id == 1
    assert seen.running.plan is not None
    assert seen.running.plan.line.startswith("destroys aws_cognito_user_pool.main")
    assert [(d.id, d.position) for d in seen.queue] == [(2, 1), (3, 2)]
    assert [b.reason for b in seen.blocking] == ["deploying", "queued"]
    assert all(b.effect == "waits" for b in seen.blocking)


def test_a_running_deploy_whose_lease_lapsed_is_no_longer_running() -> None:
    running = deploy(1, state=DeployState.RUNNING)
    lapsed = hold(CI, since=-10, until=-1, kind=HoldKind.DEPLOY, deploy_id=1)
    seen = picture(facts(hold_=lapsed, deploys=[running]), now=T0)
    assert seen.running is None and seen.hold is None
    assert seen.state is EnvironmentState.FREE


def test_deploys_waiting_for_an_approval_read_queued() -> None:
    waiting = deploy(5, state=DeployState.AWAITING_APPROVAL, verdict="needs-approval")
    seen = picture(facts(deploys=[waiting]), now=T0)
    assert seen.state is EnvironmentState.QUEUED
    assert seen.queue[0].position == 1


def test_an_incident_freeze_is_a_refusal_listed_first() -> None:
    seen = picture(facts(hold_=hold(), frozen=True), now=T0)
    assert [b.reason for b in seen.blocking] == ["frozen", "held"]


def test_the_plan_summary_counts_actions_and_names_the_destroyed() -> None:
    summary = plan_summary("needs-approval", _analysis())
    assert summary is not None
    assert summary.counts["create"] == 1 and summary.counts["delete"] == 1
    assert summary.destroys == ("aws_cognito_user_pool.main",)
    assert plan_summary("none", None) is None
    assert plan_summary("routine", None) is not None


def _analysis() -> dict:
    return {
        "schema": "signalbox.check/1",
        "plans": [
            {
                "counts": {"create": 1, "delete": 1, "update": 0, "no-op": 4},
                "findings": [
                    {"id": "stateful-destroy", "address": "aws_cognito_user_pool.main"},
                    {"id": "probable-rename", "address": "aws_cognito_user_pool.users"},
                ],
            }
        ],
    }


_states = st.sampled_from([DeployState.QUEUED, DeployState.AWAITING_APPROVAL, DeployState.RUNNING])


@st.composite
def _environment(draw: st.DrawFn) -> tuple[EnvironmentFacts, int]:
    count = draw(st.integers(0, 6))
    deploys = [
        deploy(
            ident,
            state=draw(st.sampled_from([DeployState.QUEUED, DeployState.AWAITING_APPROVAL])),
            priority=draw(st.integers(0, 2)),
            requested=draw(st.integers(-30, 0)),
        )
        for ident in range(1, count + 1)
    ]
    held_by = draw(st.sampled_from([None, "work", "deploy"]))
    current = None
    if held_by == "work":
        current = hold(ENGINEER, since=-30, until=draw(st.integers(-5, 60)))
    elif held_by == "deploy":
        deploys.append(deploy(99, state=DeployState.RUNNING))
        current = hold(CI, since=-1, until=draw(st.integers(-5, 5)), kind=HoldKind.DEPLOY)
        current = type(current)(**{**_fields(current), "deploy_id": 99})
    windows = []
    if draw(st.booleans()):
        starts = draw(st.integers(-60, 120))
        windows.append(reservation(starts, starts + draw(st.integers(1, 90))))
    minute = draw(st.integers(0, 10))
    return facts(hold_=current, deploys=deploys, windows=windows), minute


def _fields(view: object) -> dict:
    return {name: getattr(view, name) for name in view.__slots__}  # type: ignore[attr-defined]


@settings(max_examples=200, deadline=None)
@given(_environment())
def test_the_picture_agrees_with_the_rules_it_summarises(drawn) -> None:
    environment, minute = drawn
    now = at(minute)
    seen = picture(environment, now=now)
    snapshot = environment.snapshot
    live = snapshot.hold is not None and snapshot.hold.until > now
    reasons = [b.reason for b in seen.blocking]
    # a live work hold is a refusal, and only then is the environment "held" or refused so
    assert ("held" in reasons) == (live and snapshot.hold.kind is HoldKind.WORK)
    # the state is free exactly when nothing is in the way
    assert (seen.state is EnvironmentState.FREE) == (not seen.blocking and not seen.queue)
    # every overlapping window is listed
    end = now + SEVENTEEN
    overlapping = [w for w in snapshot.reservations if w.starts < end and w.ends > now]
    assert reasons.count("reserved") == len(overlapping)
    # positions are the queue's own, 1..n in queue order
    for entry in seen.queue:
        assert entry.position == position_of(snapshot.deploys, entry.id)
    assert [entry.position for entry in seen.queue] == list(range(1, len(seen.queue) + 1))


def test_the_picture_says_what_the_gate_says_when_it_refuses() -> None:
    from signalbox.core.gate import Refused, decide_gate

    for environment in (facts(hold_=hold()), facts(windows=[reservation(10, 40)])):
        refused = decide_gate(environment.snapshot, deploy(1), now=T0)
        assert isinstance(refused, Refused)
        [blocker] = picture(environment, now=T0).blocking
        assert (blocker.message, blocker.whom, blocker.until) == (
            refused.message,
            refused.whom,
            refused.until,
        )


@settings(max_examples=300, deadline=None)
@given(_environment(), st.floats(0, 1, exclude_max=True))
def test_the_picture_holds_until_the_moment_time_alone_may_change_it(drawn, fraction) -> None:
    from signalbox.core.status import changes_at

    environment, minute = drawn
    now = at(minute)
    until = changes_at(environment, now=now)
    assert until is not None and until > now
    later = min(now + (until - now) * fraction, until - timedelta(microseconds=1))
    assert picture(environment, now=later) == picture(environment, now=now)


def test_a_waiting_gates_deadline_and_midnight_are_moments_of_change() -> None:
    from signalbox.core.status import changes_at

    waiting = deploy(4)
    deadline = at(1.5)
    environment = EnvironmentFacts(
        snapshot=facts(deploys=[waiting]).snapshot, wait_deadlines={4: deadline}
    )
    assert changes_at(environment, now=T0) == deadline
    # nothing else: the next change is midnight in Berlin (T0 is 14:44 CET)
    assert changes_at(facts(), now=T0) == T0.replace(hour=23, minute=0)


def test_a_window_a_deploy_would_just_reach_is_a_moment_of_change() -> None:
    """At 14:44 a 17-minute deploy ends exactly when the 15:01 window begins: no overlap
    yet, but a microsecond later there is, so the picture must not be kept past it."""
    from signalbox.core.status import changes_at

    environment = facts(windows=[reservation(17, 18)])
    assert picture(environment, now=T0).state is EnvironmentState.FREE
    until = changes_at(environment, now=T0)
    assert until == T0 + timedelta(microseconds=1)
    assert picture(environment, now=until).state is EnvironmentState.RESERVED_SOON

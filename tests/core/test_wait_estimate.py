"""A queued deploy's Wait says about how long until it goes: what is left of the running
deploy's expected time, then the expected duration for each waiting deploy ahead. Zero when
nothing can be told (the one ahead overran: it may end any moment)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from tests.core.factories import at, deploy

from signalbox.core.gate import EnvironmentSnapshot, Wait, decide_gate
from signalbox.core.views import DeployState

EXPECTED = timedelta(minutes=17)
NOW = at(0)


def wait_of(*deploys, candidate, expected=EXPECTED) -> Wait:
    snapshot = EnvironmentSnapshot(
        name="dev", hold=None, deploys=deploys, reservations=(), expected_duration=expected
    )
    decision = decide_gate(snapshot, candidate, now=NOW)
    assert isinstance(decision, Wait), decision
    return decision


def test_behind_a_deploy_running_for_10_of_its_17_minutes_about_7_are_left() -> None:
    running = deploy(1, state=DeployState.RUNNING, requested=-10, branch="a")
    assert wait_of(running, candidate=deploy(2)).estimate == timedelta(minutes=7)


def test_each_waiting_deploy_ahead_adds_the_expected_duration() -> None:
    running = deploy(1, state=DeployState.RUNNING, requested=-10, branch="a")
    queued = deploy(2, requested=-5, branch="b")
    candidate = deploy(3, requested=-1, branch="c")
    assert wait_of(running, queued, candidate=candidate).estimate == timedelta(minutes=24)


def test_a_deploy_ahead_that_overran_leaves_nothing_to_tell() -> None:
    running = deploy(1, state=DeployState.RUNNING, requested=-30, branch="a")
    assert wait_of(running, candidate=deploy(2)).estimate == timedelta(0)


@given(
    running_for=st.integers(min_value=0, max_value=120),
    ahead=st.integers(min_value=0, max_value=6),
    expected=st.integers(min_value=0, max_value=90),
)
def test_the_estimate_is_whats_left_of_the_running_one_plus_one_each_ahead(
    running_for: int, ahead: int, expected: int
) -> None:
    per = timedelta(minutes=expected)
    running = deploy(1, state=DeployState.RUNNING, requested=-running_for, branch="r")
    queued = [deploy(10 + i, requested=-60 + i, branch=f"q{i}") for i in range(ahead)]
    wait = wait_of(running, *queued, candidate=deploy(99, branch="me"), expected=per)
    assert wait.position == ahead + 1
    left = max(timedelta(0), per - timedelta(minutes=running_for))
    assert wait.estimate == left + per * ahead
    assert timedelta(0) <= wait.estimate <= per * (ahead + 1)

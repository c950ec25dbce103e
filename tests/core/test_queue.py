from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from tests.core.factories import at, deploy

from signalbox.core.queue import (
    ACTIVE_STATES,
    WAITING_STATES,
    position_of,
    queue_order,
    running_deploy,
    superseded_by,
)
from signalbox.core.views import DeployState, DeployView

QUEUED, AWAITING, RUNNING = (
    DeployState.QUEUED,
    DeployState.AWAITING_APPROVAL,
    DeployState.RUNNING,
)


def ids(deploys: list[DeployView]) -> list[int]:
    return [d.id for d in deploys]


def test_priority_first_then_arrival_then_id() -> None:
    deploys = [
        deploy(1, requested=0),
        deploy(2, requested=5, priority=10),
        deploy(3, requested=1),
        deploy(5, requested=1),
        deploy(4, requested=1),
        deploy(6, requested=9, priority=10),
    ]
    assert ids(queue_order(deploys)) == [2, 6, 1, 3, 4, 5]


def test_running_and_finished_deploys_are_not_in_the_queue() -> None:
    deploys = [
        deploy(1, state=RUNNING),
        deploy(2, state=AWAITING, requested=1),
        deploy(3, state=DeployState.SUCCEEDED),
        deploy(4, state=DeployState.SUPERSEDED),
        deploy(5, requested=2),
    ]
    assert ids(queue_order(deploys)) == [2, 5]
    assert running_deploy(deploys) == deploys[0]
    assert running_deploy(deploys[1:]) is None


def test_states() -> None:
    assert {QUEUED, AWAITING} == WAITING_STATES
    assert WAITING_STATES | {RUNNING} == ACTIVE_STATES


def test_position_of() -> None:
    deploys = [deploy(1, state=RUNNING), deploy(2, requested=1), deploy(3, requested=2)]
    assert position_of(deploys, 2) == 1
    assert position_of(deploys, 3) == 2
    assert position_of(deploys, 1) is None
    assert position_of(deploys, 99) is None


def test_newer_request_supersedes_older_waiting_ones_of_its_branch() -> None:
    deploys = [
        deploy(1, state=RUNNING, requested=0),
        deploy(2, requested=1),
        deploy(3, state=AWAITING, requested=2),
        deploy(4, requested=3, branch="feature"),
        deploy(5, requested=4, environment="prod"),
        deploy(6, requested=5, state=DeployState.FAILED),
        deploy(7, requested=6),
    ]
    assert superseded_by(deploys, deploys[-1]) == [2, 3]


def test_only_a_newer_hotfix_of_the_same_incident_supersedes_a_hotfix() -> None:
    fix = deploy(1, requested=0, priority=1, incident_id=3)
    routine = deploy(2, requested=1)
    assert superseded_by([fix, routine], routine) == []
    newer_fix = deploy(3, requested=2, priority=1, incident_id=3)
    assert superseded_by([fix, routine, newer_fix], newer_fix) == [1, 2]
    other_incident = deploy(4, requested=3, priority=1, incident_id=4)
    assert superseded_by([fix, other_incident], other_incident) == []


def test_an_older_request_supersedes_nothing() -> None:
    deploys = [deploy(1, requested=0), deploy(2, requested=5)]
    assert superseded_by(deploys, deploys[0]) == []


def test_same_instant_the_lower_id_is_older() -> None:
    deploys = [deploy(1, requested=0), deploy(2, requested=0)]
    assert superseded_by(deploys, deploys[1]) == [1]
    assert superseded_by(deploys, deploys[0]) == []


states = st.sampled_from(list(DeployState))
deploys_strategy = st.lists(
    st.builds(
        lambda ident, branch, env, state, priority, minute: deploy(
            ident,
            branch=branch,
            environment=env,
            state=state,
            priority=priority,
            requested=minute,
        ),
        ident=st.integers(1, 10_000),
        branch=st.sampled_from(["main", "feature", "hotfix"]),
        env=st.sampled_from(["dev", "prod"]),
        state=states,
        priority=st.integers(0, 2),
        minute=st.integers(0, 30),
    ),
    max_size=12,
    unique_by=lambda d: d.id,
)


@given(deploys=deploys_strategy)
def test_queue_order_is_priority_then_arrival(deploys: list[DeployView]) -> None:
    ordered = queue_order(deploys)
    assert {d.id for d in ordered} == {d.id for d in deploys if d.state in WAITING_STATES}
    for ahead, behind in itertools.pairwise(ordered):
        assert ahead.priority >= behind.priority
        if ahead.priority == behind.priority:
            assert (ahead.requested_at, ahead.id) < (behind.requested_at, behind.id)
    assert queue_order(list(reversed(deploys))) == ordered


@given(deploys=deploys_strategy, data=st.data())
def test_superseding_never_touches_other_branches_environments_or_running(
    deploys: list[DeployView], data: st.DataObject
) -> None:
    newer = deploy(
        20_000,
        branch=data.draw(st.sampled_from(["main", "feature"])),
        environment=data.draw(st.sampled_from(["dev", "prod"])),
        requested=data.draw(st.integers(0, 40)),
    )
    victims = set(superseded_by([*deploys, newer], newer))
    for candidate in deploys:
        expected = (
            candidate.environment == newer.environment
            and candidate.branch == newer.branch
            and candidate.state in WAITING_STATES
            and candidate.requested_at <= newer.requested_at
        )
        assert (candidate.id in victims) is expected
    assert newer.id not in victims


@given(deploys=deploys_strategy)
def test_positions_count_from_one_without_gaps(deploys: list[DeployView]) -> None:
    waiting = queue_order(deploys)
    assert [position_of(deploys, d.id) for d in waiting] == list(range(1, len(waiting) + 1))


def test_at_helper_is_minutes() -> None:
    assert at(1) - at(0) == timedelta(minutes=1)

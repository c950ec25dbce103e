"""Preflight against a real database: the gate's answer for a deploy not asked for yet, with
every reason and the expected wait, and nothing written (no event, no version, no deploy)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.services.deploy_helpers import (
    CI,
    COGNITO_PLAN,
    COO,
    ENGINEER,
    ROUTINE_PLAN,
    deploy,
    engineer_holds_dev,
)
from tests.support.incidents import insert_incident

from signalbox.core.errors import Forbidden
from signalbox.core.views import Principal
from signalbox.services.deploys import PreflightRequest, preflight_deploy
from signalbox.services.events import list_events
from signalbox.services.reservations import ReservationCreate, create_reservation
from signalbox.storage.repositories.deploys import DeployRepository
from signalbox.storage.uow import UnitOfWork

ALICE = Principal("alice", is_ci=False)


def ask(
    engine, settings, clock, *, who=CI, plan=ROUTINE_PLAN, hotfix=None, actor="", branch="main"
):
    request = PreflightRequest(
        environment="dev", branch=branch, actor=actor, plan=plan, hotfix=hotfix
    )
    return preflight_deploy(engine, settings, request=request, requester=who, now=clock.now())


def written(engine) -> tuple[list[int], int, list[tuple[int, str]]]:
    """Every event id, dev's version and every deploy with its state: what a write changes."""
    with UnitOfWork(engine, read_only=True) as uow:
        version = uow.environments.get("dev").version
        rows = DeployRepository(uow.session).newest(environments=None, limit=500)
        deploys = [(row.id, str(row.state)) for row in rows]
    return [event.id for event in list_events(engine, limit=500)], version, deploys


def test_a_frozen_held_and_reserved_environment_lists_every_reason_and_writes_nothing(
    engine, settings, clock
):
    engineer_holds_dev(engine, clock)
    create_reservation(
        engine,
        settings,
        ReservationCreate("dev", "13:10", "14:00", "investor demo"),  # within 17 minutes
        owner=COO,
        now=clock.now(),
    )
    incident = insert_incident(engine, now=clock.now(), eta=clock.now() + timedelta(minutes=45))
    before = written(engine)
    answer = ask(engine, settings, clock, plan=COGNITO_PLAN)
    judged = answer.preflight
    assert (judged.verdict, judged.reason) == ("refused", "frozen")
    assert [(r.reason, r.effect) for r in judged.reasons] == [
        ("frozen", "refused"),
        ("held", "refused"),
        ("reserved", "refused"),
        ("needs-approval", "waits"),
    ]
    assert [r.whom for r in judged.reasons[:3]] == ["alice", ENGINEER.name, COO.name]
    assert f"incident {incident}" in judged.reasons[0].message
    assert judged.plan_verdict == "needs-approval" and answer.analysis is not None
    assert answer.version == before[1]
    assert written(engine) == before


def test_a_hotfix_preflight_passes_the_freeze_and_the_demo_but_not_the_hold(
    engine, settings, clock
):
    engineer_holds_dev(engine, clock)
    create_reservation(
        engine,
        settings,
        ReservationCreate("dev", "13:10", "14:00", "investor demo"),
        owner=COO,
        now=clock.now(),
    )
    incident = insert_incident(engine, now=clock.now())
    judged = ask(engine, settings, clock, who=ALICE, hotfix=incident).preflight
    assert [r.reason for r in judged.reasons] == ["held"]
    assert judged.hotfix_for == incident


def test_a_hotfix_preflight_by_someone_outside_the_team_is_forbidden(engine, settings, clock):
    incident = insert_incident(engine, now=clock.now(), responders=["bob"])
    before = written(engine)
    with pytest.raises(Forbidden) as refused:
        ask(engine, settings, clock, who=CI, actor="mallory", hotfix=incident)
    assert "alice" in refused.value.message
    assert (
        ask(engine, settings, clock, who=CI, actor="bob", hotfix=incident).preflight.verdict == "go"
    )
    assert written(engine) == before


def test_the_wait_is_the_rest_of_the_running_deploy_plus_one_per_deploy_ahead(
    engine, settings, clock
):
    running = deploy(engine, settings, clock, branch="a")
    assert running.decision == "go"
    deploy(engine, settings, clock, branch="b")
    deploy(engine, settings, clock, branch="c")
    clock.advance(timedelta(seconds=30))  # the gates keep asking: their places hold
    before = written(engine)
    judged = ask(engine, settings, clock, branch="d").preflight
    assert (judged.verdict, judged.position) == ("wait", 3)
    expected = timedelta(seconds=1020)  # dev's configured 17 minutes
    assert judged.expected_wait == expected - timedelta(seconds=30) + 2 * expected
    assert [r.reason for r in judged.reasons] == ["deploying", "queued"]
    same_branch = ask(engine, settings, clock, branch="b").preflight  # would supersede b
    assert same_branch.position == 2 and len(same_branch.superseding) == 1
    assert written(engine) == before


def test_a_lapsed_deploy_is_left_out_in_memory_not_recorded(engine, settings, clock):
    running = deploy(engine, settings, clock, branch="a")
    assert running.decision == "go"
    clock.advance(timedelta(minutes=10))  # no heartbeat: the lease lapsed
    before = written(engine)
    judged = ask(engine, settings, clock, branch="b").preflight
    assert (judged.verdict, judged.reasons) == ("go", ())
    assert written(engine) == before  # still "running" until a decision records the lapse
    assert (running.deploy.id, "running") in before[2]

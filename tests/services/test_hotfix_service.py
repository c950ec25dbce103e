"""The hotfix lane: `gate --hotfix N` for the incident's team only, ahead of every queued
deploy, never beside a running one, its plan still judged; the commander may approve it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.services.deploy_helpers import (
    APPROVER,
    CI,
    COGNITO_PLAN,
    ROUTINE_PLAN,
    decide,
    deploy,
    finish,
)
from tests.support.incidents import insert_incident

from signalbox.core.errors import Forbidden, InvalidInput, InvalidTransition, UnknownIncident
from signalbox.core.views import Principal
from signalbox.services.deploys import (
    DeployRequest,
    approve_deploy,
    deny_deploy,
    request_deploy,
)
from signalbox.services.events import list_events
from signalbox.storage.repositories.deploys import DeployRepository
from signalbox.storage.tables import ApprovalRow
from signalbox.storage.uow import UnitOfWork

ALICE = Principal("alice", is_ci=False)  # the commander
BOB = Principal("bob", is_ci=False)  # a responder
MALLORY = Principal("mallory", is_ci=False)  # a developer outside the incident


def hotfix(
    engine, settings, clock, incident_id, *, who=ALICE, actor="", plan=ROUTINE_PLAN, env="dev"
):
    request = DeployRequest(
        environment=env,
        branch="fix-pool",
        commit="f1x0001",
        actor=actor,
        plan=plan,
        hotfix=incident_id,
    )
    return request_deploy(engine, settings, request=request, requester=who, now=clock.now())


def deploy_count(engine) -> int:
    with UnitOfWork(engine, read_only=True) as uow:
        return len(DeployRepository(uow.session).newest(environments=None, limit=500))


def test_a_hotfix_by_someone_outside_the_team_is_forbidden_and_names_the_commander(
    engine, settings, clock
):
    incident = insert_incident(engine, now=clock.now(), responders=["bob"])
    before = [event.id for event in list_events(engine, limit=500)]
    with pytest.raises(Forbidden) as refused:
        hotfix(engine, settings, clock, incident, who=MALLORY)
    assert "alice" in refused.value.message and "mallory" in refused.value.message
    assert f"signalbox incident update {incident} --responder mallory" in refused.value.hint
    assert deploy_count(engine) == 0  # nothing stored
    assert [event.id for event in list_events(engine, limit=500)] == before
    with pytest.raises(Forbidden):  # a CI token speaks for its actor, not for its own name
        hotfix(engine, settings, clock, incident, who=CI, actor="mallory")


@pytest.mark.parametrize(
    ("who", "actor"),
    [(ALICE, ""), (BOB, ""), (CI, "bob")],
    ids=["commander", "named-responder", "ci-token-of-a-responder"],
)
def test_a_hotfix_by_the_team_goes_first_with_priority_one(engine, settings, clock, who, actor):
    incident = insert_incident(engine, now=clock.now(), responders=["bob"])
    answer = hotfix(engine, settings, clock, incident, who=who, actor=actor)
    assert answer.decision == "go"  # frozen for others; a routine hotfix goes
    assert (answer.deploy.priority, answer.deploy.hotfix_for) == (1, incident)
    [requested] = [
        e for e in list_events(engine, environment="dev") if e.kind == "deploy.requested"
    ]
    assert requested.data["hotfix_for"] == incident


def test_a_hotfix_of_an_unknown_other_or_resolved_incident_is_refused(engine, settings, clock):
    with pytest.raises(UnknownIncident):
        hotfix(engine, settings, clock, 999)
    on_prod = insert_incident(engine, now=clock.now(), environment="prod")
    with pytest.raises(InvalidInput) as elsewhere:
        hotfix(engine, settings, clock, on_prod)
    assert elsewhere.value.details["field"] == "hotfix"
    resolved = insert_incident(engine, now=clock.now(), status="resolved")
    with pytest.raises(InvalidTransition):
        hotfix(engine, settings, clock, resolved)
    assert deploy_count(engine) == 0


def test_the_hotfix_jumps_the_queue_but_waits_for_the_running_deploy_and_says_for_whom(
    engine, settings, clock
):
    running = deploy(engine, settings, clock, branch="a", who=Principal("ci-a", True))
    assert running.decision == "go"
    queued = [
        deploy(engine, settings, clock, branch=b, who=Principal(f"ci-{b}", True))
        for b in ("b", "c")
    ]
    assert [answer.position for answer in queued] == [1, 2]
    incident = insert_incident(engine, now=clock.now(), freezes=False)
    fix = hotfix(engine, settings, clock, incident)
    assert (fix.decision, fix.position) == ("wait", 1)
    assert f"deploy {running.deploy.id}" in fix.message and "ci-a" in fix.message
    assert decide(engine, settings, clock, queued[0].deploy.id).position == 2  # pushed back
    finish(engine, settings, clock, running, who=Principal("ci-a", True))
    assert decide(engine, settings, clock, queued[0].deploy.id).decision == "wait"
    assert decide(engine, settings, clock, fix.deploy.id).decision == "go"


def test_a_destroying_hotfix_waits_for_approval_which_the_commander_may_give(
    engine, settings, clock
):
    incident = insert_incident(engine, now=clock.now(), responders=["bob"])
    fix = hotfix(engine, settings, clock, incident, who=BOB, plan=COGNITO_PLAN)
    assert fix.decision == "needs-approval"
    with pytest.raises(Forbidden):  # a developer without the approver role, not the commander
        approve_deploy(
            engine,
            settings,
            deploy_id=fix.deploy.id,
            approver=MALLORY,
            approver_role=False,
            now=clock.now(),
        )
    given = approve_deploy(
        engine,
        settings,
        deploy_id=fix.deploy.id,
        approver=ALICE,
        approver_role=False,
        now=clock.now(),
    )
    assert given.as_commander_of == incident
    with UnitOfWork(engine, read_only=True) as uow:
        [row] = uow.session.scalars(select(ApprovalRow)).all()
        assert (row.approver, row.as_commander_of) == ("alice", incident)
    [granted] = [e for e in list_events(engine, environment="dev") if e.kind == "approval.granted"]
    assert granted.data["as_commander_of"] == incident
    assert decide(engine, settings, clock, fix.deploy.id).decision == "go"


def test_an_approver_approves_a_hotfix_as_usual_and_nobody_their_own(engine, settings, clock):
    incident = insert_incident(engine, now=clock.now())
    own = hotfix(engine, settings, clock, incident, who=ALICE, plan=COGNITO_PLAN)
    with pytest.raises(Forbidden):  # the commander requested it: another must approve
        approve_deploy(
            engine,
            settings,
            deploy_id=own.deploy.id,
            approver=ALICE,
            approver_role=False,
            now=clock.now(),
        )
    given = approve_deploy(
        engine, settings, deploy_id=own.deploy.id, approver=APPROVER, now=clock.now()
    )
    assert given.as_commander_of is None


def test_the_commander_may_deny_a_hotfix_and_not_an_ordinary_deploy(engine, settings, clock):
    incident = insert_incident(engine, now=clock.now(), responders=["bob"], freezes=False)
    ordinary = deploy(engine, settings, clock, plan=COGNITO_PLAN, branch="other")
    with pytest.raises(Forbidden):
        approve_deploy(
            engine,
            settings,
            deploy_id=ordinary.deploy.id,
            approver=ALICE,
            approver_role=False,
            now=clock.now(),
        )
    fix = hotfix(engine, settings, clock, incident, who=BOB, plan=COGNITO_PLAN)
    denied = deny_deploy(
        engine,
        settings,
        deploy_id=fix.deploy.id,
        approver=ALICE,
        reason="not this plan",
        approver_role=False,
        now=clock.now(),
    )
    assert (denied.decision, denied.as_commander_of) == ("deny", incident)
    clock.advance(timedelta(seconds=1))
    assert decide(engine, settings, clock, fix.deploy.id).reason == "denied"

"""Approvals: bound to the environment and the plan digest; not by the requester."""

from __future__ import annotations

import pytest
from tests.services.deploy_helpers import APPROVER, CI, COGNITO_PLAN, decide, deploy

from signalbox.core.errors import Forbidden, InvalidInput, InvalidTransition
from signalbox.core.views import Principal
from signalbox.services.deploys import approve_deploy, deny_deploy
from signalbox.services.events import list_events


def approve(engine, settings, clock, deploy_id, who=APPROVER, *, yes=True, reason=""):
    approve_or_deny = approve_deploy if yes else deny_deploy
    return approve_or_deny(
        engine, settings, deploy_id=deploy_id, approver=who, reason=reason, now=clock.now()
    )


def test_a_destroying_plan_waits_for_approval_and_goes_once_approved(engine, settings, clock):
    waiting = deploy(engine, settings, clock, plan=COGNITO_PLAN)
    assert waiting.decision == "needs-approval"
    assert waiting.deploy.state == "awaiting-approval"
    assert f"signalbox approve {waiting.deploy.id}" in waiting.message
    assert waiting.link.endswith(f"/deploys/{waiting.deploy.id}")
    assert "/api/" not in waiting.link  # the page a person opens, not the JSON
    approve(engine, settings, clock, waiting.deploy.id)
    assert decide(engine, settings, clock, waiting.deploy.id).decision == "go"
    assert "approval.granted" in [e.kind for e in list_events(engine, environment="dev")]


def test_the_same_plan_sent_again_is_already_approved_a_changed_one_is_not(engine, settings, clock):
    first = deploy(engine, settings, clock, plan=COGNITO_PLAN, branch="a")
    approve(engine, settings, clock, first.deploy.id)
    again = deploy(engine, settings, clock, plan=COGNITO_PLAN, branch="b")
    assert again.decision == "wait"  # approved already; queued behind the first
    changed = deploy(engine, settings, clock, plan=COGNITO_PLAN + b"\n", branch="c")
    assert changed.decision == "needs-approval"


def test_the_requester_cannot_approve_their_own_deploy(engine, settings, clock):
    waiting = deploy(engine, settings, clock, plan=COGNITO_PLAN)
    with pytest.raises(Forbidden):
        approve(engine, settings, clock, waiting.deploy.id, who=CI)
    with pytest.raises(Forbidden):  # the CI actor who pushed is the requester too
        approve(engine, settings, clock, waiting.deploy.id, who=Principal("frontend-dev", False))


def test_self_approval_when_the_setting_allows_it(engine, settings, clock):
    from dataclasses import replace

    permissive = replace(settings, allow_self_approval=True)
    waiting = deploy(engine, permissive, clock, plan=COGNITO_PLAN)
    approve(engine, permissive, clock, waiting.deploy.id, who=CI)
    assert decide(engine, permissive, clock, waiting.deploy.id).decision == "go"


def test_a_denial_needs_a_reason_and_refuses_the_deploy(engine, settings, clock):
    waiting = deploy(engine, settings, clock, plan=COGNITO_PLAN)
    with pytest.raises(InvalidInput):
        approve(engine, settings, clock, waiting.deploy.id, yes=False)
    approve(engine, settings, clock, waiting.deploy.id, yes=False, reason="the pool holds users")
    told = decide(engine, settings, clock, waiting.deploy.id)
    assert (told.decision, told.reason) == ("refused", "denied")
    assert told.deploy.state == "denied"


def test_approving_a_finished_deploy_is_refused(engine, settings, clock):
    running = deploy(engine, settings, clock)  # routine: runs at once
    with pytest.raises(InvalidTransition):
        approve(engine, settings, clock, running.deploy.id)


def test_a_deploy_without_a_plan_goes_once_approved_and_only_itself(engine, settings, clock):
    planless = deploy(engine, settings, clock, plan=None, branch="x")
    assert planless.decision == "needs-approval"
    approve(engine, settings, clock, planless.deploy.id)
    assert decide(engine, settings, clock, planless.deploy.id).decision == "go"
    rerun = deploy(engine, settings, clock, plan=None, branch="y")
    assert rerun.decision == "needs-approval"  # nothing to compare: a new approval

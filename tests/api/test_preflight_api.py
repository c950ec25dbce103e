"""POST /api/preflight and the hotfix fields of the deploy routes, in process on a real
database: the answer's shape, grants, a plan larger than the default body limit, and the
commander's approval of a hotfix without the approver role."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from tests.support.incidents import insert_incident

ROOT = Path(__file__).resolve().parents[2]
ROUTINE = base64.b64encode((ROOT / "examples/plans/routine-frontend-change.json").read_bytes())
COGNITO = base64.b64encode(
    (ROOT / "examples/plans/cognito-renamed-without-moved.json").read_bytes()
)

PREFLIGHT_FIELDS = {
    "environment",
    "verdict",
    "reason",
    "message",
    "position",
    "expected_wait_seconds",
    "expected_deploy_seconds",
    "plan_verdict",
    "analysis",
    "reasons",
    "hotfix_for",
    "superseding",
    "version",
    "timezone",
}


@pytest.fixture
def ci(token_for):
    return token_for("ci-dev", "developer:dev", ci=True)


def body(plan=ROUTINE, *, actor="frontend-dev", hotfix=None, branch="main", env="dev"):
    return {
        "environment": env,
        "branch": branch,
        "commit": "c0ffee123",
        "actor": actor,
        "plan": plan.decode() if plan else None,
        "plan_source": "plan.json",
        "hotfix": hotfix,
    }


def test_preflight_answers_like_a_gate_and_stores_nothing(client, ci):
    before = client.get("/api/events", headers=ci).json()
    answer = client.post("/api/preflight", headers=ci, json=body(COGNITO))  # > max_body_bytes
    assert answer.status_code == 200, answer.text
    judged = answer.json()
    assert set(judged) == PREFLIGHT_FIELDS
    assert (judged["verdict"], judged["plan_verdict"]) == ("needs-approval", "needs-approval")
    assert judged["reasons"][0]["reason"] == "needs-approval"
    assert judged["expected_deploy_seconds"] == 1020 and judged["timezone"] == "Europe/Berlin"
    assert client.get("/api/events", headers=ci).json() == before
    assert client.get("/api/deploys", headers=ci).json()["deploys"] == []


def test_preflight_needs_the_deploy_right_and_a_team_member_for_a_hotfix(
    client, ci, token_for, database, clock
):
    viewer = token_for("coo", "viewer:dev")
    refused = client.post("/api/preflight", headers=viewer, json=body())
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    incident = insert_incident(database, now=clock.now(), responders=["bob"])
    outsider = client.post(
        "/api/preflight", headers=ci, json=body(actor="mallory", hotfix=incident)
    )
    assert outsider.status_code == 403 and "alice" in outsider.json()["detail"]
    team = client.post("/api/preflight", headers=ci, json=body(actor="bob", hotfix=incident))
    assert team.status_code == 200 and team.json()["verdict"] == "go"
    assert team.json()["hotfix_for"] == incident
    frozen = client.post("/api/preflight", headers=ci, json=body()).json()
    assert (frozen["verdict"], frozen["reason"]) == ("refused", "frozen")
    assert frozen["reasons"][0]["whom"] == "alice"


def test_a_hotfix_request_over_http_and_its_approval_by_the_commander(
    client, ci, token_for, database, clock
):
    incident = insert_incident(database, now=clock.now(), responders=["bob"])
    missing = client.post("/api/deploys", headers=ci, json=body(actor="bob", hotfix=incident + 9))
    assert missing.status_code == 404 and missing.json()["code"] == "unknown-incident"
    fix = client.post("/api/deploys", headers=ci, json=body(COGNITO, actor="bob", hotfix=incident))
    assert fix.status_code == 200, fix.text
    answer = fix.json()
    assert answer["decision"] == "needs-approval"
    assert (answer["deploy"]["hotfix_for"], answer["deploy"]["priority"]) == (incident, 1)
    deploy_id = answer["deploy"]["id"]
    mallory = token_for("mallory", "developer:dev")
    denied = client.post(f"/api/deploys/{deploy_id}/approve", headers=mallory, json={})
    assert denied.status_code == 403
    commander = token_for("alice", "developer:dev")  # no approver role
    approved = client.post(f"/api/deploys/{deploy_id}/approve", headers=commander, json={})
    assert approved.status_code == 200, approved.text
    assert approved.json()["as_commander_of"] == incident
    stranger = token_for("eve", "viewer:prod")
    assert (
        client.post(
            f"/api/deploys/{deploy_id}/deny", headers=stranger, json={"reason": "x"}
        ).status_code
        == 403
    )

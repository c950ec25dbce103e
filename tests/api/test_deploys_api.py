"""The deploy, approval and reservation routes in process: answers, grants, problem+json,
and a long-poll that wakes on a change instead of timing out."""

from __future__ import annotations

import base64
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROUTINE = base64.b64encode((ROOT / "examples/plans/routine-frontend-change.json").read_bytes())
COGNITO = base64.b64encode(
    (ROOT / "examples/plans/cognito-renamed-without-moved.json").read_bytes()
)


@pytest.fixture
def settings(settings):
    return replace(settings, longpoll_seconds=600)  # a wait must end by a wake-up, not a timeout


@pytest.fixture
def ci(token_for):
    return token_for("ci-dev", "developer:dev", ci=True)


def request(client, headers, plan=ROUTINE, branch="main", env="dev"):
    body = {
        "environment": env,
        "branch": branch,
        "commit": "c0ffee123",
        "actor": "frontend-dev",
        "run_url": "https://ci/1",
        "plan": plan.decode() if plan else None,
        "plan_source": "plan.json",
    }
    answer = client.post("/api/deploys", headers=headers, json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_go_heartbeat_finish(client, ci):
    go = request(client, ci)
    assert go["decision"] == "go" and go["fencing_token"] == 1
    deploy_id = go["deploy"]["id"]
    beat = client.post(f"/api/deploys/{deploy_id}/heartbeat", headers=ci, json={"fencing_token": 1})
    assert beat.status_code == 200 and beat.json()["decision"] == "go"
    stale = client.post(
        f"/api/deploys/{deploy_id}/heartbeat", headers=ci, json={"fencing_token": 7}
    )
    assert stale.status_code == 409 and stale.json()["code"] == "stale-fencing-token"
    done = client.post(
        f"/api/deploys/{deploy_id}/finish",
        headers=ci,
        json={"fencing_token": 1, "exit_code": 0, "duration_seconds": 61.5},
    )
    assert done.json()["decision"] == "finished"
    assert done.json()["deploy"]["state"] == "succeeded"
    listed = client.get("/api/deploys?environment=dev", headers=ci).json()["deploys"]
    assert [(d["id"], d["state"], d["commit"]) for d in listed] == [
        (deploy_id, "succeeded", "c0ffee123")
    ]


def test_a_stakeholder_may_reserve_but_not_deploy(client, token_for):
    coo = token_for("coo", "stakeholder:dev")
    refused = client.post("/api/deploys", headers=coo, json={"environment": "dev"})
    assert refused.status_code == 403
    problem = refused.json()
    assert problem["code"] == "forbidden" and "developer:dev" in problem["detail"]
    assert refused.headers["content-type"].startswith("application/problem+json")
    booked = client.post(
        "/api/environments/dev/reservations",
        headers=coo,
        json={"starts": "15:30", "ends": "16:30", "reason": "investor demo"},
    )
    assert booked.status_code == 201
    starts = datetime.fromisoformat(booked.json()["reservation"]["starts"])
    assert starts == datetime(2026, 11, 26, 14, 30, tzinfo=UTC)  # 15:30 in Berlin


def test_a_waiting_gate_is_woken_when_the_running_deploy_finishes(client, ci):
    first = request(client, ci, branch="a")
    second = request(client, ci, branch="b")
    assert second["decision"] == "wait" and second["position"] == 1
    answers: list[dict] = []

    def long_poll() -> None:
        answers.append(
            client.get(
                f"/api/deploys/{second['deploy']['id']}/decision",
                params={"since": second["version"], "wait": 600},
                headers=ci,
            ).json()
        )

    poller = threading.Thread(target=long_poll)
    poller.start()
    poller.join(timeout=0.3)
    assert poller.is_alive()  # parked: nothing changed yet
    client.post(
        f"/api/deploys/{first['deploy']['id']}/finish",
        headers=ci,
        json={"fencing_token": first["fencing_token"], "exit_code": 0, "duration_seconds": 5},
    )
    poller.join(timeout=30)
    assert not poller.is_alive(), "the waiting gate was not woken by the change"
    assert answers[0]["decision"] == "go"


def test_approve_through_the_api_and_not_by_the_requester(client, ci, token_for):
    lead = token_for("lead", "approver:dev")
    waiting = request(client, ci, plan=COGNITO)
    deploy_id = waiting["deploy"]["id"]
    assert waiting["decision"] == "needs-approval"
    findings = waiting["deploy"]["analysis"]["plans"][0]["findings"]
    assert "stateful-destroy" in [f["id"] for f in findings]
    assert "hunter2" not in str(waiting)
    own = client.post(f"/api/deploys/{deploy_id}/approve", headers=ci, json={})
    assert own.status_code == 403
    ok = client.post(f"/api/deploys/{deploy_id}/approve", headers=lead, json={})
    assert ok.status_code == 200 and ok.json()["decision"] == "approve"
    again = client.get(f"/api/deploys/{deploy_id}/decision", headers=ci).json()
    assert again["decision"] == "go"


def test_bad_input_is_a_problem_and_changes_nothing(client, ci):
    unknown = client.post("/api/deploys", headers=ci, json={"environment": "dve"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown-environment")
    garbled = client.post(
        "/api/deploys", headers=ci, json={"environment": "dev", "plan": "not base64!"}
    )
    assert garbled.status_code == 422
    broken = client.post(
        "/api/deploys",
        headers=ci,
        json={
            "environment": "dev",
            "plan": base64.b64encode(b'{"format_version": "1.2", "x').decode(),
        },
    )
    assert (broken.status_code, broken.json()["code"]) == (422, "plan-unreadable")
    missing = client.get("/api/deploys/999/decision", headers=ci)
    assert (missing.status_code, missing.json()["code"]) == (404, "unknown-deploy")
    assert client.get("/api/deploys", headers=ci).json()["deploys"] == []


def test_reservation_errors_and_cancel(client, token_for):
    coo = token_for("coo", "stakeholder:dev")
    dev = token_for("platform-eng", "developer:dev")
    backwards = client.post(
        "/api/environments/dev/reservations",
        headers=coo,
        json={"starts": "16:30", "ends": "15:30", "reason": "demo"},
    )
    assert (backwards.status_code, backwards.json()["code"]) == (422, "invalid-window")
    booked = client.post(
        "/api/environments/dev/reservations",
        headers=coo,
        json={"starts": "15:30", "ends": "16:30", "reason": "demo"},
    ).json()
    rid = booked["reservation"]["id"]
    assert client.delete(f"/api/reservations/{rid}", headers=dev).status_code == 403
    assert client.delete(f"/api/reservations/{rid}", headers=coo).status_code == 200
    assert client.get("/api/reservations", headers=coo).json()["reservations"] == []


def test_a_poll_with_nothing_changed_answers_unchanged(client, ci):
    first = request(client, ci, branch="a")
    second = request(client, ci, branch="b")
    third = request(client, ci, branch="c")  # queued behind: second's answer holds
    assert third["version"] > second["version"]
    polled = client.get(
        f"/api/deploys/{second['deploy']['id']}/decision",
        params={"since": second["version"], "wait": 1},
        headers=ci,
    ).json()
    assert polled == {
        "unchanged": True,
        "version": second["version"],
        "deploy": {"id": second["deploy"]["id"]},
    }
    other = client.get(
        f"/api/deploys/{second['deploy']['id']}/decision",
        params={"since": first["version"] - 1, "wait": 600},
        headers=ci,
    ).json()
    assert other["decision"] == "wait"  # a change after `since` answers at once, decided again
    assert other["version"] == third["version"]


def test_the_long_poll_checks_the_token(client, ci):
    waiting = request(client, ci, branch="a")
    path = f"/api/deploys/{waiting['deploy']['id']}/decision"
    assert client.get(path).status_code == 401
    wrong = client.get(path, headers={"Authorization": "Bearer sbx_not-a-token"})
    assert (wrong.status_code, wrong.json()["code"]) == (401, "unauthenticated")
    assert client.get(path, headers=ci).status_code == 200


DEPLOY_FIELDS = {
    "id",
    "environment",
    "state",
    "requester",
    "requester_is_ci",
    "actor",
    "branch",
    "commit",
    "run_url",
    "priority",
    "plan_verdict",
    "plan_digest",
    "requested_at",
    "started_at",
    "finished_at",
    "outcome",
    "exit_code",
    "duration_seconds",
    "refusal_reason",
    "refusal_message",
    "superseded_by",
    "analysis",
    "hotfix_for",
}
ANSWER_FIELDS = {
    "deploy",
    "decision",
    "message",
    "version",
    "reason",
    "whom",
    "until",
    "position",
    "link",
    "fencing_token",
    "lease_seconds",
    "lease_until",
    "recheck_at",
    "ahead",
    "expected_wait_seconds",
    "reasons",
}


def test_the_answers_keep_every_field_the_gate_and_the_cli_read_null_ones_too(
    client, ci, token_for
):
    go = request(client, ci)
    assert set(go) == ANSWER_FIELDS and set(go["deploy"]) == DEPLOY_FIELDS
    assert (go["reason"], go["position"], go["recheck_at"]) == (None, None, None)
    assert go["deploy"]["analysis"] is not None  # the request's answer carries it, once
    waiting = request(client, ci, branch="b")
    assert waiting["decision"] == "wait" and waiting["position"] == 1
    assert waiting["recheck_at"] is not None and waiting["fencing_token"] is None
    assert waiting["ahead"] == go["deploy"]["id"] and waiting["expected_wait_seconds"] > 0
    awaiting = request(client, ci, plan=COGNITO, branch="c")
    assert awaiting["decision"] == "needs-approval"
    listed = client.get("/api/deploys", headers=ci).json()["deploys"]
    assert [set(deploy) for deploy in listed] == [DEPLOY_FIELDS | {"timezone"}] * 3
    assert listed[0]["timezone"] == "Europe/Berlin" and listed[0]["analysis"] is None
    one = client.get(f"/api/deploys/{go['deploy']['id']}", headers=ci).json()
    assert set(one) == DEPLOY_FIELDS and one["analysis"] is not None
    lead = token_for("lead", "approver:dev")
    approval = client.post(
        f"/api/deploys/{awaiting['deploy']['id']}/approve", headers=lead, json={"reason": "ok"}
    ).json()
    assert set(approval) == {
        "id",
        "deploy",
        "approver",
        "decision",
        "reason",
        "at",
        "as_commander_of",
    }
    assert set(approval["deploy"]) == DEPLOY_FIELDS

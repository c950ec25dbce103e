"""`signalbox preflight` through the real CLI against a real `signalbox serve`: its exit codes
(0 go, wait or needs-approval; 75 refused with every reason; 77 may not deploy or may not
hotfix), what it prints, and that asking leaves no trace."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from tests.support.incidents import insert_incident
from tests.support.servers import ROUTINE_PLAN, create_token, run_cli, story_server

from signalbox.storage.engine import build_engine

ADMIN = "sbx_e2e-preflight-admin"
COGNITO_PLAN = ROUTINE_PLAN.parent / "cognito-renamed-without-moved.json"


@pytest.fixture
def server(tmp_path):
    with story_server(tmp_path, ADMIN) as running:
        running.database = tmp_path / "signalbox.db"  # type: ignore[attr-defined]
        yield running


def preflight(server, token, *args):
    return run_cli(server.url, token, "preflight", "--env", "dev", "--branch", "main", *args)


def post(server, token, path, body):
    answer = httpx.post(
        f"{server.url}{path}", headers={"Authorization": f"Bearer {token}"}, json=body, timeout=30
    )
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def open_incident(server, **fields):
    engine = build_engine(f"sqlite:///{server.database}")
    try:
        return insert_incident(engine, now=datetime.now(UTC), **fields)
    finally:
        engine.dispose()


def event_ids(server):
    answer = httpx.get(
        f"{server.url}/api/events",
        headers={"Authorization": f"Bearer {ADMIN}"},
        params={"limit": 500},
        timeout=30,
    )
    return [event["id"] for event in answer.json()["events"]]


def test_go_then_wait_with_the_position_and_expected_wait(server):
    ci = create_token(server.url, ADMIN, "ci-dev", ["developer:dev"], ci=True)
    free = preflight(server, ci, "--plan", str(ROUTINE_PLAN))
    assert free.returncode == 0, free.stderr
    assert free.stdout.startswith("go: a deploy to dev now would go at once (it takes about 17m)")
    assert "plan: routine" in free.stdout
    plan = ROUTINE_PLAN.read_bytes()
    running = post(
        server,
        ci,
        "/api/deploys",
        {"environment": "dev", "branch": "a", "plan": base64.b64encode(plan).decode()},
    )
    assert running["decision"] == "go"
    before = event_ids(server)
    waiting = preflight(server, ci, "--plan", str(ROUTINE_PLAN))
    assert waiting.returncode == 0, waiting.stderr
    assert "would be number 1 in the queue; expected wait about 1" in waiting.stdout
    assert "running on dev" in waiting.stdout and "[ask ci-dev]" in waiting.stdout
    approval = preflight(server, ci, "--plan", str(COGNITO_PLAN), "--json")
    assert approval.returncode == 0
    answer = json.loads(approval.stdout)
    assert (answer["verdict"], answer["position"]) == ("needs-approval", 1)
    text = preflight(server, ci, "--plan", str(COGNITO_PLAN))
    assert "would wait for an approval (and number 1 in the queue" in text.stdout.splitlines()[0]
    assert event_ids(server) == before  # asking left no trace


def test_refused_lists_every_reason_with_whom_and_until_and_exits_75(server):
    ci = create_token(server.url, ADMIN, "ci-dev", ["developer:dev"], ci=True)
    engineer = create_token(server.url, ADMIN, "platform-eng", ["developer:dev"])
    coo = create_token(server.url, ADMIN, "coo", ["stakeholder:dev"])
    post(
        server,
        engineer,
        "/api/environments/dev/hold",
        {"reason": "renaming pool", "duration": "4h"},
    )
    now = datetime.now(UTC)
    starts, ends = now + timedelta(minutes=5), now + timedelta(minutes=65)
    post(
        server,
        coo,
        "/api/environments/dev/reservations",
        {"starts": starts.isoformat(), "ends": ends.isoformat(), "reason": "investor demo"},
    )
    incident = open_incident(server, eta=now + timedelta(minutes=45))
    refused = preflight(server, ci)
    assert refused.returncode == 75, refused.stdout + refused.stderr
    lines = refused.stdout.splitlines()
    assert lines[0] == "refused (frozen): a deploy to dev now would be refused."
    reasons = [line for line in lines if line.startswith("  refused (")]
    assert [line.split(":")[0] for line in reasons] == [
        "  refused (frozen)",
        "  refused (held)",
        "  refused (reserved)",
    ]
    assert f"incident {incident}" in reasons[0] and "[ask alice; until " in reasons[0]
    assert "[ask platform-eng; until " in reasons[1] and "[ask coo; until " in reasons[2]
    assert lines[-1] == "[exit 75]"
    fix = preflight(
        server,
        create_token(server.url, ADMIN, "alice", ["developer:dev"]),
        "--hotfix",
        str(incident),
    )
    assert fix.returncode == 75  # the hotfix passes the freeze and the demo, not the hold
    assert fix.stdout.startswith(f"refused (held): a hotfix of incident {incident} to dev")


def test_may_not_deploy_or_may_not_hotfix_exits_77(server):
    viewer = create_token(server.url, ADMIN, "coo", ["viewer:dev"])
    forbidden = preflight(server, viewer)
    assert forbidden.returncode == 77 and "Forbidden" in forbidden.stderr
    ci = create_token(server.url, ADMIN, "ci-dev", ["developer:dev"], ci=True)
    incident = open_incident(server, responders=["bob"])
    outsider = preflight(server, ci, "--hotfix", str(incident), "--actor", "mallory")
    assert outsider.returncode == 77
    assert "alice" in outsider.stderr and "--responder mallory" in outsider.stderr
    responder = preflight(
        server, ci, "--hotfix", str(incident), "--actor", "bob", "--plan", str(ROUTINE_PLAN)
    )
    assert responder.returncode == 0 and responder.stdout.startswith("go: a hotfix of incident")

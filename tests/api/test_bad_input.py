"""Out-of-range input is refused at the edge: 422 problem+json naming the field, never a
500 from a database or a datetime that cannot hold the value (issue 8, "No input gets a
500"). Each case answered 500 before the ranges of ``api.models.bounds`` (the 2^31 ids on
PostgreSQL only, whose INTEGER columns are 32-bit)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from tests.api.conftest import ADMIN

BEYOND_64_BITS = 2**63  # more than SQLite and BIGINT hold: SQLite overflowed
BEYOND_32_BITS = 2**31  # more than an INTEGER of PostgreSQL: out of range there
HUGE = 10**30
PLANS = Path(__file__).resolve().parents[2] / "examples/plans"
ROUTINE = base64.b64encode((PLANS / "routine-frontend-change.json").read_bytes()).decode()


def refused(answer, field: str) -> dict:
    """The problem of a 422 that names ``field`` (in its ``errors`` or as its ``field``)."""
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    named = {item["field"] for item in problem.get("errors", [])} | {problem.get("field")}
    assert field in named, problem
    assert field.rsplit(".", 1)[-1] in problem["detail"], problem["detail"]
    return problem


@pytest.fixture
def ci(token_for):
    return token_for("ci-dev", "developer:dev", ci=True)


@pytest.fixture
def running(client, ci):
    """A deploy that has gone ahead on dev: its id and fencing token."""
    body = {"environment": "dev", "branch": "main", "commit": "c0ffee", "plan": ROUTINE}
    go = client.post("/api/deploys", headers=ci, json=body).json()
    assert go["decision"] == "go", go
    return go["deploy"]["id"], go["fencing_token"]


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", f"/api/deploys/{BEYOND_64_BITS}", "path.deploy_id"),
        ("GET", f"/api/deploys/{BEYOND_64_BITS}/decision", "path.deploy_id"),
        ("GET", f"/api/incidents/{BEYOND_64_BITS}", "path.incident_id"),
        ("GET", f"/api/incidents/{BEYOND_64_BITS}/postmortem", "path.incident_id"),
        ("POST", f"/api/actions/{BEYOND_64_BITS}", "path.action_id"),
        ("DELETE", f"/api/reservations/{BEYOND_64_BITS}", "path.reservation_id"),
        ("POST", f"/api/notifications/{BEYOND_64_BITS}/retry", "path.delivery_id"),
        ("GET", f"/api/deploys/{BEYOND_32_BITS}", "path.deploy_id"),
        ("GET", f"/api/incidents/{BEYOND_32_BITS}", "path.incident_id"),
        ("DELETE", f"/api/reservations/{BEYOND_32_BITS}", "path.reservation_id"),
    ],
)
def test_a_path_id_out_of_range_is_refused_naming_it(client, method, path, field):
    body = {"status": "done"} if path.startswith("/api/actions") else None
    refused(client.request(method, path, headers=ADMIN, json=body), field)


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"/api/events?before={HUGE}", "query.before"),
        (f"/api/events?env=dev&before={HUGE}", "query.before"),
        (f"/api/notifications?before={HUGE}", "query.before"),
        (f"/api/actions?incident={HUGE}", "query.incident"),
        (f"/api/actions?incident={BEYOND_32_BITS}", "query.incident"),
        (f"/api/states/dev/network/show?serial={HUGE}", "query.serial"),
    ],
)
def test_a_cursor_out_of_range_is_refused_naming_it(client, url, field):
    refused(client.get(url, headers=ADMIN), field)


def test_the_event_stream_refuses_a_start_out_of_range(client):
    refused(client.get(f"/api/events/stream?after={HUGE}", headers=ADMIN), "query.after")
    answer = client.get("/api/events/stream", headers={**ADMIN, "Last-Event-ID": str(HUGE)})
    refused(answer, "Last-Event-ID")


def test_a_hold_of_ten_to_the_21_seconds_is_refused_naming_the_duration(client):
    for duration in (f"{10**21}s", f"{10**20}d"):
        answer = client.post(
            "/api/environments/dev/hold",
            headers=ADMIN,
            json={"reason": "migration", "duration": duration},
        )
        assert refused(answer, "duration")["code"] == "invalid-duration"
    assert client.get("/api/environments/dev", headers=ADMIN).json()["hold"] is None


def test_a_renewal_of_ten_to_the_21_seconds_is_refused_naming_the_duration(client):
    held = client.post("/api/environments/dev/hold", headers=ADMIN, json={"reason": "migration"})
    assert held.status_code == 200, held.text
    renewal = client.post(
        "/api/environments/dev/hold/renew", headers=ADMIN, json={"duration": f"{10**21}s"}
    )
    refused(renewal, "duration")


def test_a_fencing_token_out_of_range_is_refused_naming_it(client):
    held = client.post("/api/environments/dev/hold", headers=ADMIN, json={"reason": "migration"})
    assert held.status_code == 200, held.text
    released = client.delete(
        f"/api/environments/dev/hold?fencing_token={BEYOND_64_BITS}", headers=ADMIN
    )
    refused(released, "query.fencing_token")
    renewal = client.post(
        "/api/environments/dev/hold/renew", headers=ADMIN, json={"fencing_token": HUGE}
    )
    refused(renewal, "fencing_token")
    assert client.get("/api/environments/dev", headers=ADMIN).json()["hold"] is not None


@pytest.mark.parametrize(
    ("starts", "ends", "field"),
    [
        ("9999-12-31 23:30", "9999-12-31 23:59", "starts"),
        ("2026-11-26 15:00", "9999-12-31T23:59:59-05:00", "ends"),
        ("0001-01-01 00:30", "2026-11-26 16:00", "starts"),
    ],
)
def test_a_reservation_outside_the_years_2000_to_2099_is_refused(client, starts, ends, field):
    answer = client.post(
        "/api/environments/dev/reservations",
        headers=ADMIN,
        json={"starts": starts, "ends": ends, "reason": "demo"},
    )
    problem = refused(answer, field)
    assert "2000" in problem["detail"] and "2099" in problem["detail"]
    assert client.get("/api/reservations", headers=ADMIN).json()["reservations"] == []


def test_an_incident_eta_in_the_year_9999_is_refused_naming_it(client):
    answer = client.post(
        "/api/incidents",
        headers=ADMIN,
        json={"environment": "dev", "title": "login broken", "eta": "9999-12-31 23:30"},
    )
    refused(answer, "eta")
    assert client.get("/api/incidents", headers=ADMIN).json()["incidents"] == []


def test_a_recheck_time_without_offset_or_past_2099_is_refused(client, ci, running):
    deploy_id, _token = running
    for recheck_at, why in (("2026-11-26T13:00:00", "timezone"), ("9999-12-31T23:59Z", "2099")):
        answer = client.get(
            f"/api/deploys/{deploy_id}/decision",
            headers=ci,
            params={"since": 0, "wait": 0, "recheck_at": recheck_at},
        )
        assert why in refused(answer, "query.recheck_at")["detail"]


def test_a_gate_report_out_of_range_is_refused_and_the_deploy_goes_on(client, ci, running):
    deploy_id, token = running
    for fencing_token in (BEYOND_32_BITS, BEYOND_64_BITS):
        beat = client.post(
            f"/api/deploys/{deploy_id}/heartbeat", headers=ci, json={"fencing_token": fencing_token}
        )
        refused(beat, "fencing_token")
    for field, value in (("exit_code", BEYOND_64_BITS), ("duration_seconds", 1e300)):
        report = {"fencing_token": token, "exit_code": 0, "duration_seconds": 60.0, field: value}
        refused(client.post(f"/api/deploys/{deploy_id}/finish", headers=ci, json=report), field)
    assert client.get(f"/api/deploys/{deploy_id}", headers=ci).json()["state"] == "running"


def test_a_hotfix_incident_id_out_of_range_is_refused(client, ci):
    body = {"environment": "dev", "plan": ROUTINE, "hotfix": BEYOND_64_BITS}
    refused(client.post("/api/deploys", headers=ci, json=body), "hotfix")
    refused(client.post("/api/preflight", headers=ci, json=body), "hotfix")

"""Incidents over HTTP: open (201), list, show, updates, resolve, reopen; 403, 404, 409 and
422 with the field named; and the environment's picture showing the open incident."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from tests.api.conftest import ADMIN


@pytest.fixture(autouse=True)
def numbered_from_one(database):
    """Incidents are numbered from 1 on both backends: tests sharing a PostgreSQL database
    empty its tables, but its sequences go on counting."""
    if database.dialect.name == "postgresql":
        with database.begin() as connection:
            for table in ("incidents", "deploys", "reservations"):
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                connection.execute(text(f"SELECT setval({sequence}, 1, false)"))


@pytest.fixture
def alice(token_for):
    return token_for("alice", "developer:dev")


@pytest.fixture
def bob(token_for):
    return token_for("bob", "developer:dev")


@pytest.fixture
def coo(token_for):
    return token_for("coo", "stakeholder:dev")


def open_dev(client, headers, **fields):
    body = {"environment": "dev", "title": "users cannot log in", "severity": "sev1", **fields}
    return client.post("/api/incidents", headers=headers, json=body)


def test_open_answers_201_with_the_incident_and_what_the_freeze_did(client, alice, bob):
    held = client.post(
        "/api/environments/dev/hold", headers=bob, json={"reason": "renaming", "duration": "4h"}
    )
    assert held.status_code == 200
    answer = open_dev(client, alice, eta="15:28", note="pool gone")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["id"], body["environment"], body["commander"], body["status"]) == (
        1,
        "dev",
        "alice",
        "investigating",
    )
    assert body["frozen"] is True and body["team"] == ["alice"]
    assert body["eta"] == "2026-11-26T14:28:00Z" and body["timezone"] == "Europe/Berlin"
    assert body["effects"]["suspended_holds"] == ["bob"]
    assert [u["kind"] for u in body["updates"]] == ["opened"]
    assert body["updates"][0]["note"] == "pool gone"

    refused_hold = client.post(
        "/api/environments/dev/hold", headers=bob, json={"reason": "again", "duration": "1h"}
    )
    assert refused_hold.status_code == 409
    assert "dev is frozen by incident 1" in refused_hold.json()["detail"]


def test_the_picture_shows_the_incident_its_commander_and_the_reservations_at_risk(
    client, alice, coo
):
    reserved = client.post(
        "/api/environments/dev/reservations",
        headers=coo,
        json={"starts": "15:30", "ends": "16:30", "reason": "investor demo"},
    )
    assert reserved.status_code == 201, reserved.text
    opened = open_dev(client, alice, eta="15:45").json()  # the demo begins before the ETA
    assert opened["at_risk"] == [reserved.json()["reservation"]["id"]]
    dev = client.get("/api/environments/dev", headers=alice).json()
    assert dev["state"] == "frozen"
    assert dev["incident"]["id"] == 1 and dev["incident"]["commander"] == "alice"
    assert dev["incident"]["eta"] == "2026-11-26T14:45:00Z"
    assert dev["incident"]["updated_at"] == "2026-11-26T12:00:00Z"
    [at_risk] = dev["at_risk"]
    assert at_risk["owner"] == "coo" and at_risk["reason"] == "investor demo"
    [frozen] = [b for b in dev["blocking"] if b["reason"] == "frozen"]
    assert frozen["whom"] == "alice" and "users cannot log in" in frozen["message"]
    resolved = client.post("/api/incidents/1/resolve", headers=alice, json={"note": "fixed"})
    assert resolved.status_code == 200
    after = client.get("/api/environments/dev", headers=alice).json()
    assert after["incident"] is None and after["at_risk"] == [] and after["state"] != "frozen"


def test_listing_and_showing(client, alice, token_for):
    open_dev(client, alice)
    client.post("/api/incidents/1/resolve", headers=alice, json={})
    open_dev(client, alice, title="still broken", severity="sev3")
    listed = client.get("/api/incidents", headers=alice).json()["incidents"]
    assert [i["id"] for i in listed] == [2] and listed[0]["frozen"] is False
    every = client.get("/api/incidents", headers=alice, params={"all": "true"}).json()
    assert [i["id"] for i in every["incidents"]] == [2, 1]
    shown = client.get("/api/incidents/1", headers=alice).json()
    assert [u["kind"] for u in shown["updates"]] == ["opened", "resolved"]
    assert shown["resolved_by"] == "alice" and shown["effects"] is None
    prod_only = token_for("prod-viewer", "viewer:prod")
    assert client.get("/api/incidents", headers=prod_only).json()["incidents"] == []
    assert client.get("/api/incidents/1", headers=prod_only).status_code == 403


def test_permissions_403_naming_the_grant_or_the_commander(client, alice, bob, coo):
    refused = open_dev(client, coo)
    assert refused.status_code == 403 and refused.json()["missing"]
    assert open_dev(client, alice).status_code == 201
    note = client.post("/api/incidents/1/updates", headers=bob, json={"note": "on it"})
    assert note.status_code == 200
    handover = client.post("/api/incidents/1/updates", headers=bob, json={"commander": "bob"})
    assert handover.status_code == 403
    body = handover.json()
    assert body["commander"] == "alice" and "Ask alice" in body["hint"]
    by_admin = client.post("/api/incidents/1/updates", headers=ADMIN, json={"commander": "bob"})
    assert by_admin.status_code == 200 and by_admin.json()["commander"] == "bob"
    named = client.post("/api/incidents/1/updates", headers=bob, json={"responders": ["alice"]})
    assert named.status_code == 200 and named.json()["team"] == ["bob", "alice"]
    assert client.post("/api/incidents/1/resolve", headers=coo, json={}).status_code == 403


def test_404_409_422(client, alice):
    assert client.get("/api/incidents/9", headers=alice).status_code == 404
    assert (
        client.post("/api/incidents/9/updates", headers=alice, json={"note": "x"}).status_code
        == 404
    )
    unknown_env = open_dev(client, alice, environment="qa")
    assert unknown_env.status_code == 404 and unknown_env.json()["code"] == "unknown-environment"

    for fields, field in [
        ({"severity": "sev0"}, "severity"),
        ({"eta": "soon"}, "eta"),
        ({"title": " "}, "title"),
    ]:
        bad = open_dev(client, alice, **fields)
        assert bad.status_code == 422 and bad.json()["field"] == field, bad.text
    missing = client.post("/api/incidents", headers=alice, json={"environment": "dev"})
    assert missing.status_code == 422 and "title" in missing.text

    assert open_dev(client, alice).status_code == 201
    again = open_dev(client, alice)
    assert again.status_code == 409 and again.json()["code"] == "incident-open"
    assert again.json()["incident_id"] == 1
    resolved_status = client.post(
        "/api/incidents/1/updates", headers=alice, json={"status": "resolved"}
    )
    assert resolved_status.status_code == 422 and resolved_status.json()["field"] == "status"
    assert "incident resolve 1" in resolved_status.json()["hint"]
    assert client.post("/api/incidents/1/reopen", headers=alice, json={}).status_code == 409
    client.post("/api/incidents/1/resolve", headers=alice, json={})
    late = client.post("/api/incidents/1/updates", headers=alice, json={"note": "x"})
    assert late.status_code == 409 and late.json()["code"] == "invalid-transition"
    assert client.post("/api/incidents/1/resolve", headers=alice, json={}).status_code == 409


def test_reopen_freezes_again_and_the_version_moves(client, alice, clock):
    open_dev(client, alice)
    before = client.get("/api/environments/dev", headers=alice).json()["version"]
    clock.advance(timedelta(minutes=30))
    assert client.post("/api/incidents/1/resolve", headers=alice).status_code == 200
    reopened = client.post("/api/incidents/1/reopen", headers=alice, json={"note": "not over"})
    assert reopened.status_code == 200 and reopened.json()["frozen"] is True
    dev = client.get("/api/environments/dev", headers=alice).json()
    assert dev["version"] > before and dev["state"] == "frozen"
    assert dev["incident"]["updated_at"] == "2026-11-26T12:30:00Z"

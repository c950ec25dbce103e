"""Holds over HTTP: grant, 409 held with the holder, renew, release, force-release, lapse."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.api.conftest import ADMIN

from signalbox.services.holds import expire_lapsed


@pytest.fixture
def engineer(token_for):
    return token_for("platform-eng", "developer:dev")


@pytest.fixture
def ci(token_for):
    return token_for("ci-dev", "developer:dev", "developer:prod", ci=True)


def hold(client, headers, env="dev", reason="renaming cognito pool", duration="4h"):
    return client.post(
        f"/api/environments/{env}/hold",
        headers=headers,
        json={"reason": reason, "duration": duration},
    )


def test_grant_returns_the_hold_with_its_fencing_token(client, engineer):
    answer = hold(client, engineer)
    assert answer.status_code == 200
    body = answer.json()
    assert body["granted"] is True and body["renewed"] is False
    assert body["hold"]["owner"] == "platform-eng"
    assert body["hold"]["fencing_token"] == 1
    assert body["hold"]["until"] == "2026-11-26T16:00:00Z"  # ISO 8601 UTC
    assert body["hold"]["timezone"] == "Europe/Berlin"


def test_refusal_is_409_held_naming_holder_reason_since_until(client, engineer, ci, clock):
    hold(client, engineer)
    clock.advance(timedelta(minutes=104))
    answer = hold(client, ci, reason="deploy")
    assert answer.status_code == 409
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["code"] == "held"
    assert body["detail"] == (
        "dev is held by platform-eng since 13:00 CET until 17:00 CET: renaming cognito pool."
    )
    assert body["hint"] == "Ask platform-eng, or wait for `signalbox release dev`."
    assert (body["holder"], body["reason"], body["timezone"]) == (
        "platform-eng",
        "renaming cognito pool",
        "Europe/Berlin",
    )
    assert body["since"] == "2026-11-26T12:00:00+00:00"
    assert body["until"] == "2026-11-26T16:00:00+00:00"


def test_same_owner_post_renews(client, engineer, clock):
    hold(client, engineer)
    clock.advance(timedelta(hours=1))
    body = hold(client, engineer, duration="1h").json()
    assert body["renewed"] is True and body["hold"]["fencing_token"] == 1
    assert body["hold"]["until"] == "2026-11-26T14:00:00Z"  # ISO 8601 UTC


def test_renew_endpoint_and_stale_fencing_token(client, engineer, ci):
    hold(client, engineer)
    renewed = client.post(
        "/api/environments/dev/hold/renew",
        headers=engineer,
        json={"duration": "2h", "fencing_token": 1},
    )
    assert renewed.status_code == 200 and renewed.json()["hold"]["fencing_token"] == 1
    stale = client.post(
        "/api/environments/dev/hold/renew", headers=engineer, json={"fencing_token": 7}
    )
    assert stale.status_code == 409 and stale.json()["code"] == "stale-fencing-token"
    assert stale.json()["current"] == 1
    stranger = client.post("/api/environments/dev/hold/renew", headers=ci, json={})
    assert stranger.status_code == 409 and stranger.json()["code"] == "not-holder"


def test_release_by_holder_only(client, engineer, ci):
    hold(client, engineer)
    refused = client.delete("/api/environments/dev/hold", headers=ci)
    assert refused.status_code == 409 and refused.json()["code"] == "not-holder"
    assert "platform-eng" in refused.json()["detail"]
    released = client.delete("/api/environments/dev/hold", headers=engineer)
    assert released.status_code == 200
    assert released.json()["released"]["owner"] == "platform-eng"
    assert hold(client, ci, reason="deploy").json()["hold"]["fencing_token"] == 2


def test_release_with_a_stale_token(client, engineer):
    hold(client, engineer)
    answer = client.delete("/api/environments/dev/hold?fencing_token=5", headers=engineer)
    assert answer.status_code == 409 and answer.json()["code"] == "stale-fencing-token"


def test_force_release_is_for_admins(client, engineer, ci):
    hold(client, engineer)
    denied = client.post(
        "/api/environments/dev/hold/force-release", headers=ci, json={"reason": "I need it"}
    )
    assert denied.status_code == 403 and "admin:dev" in denied.json()["missing"]
    done = client.post(
        "/api/environments/dev/hold/force-release",
        headers=ADMIN,
        json={"reason": "he is on holiday"},
    )
    assert done.status_code == 200
    events = client.get("/api/events?env=dev", headers=ADMIN).json()["events"]
    assert events[0]["kind"] == "hold.force-released"
    assert "he is on holiday" in events[0]["message"]


def test_environment_list_shows_state_and_holder_filtered_by_grants(
    client, engineer, ci, token_for
):
    hold(client, engineer)
    hold(client, ci, env="prod", reason="deploy")
    everything = client.get("/api/environments", headers=ADMIN).json()["environments"]
    assert [(e["name"], e["state"], e["hold"]["owner"]) for e in everything] == [
        ("dev", "held", "platform-eng"),
        ("prod", "held", "ci-dev"),
    ]
    viewer = token_for("v", "viewer:prod")
    seen = client.get("/api/environments", headers=viewer).json()["environments"]
    assert [e["name"] for e in seen] == ["prod"]
    one = client.get("/api/environments/dev", headers=ADMIN).json()
    assert one["state"] == "held" and one["timezone"] == "Europe/Berlin"
    assert client.get("/api/environments/dev", headers=viewer).status_code == 403


def test_lapsed_hold_frees_the_environment_and_writes_an_event(client, app, engineer, clock):
    hold(client, engineer, duration="30m")
    clock.advance(timedelta(minutes=31))
    listed = client.get("/api/environments/dev", headers=ADMIN).json()
    assert listed["state"] == "free" and listed["hold"] is None
    expire_lapsed(app.state.server.engine, now=clock.now())
    events = client.get("/api/events?env=dev", headers=ADMIN).json()["events"]
    assert events[0]["kind"] == "hold.lapsed"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"duration": "4h"}, "invalid-input"),
        ({"reason": "x", "duration": "4x"}, "invalid-duration"),
        ({"reason": "", "duration": "4h"}, "invalid-input"),
        ({"reason": "x", "duration": "30d"}, "invalid-input"),
        ({"reason": "x", "extra": 1}, "invalid-input"),
    ],
)
def test_bad_hold_requests_are_422_and_change_nothing(client, engineer, body, code):
    answer = client.post("/api/environments/dev/hold", headers=engineer, json=body)
    assert answer.status_code == 422 and answer.json()["code"] == code
    assert client.get("/api/environments/dev", headers=ADMIN).json()["state"] == "free"


def test_malformed_json_is_a_422_problem(client, engineer):
    answer = client.post(
        "/api/environments/dev/hold",
        headers={**engineer, "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert answer.status_code == 422 and answer.json()["code"] == "invalid-input"


def test_unknown_environment_is_404_listing_the_known_ones(client, engineer):
    answer = hold(client, engineer, env="staging")
    assert answer.status_code == 404
    body = answer.json()
    assert body["code"] == "unknown-environment" and body["known"] == ["dev", "prod"]


def test_events_newest_first_filtered_and_limited(client, engineer, token_for):
    hold(client, engineer)
    client.delete("/api/environments/dev/hold", headers=engineer)
    kinds = [
        e["kind"] for e in client.get("/api/events?env=dev&limit=2", headers=ADMIN).json()["events"]
    ]
    assert kinds == ["hold.released", "hold.granted"]
    everything = client.get("/api/events", headers=ADMIN).json()["events"]
    assert "token.created" in [e["kind"] for e in everything]
    dev_only = token_for("d", "viewer:dev")
    seen = client.get("/api/events", headers=dev_only).json()["events"]
    assert {e["environment"] for e in seen} == {"dev"}
    assert client.get("/api/events?env=prod", headers=dev_only).status_code == 403


def test_each_event_carries_the_zone_to_show_it_in(client, engineer):
    """The CLI shows events in their environment's zone without asking for the environments."""
    hold(client, engineer)
    everything = client.get("/api/events", headers=ADMIN).json()["events"]
    zones = {(e["environment"], e["timezone"]) for e in everything}
    assert ("dev", "Europe/Berlin") in zones
    assert {zone for env, zone in zones if env is None} == {"UTC"}


def test_the_server_sweeps_lapsed_holds_by_itself(settings, clock, database, token_for):
    """With the sweeper on, a lapsed hold gets its event without anyone asking."""
    import time

    from fastapi.testclient import TestClient

    from signalbox.api.app import create_app

    app = create_app(settings, clock=clock, engine=database, sweep_seconds=0.02)
    with TestClient(app) as client:
        created = client.post(
            "/api/tokens", headers=ADMIN, json={"name": "eng", "grants": ["developer:dev"]}
        )
        engineer = {"Authorization": f"Bearer {created.json()['token']}"}
        hold(client, engineer, duration="30m")
        clock.advance(timedelta(minutes=30))
        deadline = time.monotonic() + 10
        kinds: list[str] = []
        while time.monotonic() < deadline:  # polling a condition with a deadline
            kinds = [
                e["kind"] for e in client.get("/api/events?env=dev", headers=ADMIN).json()["events"]
            ]
            if "hold.lapsed" in kinds:
                break
            time.sleep(0.02)
        assert kinds[0] == "hold.lapsed"

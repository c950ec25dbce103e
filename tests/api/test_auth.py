"""Authentication: Bearer, Basic with the token as password, 401 and 403 problems."""

from __future__ import annotations

import base64

import pytest
from tests.api.conftest import ADMIN, ADMIN_TOKEN

from signalbox import __version__


def basic(user: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def test_healthz_needs_no_token(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "ok", "version": __version__}


def test_bearer_token_is_accepted(client):
    assert client.get("/api/tokens", headers=ADMIN).status_code == 200  # admin:* only


def test_basic_auth_with_the_token_as_password_is_accepted(client):
    answer = client.get("/api/tokens", headers=basic("terraform", ADMIN_TOKEN))
    assert answer.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer"},
        {"Authorization": "Token abc"},
        {"Authorization": "Basic !!!"},
        basic("terraform", ""),
    ],
)
def test_missing_or_wrong_tokens_are_401_problems_with_both_challenges(client, headers):
    answer = client.get("/api/events", headers=headers)
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert "Bearer" in answer.headers["www-authenticate"]
    assert "Basic" in answer.headers["www-authenticate"]
    assert answer.json()["code"] == "unauthenticated"


def test_forbidden_names_the_missing_grant(client, token_for):
    coo = token_for("coo", "stakeholder:dev")
    answer = client.post("/api/environments/dev/hold", headers=coo, json={"reason": "demo prep"})
    assert answer.status_code == 403
    body = answer.json()
    assert body["code"] == "forbidden"
    assert body["missing"] == "To hold on dev a token needs the grant developer:dev or admin:dev."
    assert "coo may not hold on dev" in body["detail"]


def test_token_management_needs_admin_on_every_environment(client, token_for):
    dev_admin = token_for("dev-admin", "admin:dev")
    answer = client.post(
        "/api/tokens", headers=dev_admin, json={"name": "x", "grants": ["viewer:dev"]}
    )
    assert answer.status_code == 403 and "admin:*" in answer.json()["missing"]


def test_created_token_works_and_revoked_token_stops_working(client):
    created = client.post(
        "/api/tokens",
        headers=ADMIN,
        json={"name": "ci-dev", "grants": ["developer:dev"], "ci": True},
    )
    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "ci-dev" and body["ci"] is True
    assert body["grants"] == ["developer:dev"]
    token = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/api/events?env=dev", headers=token).status_code == 200
    listed = client.get("/api/tokens", headers=ADMIN).json()["tokens"]
    assert "ci-dev" in [t["name"] for t in listed]
    assert body["token"] not in str(listed)
    assert client.delete("/api/tokens/ci-dev", headers=ADMIN).status_code == 200
    assert client.get("/api/events?env=dev", headers=token).status_code == 401


def test_duplicate_or_bad_token_requests(client, token_for):
    token_for("a", "viewer:*")
    again = client.post("/api/tokens", headers=ADMIN, json={"name": "a", "grants": ["viewer:*"]})
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    bad = client.post("/api/tokens", headers=ADMIN, json={"name": "b", "grants": ["wizard:dev"]})
    assert bad.status_code == 422 and bad.json()["code"] == "invalid-input"
    unknown = client.post(
        "/api/tokens", headers=ADMIN, json={"name": "b", "grants": ["viewer:staging"]}
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown-environment"

"""The board in process: what a card says, who sees which card, and the public board."""

from __future__ import annotations

import pytest
from tests.api.conftest import ADMIN
from tests.web.conftest import sign_in_client

from signalbox.api.app import create_app


def test_the_board_shows_each_environment_the_viewer_may_read_with_its_holder(client, browser_for):
    client.post(
        "/api/environments/dev/hold",
        headers=ADMIN,
        json={"reason": "renaming cognito pool", "duration": "4h"},
    )
    dev_only = browser_for("coo", "stakeholder:dev")
    board = dev_only.get("/")
    assert board.status_code == 200
    assert "<title>Board · signalbox</title>" in board.text
    assert 'id="env-dev"' in board.text and 'id="env-prod"' not in board.text
    assert 'data-state="held">Held<' in board.text
    assert "by <strong>bootstrap-admin</strong>" in board.text
    assert "<q>renaming cognito pool</q>" in board.text
    assert "A deploy now would be refused (1 reason)" in board.text


def test_the_board_says_the_free_environment_would_take_a_deploy(browser_for):
    board = browser_for("everyone", "viewer:*").get("/")
    assert 'data-state="free">Free<' in board.text
    assert board.text.count("A deploy now would go.") == 2


@pytest.fixture
def public_client(settings, clock, database):
    from dataclasses import replace

    from fastapi.testclient import TestClient

    app = create_app(
        replace(settings, board_public=True), clock=clock, engine=database, sweep_seconds=None
    )
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_a_public_board_shows_states_and_holders_to_anyone_but_no_reason(public_client):
    public_client.post(
        "/api/environments/dev/hold",
        headers=ADMIN,
        json={"reason": "secret migration", "duration": "4h"},
    )
    board = public_client.get("/", follow_redirects=False)
    assert board.status_code == 200
    assert "Public board" in board.text and 'data-state="held">Held<' in board.text
    assert "bootstrap-admin" in board.text
    assert "secret migration" not in board.text
    assert "A deploy now would" not in board.text  # the reasons would tell the reason
    assert public_client.get("/board/cards").status_code == 200
    # every other page still needs a sign-in
    assert public_client.get("/environments/dev", follow_redirects=False).status_code == 303


def test_a_signed_in_viewer_of_a_public_board_sees_the_reasons(public_client):
    token = public_client.post(
        "/api/tokens", headers=ADMIN, json={"name": "dev1", "grants": ["developer:dev"]}
    ).json()["token"]
    public_client.post(
        "/api/environments/dev/hold",
        headers=ADMIN,
        json={"reason": "secret migration", "duration": "4h"},
    )
    sign_in_client(public_client, token)
    assert "secret migration" in public_client.get("/").text


def test_pages_allow_only_signalboxs_own_assets_and_no_framing(browser_for):
    board = browser_for("everyone", "viewer:*").get("/")
    policy = board.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "form-action 'self'" in policy
    assert board.headers["x-frame-options"] == "DENY"
    assert board.headers["cache-control"] == "no-store"
    assert "http://" not in board.text.replace("http://testserver", "")
    assert "https://" not in board.text  # no asset, font or script from another host


def test_the_static_assets_are_served_by_signalbox_itself(client):
    for asset, kind in (("signalbox.css", "text/css"), ("signalbox.js", "javascript")):
        answer = client.get(f"/static/{asset}")
        assert answer.status_code == 200 and kind in answer.headers["content-type"]

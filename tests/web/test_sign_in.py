"""Signing in with a token, the session that follows, and the checks on every form."""

from __future__ import annotations

from datetime import timedelta

from tests.web.conftest import ADMIN, form_token_of, sign_in_client

from signalbox.web.security import LOGIN_COOKIE, SESSION_COOKIE, safe_next


def _new_token(client, name: str, *grants: str) -> str:
    answer = client.post("/api/tokens", headers=ADMIN, json={"name": name, "grants": list(grants)})
    assert answer.status_code == 201, answer.text
    return answer.json()["token"]


def test_a_page_without_a_session_sends_the_browser_to_sign_in_and_back(client):
    answer = client.get("/environments/dev?x=1", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/environments/dev%3Fx%3D1"
    assert client.get("/", follow_redirects=False).headers["location"] == "/login?next=/"


def test_signing_in_sets_an_http_only_same_site_cookie_and_goes_to_next(client):
    token = _new_token(client, "coo", "stakeholder:dev")
    login = client.get("/login?next=/board/cards")
    answer = client.post(
        "/login",
        data={"token": token, "csrf": form_token_of(login.text), "next": "/board/cards"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/board/cards"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if SESSION_COOKIE in c)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; behind HTTPS it is set
    assert token not in cookie  # the cookie is the session's own secret, never the token
    board = client.get("/")
    assert "Signed in as <strong>coo</strong>" in board.text and "stakeholder:dev" in board.text


def test_a_wrong_token_is_refused_on_the_form_and_no_session_is_made(client):
    login = client.get("/login")
    answer = client.post(
        "/login", data={"token": "sbx_wrong", "csrf": form_token_of(login.text), "next": "/"}
    )
    assert answer.status_code == 401
    assert "That token is not valid (unknown or revoked)." in answer.text
    assert SESSION_COOKIE not in client.cookies
    assert client.get("/", follow_redirects=False).status_code == 303


def test_sign_in_without_the_forms_token_is_refused(client):
    token = _new_token(client, "coo", "stakeholder:dev")
    client.get("/login")
    answer = client.post("/login", data={"token": token, "csrf": "forged", "next": "/"})
    assert answer.status_code == 403
    assert "no valid form token" in answer.text
    assert client.get("/", follow_redirects=False).status_code == 303
    client.cookies.delete(LOGIN_COOKIE)
    answer = client.post("/login", data={"token": token, "csrf": "", "next": "/"})
    assert answer.status_code == 403


def test_revoking_the_token_ends_its_sessions(client):
    token = _new_token(client, "coo", "stakeholder:dev")
    sign_in_client(client, token)
    assert client.get("/", follow_redirects=False).status_code == 200
    revoked = client.delete("/api/tokens/coo", headers=ADMIN)
    assert revoked.status_code == 200, revoked.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_session_ends_after_its_lifetime(client, clock, settings):
    token = _new_token(client, "coo", "stakeholder:dev")
    sign_in_client(client, token)
    clock.advance(settings.web_session_lifetime - timedelta(seconds=1))
    assert client.get("/", follow_redirects=False).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert client.get("/", follow_redirects=False).status_code == 303


def test_signing_out_ends_the_session_and_needs_the_form_token(client):
    token = _new_token(client, "coo", "stakeholder:dev")
    form_token = sign_in_client(client, token)
    refused = client.post("/logout", data={"csrf": "nope"})
    assert refused.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200
    secret = client.cookies[SESSION_COOKIE]
    answer = client.post("/logout", data={"csrf": form_token}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    client.cookies.set(SESSION_COOKIE, secret)  # the old cookie, replayed, is worth nothing
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_form_sent_from_another_site_is_refused_even_with_the_token(client):
    token = _new_token(client, "coo", "stakeholder:dev")
    form_token = sign_in_client(client, token)
    for header in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/x"}):
        answer = client.post("/logout", data={"csrf": form_token}, headers=header)
        assert answer.status_code == 403
        assert "sent from https://evil.example" in answer.text
    assert client.get("/", follow_redirects=False).status_code == 200
    same = client.post(
        "/logout",
        data={"csrf": form_token},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert same.status_code == 303


def test_next_never_leaves_the_site():
    assert safe_next("/deploys/7") == "/deploys/7"
    for outside in ("https://evil.example/", "//evil.example/", "/\\evil.example", "", None):
        assert safe_next(outside) == "/"


def test_an_unknown_page_is_a_page_and_an_unknown_api_route_stays_json(client):
    token = _new_token(client, "viewer", "viewer:*")
    sign_in_client(client, token)
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "There is no page at /no-such-page." in page.text
    api = client.get("/api/no-such-route")
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"


def test_behind_https_the_session_cookie_is_secure(settings, clock, database):
    from dataclasses import replace

    from fastapi.testclient import TestClient

    from signalbox.api.app import create_app

    secure = replace(settings, public_url="https://signalbox.example.com")
    app = create_app(secure, clock=clock, engine=database, sweep_seconds=None)
    with TestClient(app, base_url="https://signalbox.example.com") as https_client:
        token = _new_token(https_client, "coo", "stakeholder:dev")
        login = https_client.get("/login")
        answer = https_client.post(
            "/login",
            data={"token": token, "csrf": form_token_of(login.text), "next": "/"},
            follow_redirects=False,
        )
        cookie = next(c for c in answer.headers.get_list("set-cookie") if SESSION_COOKIE in c)
        assert "Secure" in cookie and "HttpOnly" in cookie

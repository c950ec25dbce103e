"""The pages, in process (TestClient with a fake clock) and in a real browser against a real
`signalbox serve`.

In process: ``client`` is the app of tests/api (dev in Berlin with a 17-minute deploy, prod
in UTC); ``browser_for("coo", "stakeholder:dev")`` is a new client signed in with a new token
of those grants, with its session's form token in ``.form_token``.

In a browser: ``browser`` (Chromium, once per worker; skips saying why when there is none)
and ``live`` (a real `signalbox serve` on the story's config, its URL and admin token, and
``live.token(name, *grants)`` making tokens through the CLI).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import ADMIN, ADMIN_TOKEN, app, client, settings  # noqa: F401
from tests.support.browser import NO_CHROMIUM, chromium_path
from tests.support.servers import create_token, story_server

from signalbox.testing import (  # noqa: F401  (fixtures)
    clock,
    database,
    postgres_database_url,
    postgres_engine,
    sqlite_template,
)

_FORM_TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


class SignedInClient(TestClient):
    form_token: str = ""


def form_token_of(html: str) -> str:
    found = _FORM_TOKEN.search(html)
    assert found, "no form token on the page"
    return found.group(1)


def sign_in_client(signed: TestClient, token: str) -> str:
    """Sign ``signed`` in with ``token``; returns the session's form token."""
    login = signed.get("/login")
    answer = signed.post(
        "/login",
        data={"token": token, "csrf": form_token_of(login.text), "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    board = signed.get("/")
    assert board.status_code == 200, board.text
    return form_token_of(board.text)


@pytest.fixture
def browser_for(client, app) -> Iterator[Callable[..., SignedInClient]]:  # noqa: F811
    made: list[SignedInClient] = []

    def make(name: str, *grants: str) -> SignedInClient:
        answer = client.post(
            "/api/tokens", headers=ADMIN, json={"name": name, "grants": list(grants)}
        )
        assert answer.status_code == 201, answer.text
        signed = SignedInClient(app, raise_server_exceptions=False)
        signed.form_token = sign_in_client(signed, answer.json()["token"])
        made.append(signed)
        return signed

    yield make
    for each in made:
        each.close()


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass
class Live:
    url: str
    admin: str

    def token(self, name: str, *grants: str) -> str:
        return create_token(self.url, self.admin, name, list(grants))


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    admin = "sbx_web-admin-" + "0" * 24
    with story_server(tmp_path, admin) as running:
        yield Live(running.url, admin)

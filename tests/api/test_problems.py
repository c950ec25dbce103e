"""One error shape: every code in the problems table, unknown routes, 413, 500."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from tests.api.conftest import ADMIN

from signalbox.api.app import create_app
from signalbox.api.problems import STATUS_BY_CODE, status_for
from signalbox.core.errors import SignalboxError, all_error_classes

BY_CODE = {cls.code: cls for cls in all_error_classes()}
PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "hint"}


@pytest.fixture
def raising_client(settings, clock, database):
    router = APIRouter()

    @router.get("/api/test/raise/{code}")
    def raise_code(code: str) -> None:
        if code == "unexpected":
            raise RuntimeError("secret internals")
        raise BY_CODE[code]("What happened and why.", hint="What to do.", extra="detail")

    app = create_app(settings, clock=clock, engine=database, sweep_seconds=None)
    app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def assert_problem(answer, status, code):
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert set(body) >= PROBLEM_KEYS
    assert body["status"] == status and body["code"] == code
    assert body["type"] == f"urn:signalbox:error:{code}"
    return body


@pytest.mark.parametrize(("code", "status"), sorted(STATUS_BY_CODE.items()))
def test_every_code_in_the_table_answers_the_problem_shape(raising_client, code, status):
    body = assert_problem(raising_client.get(f"/api/test/raise/{code}"), status, code)
    assert (body["detail"], body["hint"], body["extra"]) == (
        "What happened and why.",
        "What to do.",
        "detail",
    )


def test_every_error_class_resolves_to_the_status_of_its_nearest_listed_class():
    for cls in all_error_classes():
        listed = next(c for c in cls.__mro__ if getattr(c, "code", None) in STATUS_BY_CODE)
        assert status_for(cls("x")) == STATUS_BY_CODE[listed.code]


def test_status_falls_back_to_the_nearest_base_class():
    class Special(SignalboxError.__subclasses__()[0]):  # type: ignore[misc]
        code = "special-test-only"

    assert status_for(Special("x")) == status_for(SignalboxError.__subclasses__()[0]("x"))


def test_unexpected_errors_are_500_problems_without_internals(raising_client):
    body = assert_problem(raising_client.get("/api/test/raise/unexpected"), 500, "error")
    assert "secret internals" not in str(body)


def test_unknown_route_and_method(client):
    assert_problem(client.get("/api/nothing-here", headers=ADMIN), 404, "not-found")
    assert_problem(client.put("/api/tokens", headers=ADMIN), 405, "usage")


def test_oversized_bodies_are_413_declared_or_streamed(client):
    big = {"reason": "x" * 5000}
    answer = client.post("/api/environments/dev/hold", headers=ADMIN, json=big)
    body = assert_problem(answer, 413, "payload-too-large")
    assert body["limit"] == 4096

    def chunks():
        yield b'{"reason": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    streamed = client.post(
        "/api/environments/dev/hold",
        content=chunks(),
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert_problem(streamed, 413, "payload-too-large")


def test_details_that_are_not_plain_json_are_encoded():
    from datetime import UTC, datetime

    from signalbox.api.problems import problem_response
    from signalbox.core.errors import Conflict

    response = problem_response(Conflict("x", until=datetime(2026, 11, 26, 16, tzinfo=UTC)))
    assert b'"until":"2026-11-26T16:00:00+00:00"' in response.body


@pytest.mark.parametrize(("code", "status"), sorted(STATUS_BY_CODE.items()))
def test_an_error_on_a_page_is_a_page_with_the_same_status(settings, clock, database, code, status):
    """Pages (any path outside /api/, /tf/ and the docs) answer errors as HTML with the status
    of the one table; a 401 sends the browser to sign in instead."""
    router = APIRouter()

    @router.get("/page/raise/{code}")
    def raise_code(code: str) -> None:
        raise BY_CODE[code]("What happened and why.", hint="What to do.")

    app = create_app(settings, clock=clock, engine=database, sweep_seconds=None)
    app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get(f"/page/raise/{code}", follow_redirects=False)
    if status == 401:
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/login?next=/page/raise/{code}"
        return
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert "What happened and why." in answer.text and "What to do." in answer.text

"""The waiting gates' re-polls parked before FastAPI (``api.parked_polls``): which requests it
takes, and that what it answers is exactly the route's answer."""

from __future__ import annotations

import pytest
from tests.api.test_deploys_api import request
from tests.api.test_metrics import scrape, value

from signalbox.api.context import Server
from signalbox.api.parked_polls import ParkedPolls


@pytest.fixture
def ci(token_for):
    return token_for("ci-dev", "developer:dev", ci=True)


def _scope(path: str, query: str, authorization: str | None, method: str = "GET") -> dict:
    headers = [] if authorization is None else [(b"authorization", authorization.encode())]
    return {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query.encode(),
        "headers": headers,
    }


def _waiting(client, ci) -> tuple[dict, str]:
    """A deploy waiting behind a running one, asked about once through the route (so that
    the process knows its token and environment); its decision path."""
    request(client, ci, branch="a")
    waiting = request(client, ci, branch="b")
    path = f"/api/deploys/{waiting['deploy']['id']}/decision"
    polled = client.get(path, params={"since": waiting["version"], "wait": 0}, headers=ci)
    assert polled.json()["unchanged"] is True
    return waiting, path


def test_a_known_gates_re_poll_is_parked_and_anything_else_goes_to_the_route(
    app, client, ci
) -> None:
    waiting, path = _waiting(client, ci)
    context: Server = app.state.server
    parked = ParkedPolls(app, context, route=None)
    token = ci["Authorization"]
    version = waiting["version"]
    parkable = parked._parkable
    assert parkable(_scope(path, f"since={version}&wait=5", token)) == (
        waiting["deploy"]["id"],
        "dev",
        version,
        5,
        token.removeprefix("Bearer "),
    )
    assert parkable(_scope(path, f"since={version}", token))[3] == 25  # the gate's default
    for other in (
        _scope(path, f"since={version}&wait=5", token, method="POST"),
        _scope(path, f"since={version}&wait=5", None),  # no token: the route's 401
        _scope(path, f"since={version}&wait=5", "Bearer sbx_unknown"),  # never checked here
        _scope(path, "wait=5", token),  # a first ask: the route decides
        _scope(path, f"since={version}&recheck_at=2026-12-01T10:00:00Z", token),
        _scope(path, f"since={version}&since=1", token),  # twice: the route's validation
        _scope(path, "since=-1", token),
        _scope(path, "since=1e3", token),
        _scope(path, f"since={2**31}", token),  # out of range: the route's 422
        _scope("/api/deploys/999/decision", f"since={version}", token),  # never seen here
        _scope(path + "/", f"since={version}", token),
    ):
        assert parkable(other) is None, other


def test_a_parked_re_poll_answers_what_the_route_answers(client, ci) -> None:
    waiting, path = _waiting(client, ci)
    parked = client.get(path, params={"since": waiting["version"], "wait": 0}, headers=ci)
    assert parked.status_code == 200
    assert parked.headers["content-type"] == "application/json"
    assert parked.json() == {
        "unchanged": True,
        "version": waiting["version"],
        "deploy": {"id": waiting["deploy"]["id"]},
    }


def test_a_re_poll_from_before_a_change_is_decided_by_the_route(client, ci) -> None:
    waiting, path = _waiting(client, ci)
    older = client.get(path, params={"since": waiting["version"] - 2, "wait": 25}, headers=ci)
    assert older.json()["decision"] == "wait"
    assert older.json()["version"] == waiting["version"]


def test_a_parked_re_poll_is_counted_under_the_route(client, ci) -> None:
    waiting, path = _waiting(client, ci)
    client.get(path, params={"since": waiting["version"], "wait": 0}, headers=ci)
    samples = scrape(client)
    labels = {"method": "GET", "route": "/api/deploys/{deploy_id}/decision", "status": "200"}
    assert value(samples, "signalbox_http_requests_total", **labels) == 2  # routed, parked

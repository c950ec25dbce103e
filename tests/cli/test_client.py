"""The CLI's HTTP client: problem+json -> the matching error, unreachable -> a hint."""

from __future__ import annotations

import httpx
import pytest

from signalbox.cli.client import DEFAULT_URL, ApiClient, error_from_problem
from signalbox.cli.exit_codes import ExitCode, exit_code_for
from signalbox.core.errors import (
    BadServerResponse,
    Held,
    ServerUnreachable,
    SignalboxError,
    UnknownEnvironment,
)


def client_answering(status: int, body=None, *, content: bytes | None = None, seen=None):
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        if content is not None:
            return httpx.Response(status, content=content)
        return httpx.Response(
            status, json=body, headers={"content-type": "application/problem+json"}
        )

    return ApiClient("http://signalbox.test", "sbx_t", transport=httpx.MockTransport(handler))


def test_held_problem_becomes_held_with_the_holder_and_exit_75():
    body = {
        "type": "urn:signalbox:error:held",
        "title": "Held",
        "status": 409,
        "detail": "dev is held by platform-eng since 13:00 CET until 17:00 CET: x.",
        "code": "held",
        "hint": "Ask platform-eng.",
        "holder": "platform-eng",
    }
    with pytest.raises(Held) as raised:
        client_answering(409, body).post("/api/environments/dev/hold", {})
    assert raised.value.details["holder"] == "platform-eng"
    assert raised.value.hint == "Ask platform-eng."
    assert exit_code_for(raised.value) is ExitCode.REFUSED


def test_codes_map_to_their_classes_and_unknown_codes_to_the_base():
    assert isinstance(
        error_from_problem(404, {"code": "unknown-environment", "detail": "x"}), UnknownEnvironment
    )
    unknown = error_from_problem(418, {"code": "from-the-future", "detail": "x"})
    assert type(unknown) is SignalboxError and unknown.message == "x"


def test_a_non_signalbox_answer_is_bad_server_response():
    with pytest.raises(BadServerResponse):
        client_answering(502, content=b"<html>bad gateway</html>").get("/api/environments")


def test_no_server_is_unreachable_with_a_hint():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = ApiClient("http://127.0.0.1:9", None, transport=httpx.MockTransport(refuse))
    with pytest.raises(ServerUnreachable) as raised:
        client.get("/api/environments")
    assert "signalbox serve" in raised.value.hint
    assert exit_code_for(raised.value) is ExitCode.FAILURE


def test_token_is_sent_as_bearer_and_none_params_are_dropped():
    seen: list[httpx.Request] = []
    client_answering(200, {"events": []}, seen=seen).get("/api/events", env=None, limit=5)
    assert seen[0].headers["authorization"] == "Bearer sbx_t"
    assert str(seen[0].url) == "http://signalbox.test/api/events?limit=5"


def test_the_gate_transport_sends_each_calls_own_timeout():
    """A heartbeat must give up within its 30 s, not the client's long-poll timeout: a
    stalled renewal must not outlive the lease it renews."""
    from signalbox.cli.gate_api import client_transport

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"deploy": {}})

    client = ApiClient(
        "http://signalbox.test", "t", transport=httpx.MockTransport(handler), timeout=120.0
    )
    transport = client_transport(client)
    transport("POST", "/api/deploys/1/heartbeat", json={"fencing_token": 3}, timeout=30.0)
    transport("GET", "/api/deploys/1/decision", params={"since": 1})
    assert seen[0].extensions["timeout"]["read"] == 30.0
    assert seen[1].extensions["timeout"]["read"] == 120.0  # none given: the client's own


def test_flags_win_over_environment_variables_over_defaults():
    env = {"SIGNALBOX_URL": "http://env:1", "SIGNALBOX_TOKEN": "from-env"}
    assert ApiClient.from_options(environ={}).base_url == DEFAULT_URL
    assert ApiClient.from_options(environ=env).base_url == "http://env:1"
    assert ApiClient.from_options("http://flag:2", environ=env).base_url == "http://flag:2"

"""``GET /api/events/stream`` (server-sent events) on a real HTTP server (uvicorn in a thread,
the app on a real database): each new event the caller may read, once, in id order, told in
its environment's zone; ``after`` and ``Last-Event-ID`` resume; keep-alive comments, and a
revoked token ends the stream; the errors of a bad request."""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from tests.api.conftest import ADMIN, bearer

from signalbox.api.app import create_app
from signalbox.api.routes import event_stream
from signalbox.local_server import free_port

DEADLINE = 10.0


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` on a real loopback port, in a thread; its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + DEADLINE
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)  # polling start-up, with a deadline
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(DEADLINE)


@pytest.fixture
def url(settings, database):
    app = create_app(settings, engine=database, sweep_seconds=None)
    with serving(app) as base:
        yield base


@dataclass
class Frame:
    """One server-sent event as read off the wire, or a comment (``comment`` set)."""

    id: str | None = None
    event: str | None = None
    data: list[str] = field(default_factory=list)
    comment: str | None = None

    @property
    def json(self) -> Any:
        return json.loads("\n".join(self.data))


class Stream:
    """Reads a stream's frames in a thread; ``next()`` waits for the next one with a
    deadline; ``ended`` is set when the server closed the stream."""

    def __init__(self, base: str, headers: dict[str, str], **params: Any) -> None:
        self.frames: queue.Queue[Frame] = queue.Queue()
        self.ended = threading.Event()
        self.status: int | None = None
        self.body: Any = None
        self._ready = threading.Event()
        self._socket: socket.socket | None = None
        self._client = httpx.Client(base_url=base, timeout=httpx.Timeout(DEADLINE, read=60))
        self._thread = threading.Thread(
            target=self._read, args=(headers, params), daemon=True, name="sse-reader"
        )
        self._thread.start()
        assert self._ready.wait(DEADLINE), "no answer to the stream request"

    def _read(self, headers: dict[str, str], params: dict[str, Any]) -> None:
        try:
            with self._client.stream(
                "GET", "/api/events/stream", headers=headers, params=params
            ) as response:
                self.status = response.status_code
                self._socket = response.extensions["network_stream"].get_extra_info("socket")
                if response.status_code != 200:
                    self.body = json.loads(response.read())
                    self._ready.set()
                    return
                self._ready.set()
                frame = Frame()
                for line in response.iter_lines():
                    if line == "":
                        if frame.data or frame.comment is not None:
                            self.frames.put(frame)
                        frame = Frame()
                    elif line.startswith(":"):
                        frame.comment = line[1:].strip()
                    else:
                        name, _, value = line.partition(": ")
                        if name == "data":
                            frame.data.append(value)
                        elif name in ("id", "event"):
                            setattr(frame, name, value)
        except httpx.HTTPError:
            pass  # closed by the test
        finally:
            self._ready.set()
            self.ended.set()

    def next(self, *, events_only: bool = True) -> Frame:
        deadline = time.monotonic() + DEADLINE
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "no frame in time"
            try:
                frame = self.frames.get(timeout=left)
            except queue.Empty:
                raise AssertionError("no frame in time") from None
            if frame.comment is None or not events_only:
                return frame

    def close(self) -> None:
        """Hang up: shutting the socket down wakes the reader blocked in a read."""
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        self._thread.join(DEADLINE)
        assert not self._thread.is_alive()
        self._client.close()


@contextlib.contextmanager
def stream(base: str, headers: dict[str, str], **params: Any) -> Iterator[Stream]:
    opened = Stream(base, headers, **params)
    try:
        if opened.status == 200:
            first = opened.next(events_only=False)  # the stream says it is following
            assert first.comment == "following events", first
        yield opened
    finally:
        opened.close()


def post(base: str, path: str, headers: dict[str, str] = ADMIN, **body: Any) -> Any:
    answer = httpx.post(base + path, headers=headers, json=body, timeout=DEADLINE)
    assert answer.is_success, answer.text
    return answer.json()


def hold(base: str, environment: str) -> None:
    post(base, f"/api/environments/{environment}/hold", reason="renaming the pool", duration="2h")


def release(base: str, environment: str) -> None:
    answer = httpx.delete(f"{base}/api/environments/{environment}/hold", headers=ADMIN)
    assert answer.is_success, answer.text


def token(base: str, name: str, *grants: str) -> dict[str, str]:
    created = post(base, "/api/tokens", name=name, grants=list(grants), ci=False)
    return bearer(created["token"])


def test_each_new_event_of_the_environment_comes_once_in_order_in_its_zone(url):
    hold(url, "dev")  # before the stream: not news
    with stream(url, ADMIN, env="dev") as dev:
        release(url, "dev")
        hold(url, "prod")  # another environment: not in this stream
        hold(url, "dev")
        released, granted = dev.next(), dev.next()
        assert (released.event, granted.event) == ("hold.released", "hold.granted")
        assert int(released.id) < int(granted.id)
        event = granted.json
        assert event["id"] == int(granted.id) and event["kind"] == "hold.granted"
        assert event["environment"] == "dev" and event["timezone"] == "Europe/Berlin"
        assert event["actor"] == "bootstrap-admin"
        assert event["message"].startswith("bootstrap-admin held dev for 2h (until ")
        assert " CET" in event["message"] or " CEST" in event["message"]
        assert set(event) == {
            "id", "environment", "at", "timezone", "actor", "kind", "message", "data",
            "deploy_id",
        }  # fmt: skip


def test_the_whole_log_has_global_events_only_for_readers_of_every_environment(url):
    viewer = token(url, "dev-viewer", "viewer:dev")
    with stream(url, ADMIN) as everything, stream(url, viewer) as dev_only:
        post(url, "/api/tokens", name="ci-dev", grants=["developer:dev"], ci=True)
        hold(url, "prod")
        hold(url, "dev")
        kinds = [(f.event, f.json["environment"]) for f in (everything.next() for _ in range(3))]
        assert kinds == [("token.created", None), ("hold.granted", "prod"), ("hold.granted", "dev")]
        only = dev_only.next()  # neither the global event nor prod's
        assert (only.event, only.json["environment"]) == ("hold.granted", "dev")


def test_after_and_last_event_id_resume_where_a_client_stopped(url):
    hold(url, "dev")
    release(url, "dev")
    events = httpx.get(f"{url}/api/events", headers=ADMIN, params={"env": "dev"}).json()
    granted, released = events["events"][1]["id"], events["events"][0]["id"]
    assert granted < released

    with stream(url, ADMIN, env="dev", after=granted) as resumed:
        assert int(resumed.next().id) == released
    with stream(url, {**ADMIN, "Last-Event-ID": str(granted)}, env="dev", after=0) as again:
        assert int(again.next().id) == released  # Last-Event-ID wins over after
        hold(url, "dev")
        assert again.next().event == "hold.granted"  # and it goes on live


def test_keep_alive_comments_and_a_revoked_token_ends_the_stream(url, monkeypatch):
    monkeypatch.setattr(event_stream, "KEEPALIVE_SECONDS", 0.2)
    viewer = token(url, "watcher", "viewer:*")
    with stream(url, viewer, env="dev") as watching:
        beat = watching.next(events_only=False)
        assert beat.comment == "keep-alive"
        answer = httpx.delete(f"{url}/api/tokens/watcher", headers=ADMIN)
        assert answer.is_success, answer.text
        assert watching.ended.wait(DEADLINE), "the stream went on with a revoked token"


@pytest.mark.parametrize(
    ("headers", "params", "status", "code"),
    [
        ({}, {}, 401, "unauthenticated"),
        (ADMIN, {"env": "nope"}, 404, "unknown-environment"),
        (dict(ADMIN, **{"Last-Event-ID": "yesterday"}), {}, 422, "invalid-input"),
    ],
)
def test_a_bad_request_is_answered_with_a_problem(url, headers, params, status, code):
    with stream(url, headers, **params) as refused:
        assert refused.status == status and refused.body["code"] == code


def test_a_caller_without_read_on_the_environment_is_refused(url):
    prod_viewer = token(url, "prod-viewer", "viewer:prod")
    with stream(url, prod_viewer, env="dev") as refused:
        assert refused.status == 403 and refused.body["code"] == "forbidden"

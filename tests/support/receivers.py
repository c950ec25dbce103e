"""Real loopback receivers for notification tests: what Apprise sends arrives here.

- ``HttpReceiver``: an ``http.server`` in a thread on a free 127.0.0.1 port that records the
  posts of Apprise's ``json://`` and ``form://`` plugins (path, content type, the title,
  message and type they carry). It answers 200, or is told to answer an error
  (``fail(500)``), to stop listening (``refuse()``: connections are refused until
  ``answer_ok()``), or to hold each request without an answer (``hang()``: the request is
  recorded as an attempt, never as a post, and its connection is dropped when released).
- ``SmtpReceiver``: an aiosmtpd ``Controller`` on a free 127.0.0.1 port that records every
  mail (subject, plain-text body, envelope sender and recipients) Apprise's ``mailto://``
  sends.

Both offer ``wait_for(count, timeout)``: block on a ``threading.Condition`` until that many
have arrived, or fail saying what did arrive (no sleeps).

The pytest fixtures ``http_receiver``, ``second_http_receiver`` and ``smtp_receiver`` are
defined here; import them into a test module or a conftest.py::

    from tests.support.receivers import http_receiver  # noqa: F401  (fixture)

    def test_x(http_receiver):
        url = http_receiver.url("json", "/hooks/dev")   # json://127.0.0.1:PORT/hooks/dev
        ...
        [post] = http_receiver.wait_for(1)
        assert post.title == "dev: hold granted"
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest

from signalbox.local_server import free_port

__all__ = [
    "HttpReceiver",
    "Mail",
    "Post",
    "SmtpReceiver",
    "event_ids",
    "http_receiver",
    "second_http_receiver",
    "smtp_receiver",
]

_EVENT_ID = re.compile(r"signalbox event (\d+)\s*$")
T = TypeVar("T")


def _event_id(text: str) -> int | None:
    found = _EVENT_ID.search(text.strip())
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class Post:
    """One request as the HTTP receiver read it. ``title``, ``message`` and ``type`` are the
    fields of Apprise's JSON or form payload ("" when the body had none)."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str
    headers: dict[str, str]
    body: bytes
    title: str
    message: str
    type: str

    @property
    def event_id(self) -> int | None:
        """The ``signalbox event N`` at the end of the message (how a receiver dedupes)."""
        return _event_id(self.message)

    @property
    def sentence(self) -> str:
        """The message's first line: the sentence people read."""
        return self.message.split("\n", 1)[0]


@dataclass(frozen=True)
class Mail:
    """One mail as the SMTP receiver got it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    subject: str
    body: str
    raw: bytes

    @property
    def event_id(self) -> int | None:
        return _event_id(self.body)


def event_ids(received: Sequence[Post | Mail]) -> list[int | None]:
    """The event ids of ``received``, in arrival order."""
    return [item.event_id for item in received]


def _parse_post(handler: BaseHTTPRequestHandler, body: bytes) -> Post:
    parts = urlsplit(handler.path)
    content_type = handler.headers.get("Content-Type", "")
    fields: dict[str, Any] = {}
    if content_type.startswith("application/json"):
        try:
            loaded = json.loads(body or b"{}")
        except ValueError:
            loaded = {}
        fields = loaded if isinstance(loaded, dict) else {}
    elif content_type.startswith("application/x-www-form-urlencoded"):
        fields = {key: values[-1] for key, values in parse_qs(body.decode()).items()}
    return Post(
        method=handler.command,
        path=parts.path,
        query={key: values[-1] for key, values in parse_qs(parts.query).items()},
        content_type=content_type,
        headers={key.lower(): value for key, value in handler.headers.items()},
        body=body,
        title=str(fields.get("title", "")),
        message=str(fields.get("message", "")),
        type=str(fields.get("type", "")),
    )


class _Waitable:
    """A list that grows from other threads, and a way to wait until it is long enough."""

    def __init__(self) -> None:
        self.changed = threading.Condition()

    def _wait(self, items: Callable[[], list[T]], count: int, timeout: float, what: str) -> list[T]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(items()) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    got = items()
                    shown = "\n".join(f"  {item!r}" for item in got) or "  (nothing)"
                    raise AssertionError(
                        f"waited {timeout}s for {count} {what}, got {len(got)}:\n{shown}"
                    )
                self.changed.wait(left)
            return list(items())


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.receiver._handle(self, _parse_post(self, body))

    do_PUT = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the tests say what they saw


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], receiver: HttpReceiver) -> None:
        self.receiver = receiver
        super().__init__(address, _Handler)


class HttpReceiver(_Waitable):
    """An HTTP receiver on 127.0.0.1 (see the module's docstring).

    ``posts``: the requests it answered with a 2xx, in arrival order (what was delivered);
    ``attempts``: every request it read, whatever it answered."""

    HANG_LIMIT = 30.0
    """A hung request is dropped after this long even when nobody releases it."""

    def __init__(self, port: int = 0) -> None:
        super().__init__()
        self.port = port or free_port()
        self.posts: list[Post] = []
        self.attempts: list[Post] = []
        self.hung: list[Post] = []
        self._status = 200
        self._fail_times: int | None = None
        self._hang = False
        self._hang_seconds = self.HANG_LIMIT
        self._released = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.on_post: Callable[[Post], None] | None = None
        """Called (in the receiver's thread) with each request before it is answered: a test
        acts at the moment of delivery, e.g. moves its fake clock."""

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> HttpReceiver:
        if self._server is None:
            self._server = _Server(("127.0.0.1", self.port), self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"http-receiver-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def _close(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def stop(self) -> None:
        self._released.set()
        self._close()

    def __enter__(self) -> HttpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what it answers -------------------------------------------------------------------

    def url(self, scheme: str = "json", path: str = "/notify", auth: str = "") -> str:
        """An Apprise URL to this receiver: ``json://[auth@]127.0.0.1:PORT/path``."""
        who = f"{auth}@" if auth else ""
        return f"{scheme}://{who}127.0.0.1:{self.port}{path}"

    def answer_ok(self) -> None:
        """Answer 200 again (listening again after ``refuse``; hung requests are dropped)."""
        with self.changed:
            self._status, self._fail_times, self._hang = 200, None, False
            self._released.set()
        self.start()

    def fail(self, status: int = 500, *, times: int | None = None) -> None:
        """Answer ``status`` to every request, or only to the next ``times`` ones."""
        with self.changed:
            self._status, self._fail_times, self._hang = status, times, False
        self.start()

    def refuse(self) -> None:
        """Stop listening on the port: connections are refused until ``answer_ok``."""
        self._released.set()
        self._close()

    def hang(self, seconds: float | None = None) -> None:
        """Hold every request without an answer for ``seconds`` (default: until
        ``answer_ok``, at most HANG_LIMIT), then drop its connection: the sender sees its
        request time out or its connection reset."""
        with self.changed:
            self._hang = True
            self._hang_seconds = self.HANG_LIMIT if seconds is None else seconds
            self._released = threading.Event()
        self.start()

    # -- waiting ----------------------------------------------------------------------------

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Post]:
        """Block until ``count`` posts were answered 2xx; all of them (AssertionError
        saying what came when they do not come in time)."""
        return self._wait(lambda: self.posts, count, timeout, "posts")

    def wait_for_post(self, matching: Callable[[Post], bool], timeout: float = 10.0) -> Post:
        """Block until a post answered 2xx matches; the first that does."""
        try:
            found = self._wait(lambda: [p for p in self.posts if matching(p)], 1, timeout, "")
        except AssertionError:
            shown = "\n".join(f"  {post.title}: {post.sentence}" for post in self.posts)
            raise AssertionError(
                f"waited {timeout}s for a matching post; got:\n{shown or '  (nothing)'}"
            ) from None
        return found[0]

    def wait_for_attempts(self, count: int, timeout: float = 10.0) -> list[Post]:
        return self._wait(lambda: self.attempts, count, timeout, "requests")

    def wait_for_hung(self, count: int, timeout: float = 10.0) -> list[Post]:
        return self._wait(lambda: self.hung, count, timeout, "hung requests")

    # -- the handler --------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, post: Post) -> None:
        if self.on_post is not None:
            self.on_post(post)
        with self.changed:
            self.attempts.append(post)
            hang, released, hold_for = self._hang, self._released, self._hang_seconds
            status = self._status
            if status >= 300 and self._fail_times is not None:
                self._fail_times -= 1
                if self._fail_times <= 0:
                    self._status, self._fail_times = 200, None
            if hang:
                self.hung.append(post)
            elif 200 <= status < 300:
                self.posts.append(post)
            self.changed.notify_all()
        if hang:
            released.wait(hold_for)
            handler.close_connection = True
            return  # no answer: the connection is closed as it is
        handler.send_response(status)
        answer = b'{"ok": true}' if status < 300 else b'{"error": "the receiver fails"}'
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(answer)))
        handler.end_headers()
        handler.wfile.write(answer)


class _SmtpHandler:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        parsed = message_from_bytes(raw, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        part = parsed.get_body(preferencelist=("plain", "html"))
        body = part.get_content() if part is not None else ""
        mail = Mail(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            subject=str(parsed.get("Subject", "")),
            body=str(body).replace("\r\n", "\n"),
            raw=raw,
        )
        with self.receiver.changed:
            self.receiver.mails.append(mail)
            self.receiver.changed.notify_all()
        return "250 Message accepted for delivery"


class SmtpReceiver(_Waitable):
    """An SMTP server (aiosmtpd) on 127.0.0.1 that records every mail it accepts."""

    def __init__(self, port: int = 0) -> None:
        super().__init__()
        from aiosmtpd.controller import Controller

        self.port = port or free_port()
        self.mails: list[Mail] = []
        self._controller = Controller(_SmtpHandler(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpReceiver:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(
        self, to: str = "stakeholders@example.com", sender: str = "signalbox@example.com"
    ) -> str:
        """An Apprise ``mailto://`` URL that sends to this server without TLS or login."""
        return f"mailto://127.0.0.1:{self.port}?mode=insecure&from={sender}&to={to}&smtp=127.0.0.1"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Mail]:
        return self._wait(lambda: self.mails, count, timeout, "mails")


# -- pytest fixtures ------------------------------------------------------------------------


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    """A running HttpReceiver (stopped after the test)."""
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def second_http_receiver() -> Iterator[HttpReceiver]:
    """Another one, for a second target."""
    with HttpReceiver() as receiver:
        yield receiver


@pytest.fixture
def smtp_receiver() -> Iterator[SmtpReceiver]:
    """A running SmtpReceiver (stopped after the test)."""
    with SmtpReceiver() as receiver:
        yield receiver

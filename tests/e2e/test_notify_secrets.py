"""A notification URL's secrets never leave the server: a real `signalbox serve` with targets
whose URLs carry a unique secret (password, token in the path and in the query) fails to
deliver through some of them (500, connection refused, an SMTP server without AUTH),
succeeds through another, is asked to retry and to send a test message; then everything a
user or operator can see is searched for the secret: the server's output, the API's answers
(notifications, events, the environment's picture, the test message's answer), the CLI's
output, and every column of the events and event_deliveries tables."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from tests.support.receivers import HttpReceiver, SmtpReceiver
from tests.support.servers import create_token, run_cli

from signalbox.storage.engine import build_engine
from signalbox.storage.tables import EventDeliveryRow, EventRow
from signalbox.storage.uow import UnitOfWork
from signalbox.testing import ServerProcess, free_port

pytestmark = pytest.mark.slow

ADMIN = "sbx_notify-secrets-admin"
CONFIG = """
[server]
notify_give_up = "8s"

[environments.dev]
timezone = "Europe/Berlin"

[[notify]]
name = "failing"
urls_env = "SIGNALBOX_NOTIFY_FAILING"

[[notify]]
name = "refused"
urls_env = "SIGNALBOX_NOTIFY_REFUSED"

[[notify]]
name = "mail"
urls_env = "SIGNALBOX_NOTIFY_MAIL"

[[notify]]
name = "working"
urls_env = "SIGNALBOX_NOTIFY_WORKING"
"""
FAILING_TARGETS = ("failing", "refused", "mail")


def wait_until(condition: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        assert time.monotonic() < deadline, f"waited {timeout}s for {what}"
        pause.wait(0.05)


def test_a_notification_urls_secrets_are_never_shown(tmp_path: Path) -> None:
    secret = "Zq" + secrets.token_hex(8)
    password, path_token, query_token = f"pw{secret}", f"tok{secret}", f"q{secret}"

    def url(scheme: str, port: int) -> str:
        return f"{scheme}://signalbox:{password}@127.0.0.1:{port}/hooks/{path_token}?-token={query_token}"

    with HttpReceiver() as failing, HttpReceiver() as working, SmtpReceiver() as mail:
        failing.fail(500)
        database = tmp_path / "signalbox.db"
        config = tmp_path / "signalbox.toml"
        config.write_text(CONFIG)
        log = tmp_path / "server.log"
        env = {
            "SIGNALBOX_DATABASE_URL": f"sqlite:///{database}",
            "SIGNALBOX_ADMIN_TOKEN": ADMIN,
            "SIGNALBOX_NOTIFY_FAILING": url("json", failing.port),
            "SIGNALBOX_NOTIFY_REFUSED": url("json", free_port()),  # nobody listens there
            "SIGNALBOX_NOTIFY_MAIL": (
                f"mailto://signalbox:{password}@127.0.0.1:{mail.port}/{path_token}"
                f"?mode=insecure&from=signalbox@example.com&to=coo@example.com"
            ),
            "SIGNALBOX_NOTIFY_WORKING": url("form", working.port),
        }
        seen: dict[str, str] = {}
        engine = build_engine(f"sqlite:///{database}")
        try:
            with ServerProcess(config=config, env=env, log=log) as server:
                admin = {"Authorization": f"Bearer {ADMIN}"}
                token = create_token(server.url, ADMIN, "platform-eng", ["developer:dev"])
                mine = {"Authorization": f"Bearer {token}"}
                for _ in range(2):
                    answer = httpx.post(
                        f"{server.url}/api/environments/dev/hold",
                        headers=mine,
                        json={"reason": "renaming cognito pool"},
                        timeout=30,
                    )
                    assert answer.status_code == 200, answer.text
                    answer = httpx.delete(
                        f"{server.url}/api/environments/dev/hold", headers=mine, timeout=30
                    )
                    assert answer.status_code == 200, answer.text

                # the working target took every message, with the secrets it was given
                posts = working.wait_for(4, timeout=30)
                assert posts[0].path == f"/hooks/{path_token}"
                assert posts[0].query == {"token": query_token}
                assert posts[0].headers["authorization"].startswith("Basic ")

                def given_up() -> int:
                    with UnitOfWork(engine, read_only=True) as uow:
                        query = select(EventDeliveryRow.id).where(
                            EventDeliveryRow.state == "given-up"
                        )
                        return len(list(uow.session.scalars(query)))

                wait_until(lambda: given_up() == 12, "every failing delivery to be given up")
                assert len(failing.attempts) == 4  # each message tried, answered 500

                retried = httpx.post(
                    f"{server.url}/api/notifications/targets/failing/retry",
                    headers=admin,
                    timeout=30,
                )
                seen["retry target"] = retried.text
                assert retried.status_code == 200, retried.text
                wait_until(lambda: len(failing.attempts) == 8, "the retried messages")
                wait_until(lambda: given_up() == 12, "the retried ones to be given up again")

                for name in (*FAILING_TARGETS, "working"):
                    tested = httpx.post(
                        f"{server.url}/api/notify/{name}/test", headers=admin, timeout=60
                    )
                    assert tested.status_code == 200, tested.text
                    seen[f"test {name}"] = tested.text
                assert json.loads(seen["test working"])["sent"] is True
                assert "500" in json.loads(seen["test failing"])["answer"]  # Apprise's words

                for path in (
                    "/api/notifications",
                    "/api/notifications?failed=true",
                    "/api/events?limit=500",
                    "/api/environments/dev",
                    "/api/environments",
                ):
                    answer = httpx.get(server.url + path, headers=admin, timeout=30)
                    assert answer.status_code == 200, (path, answer.text)
                    seen[path] = answer.text
                listed = json.loads(seen["/api/notifications"])
                errors = " ".join(str(d.get("last_error")) for d in listed["deliveries"])
                assert "error=500" in errors and "Connection error" in errors  # told, redacted

                for args in (
                    ("notifications",),
                    ("notifications", "--failed"),
                    ("notifications", "--json"),
                    ("notifications", "--target", "mail", "--json"),
                    ("notify", "test", "failing"),
                    ("notify", "test", "refused"),
                    ("notifications", "retry", "--target", "refused"),
                    ("events", "--json"),
                    ("status",),
                ):
                    done = run_cli(server.url, ADMIN, *args)
                    assert done.returncode in (0, 1), (args, done.stdout, done.stderr)
                    seen["signalbox " + " ".join(args)] = done.stdout + done.stderr
            with UnitOfWork(engine, read_only=True) as uow:
                for table in (EventRow.__table__, EventDeliveryRow.__table__):
                    rows = uow.session.execute(select(table)).all()
                    assert rows
                    seen[f"table {table.name}"] = "\n".join(repr(tuple(row)) for row in rows)
        finally:
            engine.dispose()
        seen["server output"] = log.read_text()

    assert "Connection error" in seen["table event_deliveries"]  # the errors are stored
    for where, text in seen.items():
        assert secret not in text, f"the secret is in {where}:\n{text}"

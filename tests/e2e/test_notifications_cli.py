"""`signalbox notify test`, `signalbox notifications [--failed] [retry]` and the failing line of
`signalbox status`, through the real CLI against a real `signalbox serve` with two
[[notify]] targets and real loopback receivers: dev-hook (answers, its URL from
SIGNALBOX_NOTIFY_DEV) and pager (its receiver down until the test brings it back). No URL
or secret in any output, the server's included."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.receivers import HttpReceiver
from tests.support.servers import create_token, run_cli

from signalbox.testing import ServerProcess

ADMIN = "sbx_e2e-notifications-admin"
SECRET = "s3cret-webhook-token"

CONFIG = """
[environments.dev]
timezone = "Europe/Berlin"

[environments.prod]
timezone = "UTC"

[[notify]]
name = "dev-hook"
urls_env = "SIGNALBOX_NOTIFY_DEV"
environments = ["dev"]

[[notify]]
name = "pager"
urls = ["{pager_url}"]
"""


class Running:
    def __init__(
        self, server: ServerProcess, dev_hook: HttpReceiver, pager: HttpReceiver, log: Path
    ):
        self.server, self.dev_hook, self.pager, self.log = server, dev_hook, pager, log
        self.outputs: dict[str, str] = {}

    def check_no_secret(self) -> None:
        server_output = self.log.read_text()
        assert "2 notification targets (dev-hook, pager)" in server_output
        for where, text in {**self.outputs, "server output": server_output}.items():
            assert SECRET not in text, where
            assert "json://" not in text, where
            for receiver in (self.dev_hook, self.pager):
                assert f":{receiver.port}" not in text, where

    def signalbox(self, *args: str, token: str = ADMIN) -> Any:
        done = run_cli(self.server.url, token, *args)
        self.outputs[" ".join(args)] = done.stdout + done.stderr
        return done


@pytest.fixture
def running(tmp_path) -> Iterator[Running]:
    """A server of its own for each test (tests may run in any order, on any worker); on the
    way out, no output of the test or the server showed a URL or a secret."""
    with HttpReceiver() as dev_hook, HttpReceiver() as pager:
        pager.refuse()
        config = tmp_path / "signalbox.toml"
        config.write_text(CONFIG.format(pager_url=pager.url("json", f"/hooks/{SECRET}")))
        env = {
            "SIGNALBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'signalbox.db'}",
            "SIGNALBOX_ADMIN_TOKEN": ADMIN,
            "SIGNALBOX_NOTIFY_DEV": dev_hook.url("json", f"/hooks/{SECRET}-dev"),
        }
        log = tmp_path / "server.log"
        with ServerProcess(config=config, env=env, log=log) as server:
            started = Running(server, dev_hook, pager, log)
            yield started
        started.check_no_secret()


def eventually(read: Callable[[], Any], until: Callable[[Any], bool], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if until(value):
            return value
        assert time.monotonic() < deadline, f"still {value!r} after {timeout}s"
        time.sleep(0.1)  # polling a condition, with a deadline


def listed(running: Running, *args: str) -> Any:
    done = running.signalbox("notifications", "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_notify_test_says_what_apprise_answered(running):
    sent = running.signalbox("notify", "test", "dev-hook")
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.strip() == "Sent a test message through dev-hook: sent to 1 URL."
    post = running.dev_hook.wait_for_post(lambda p: "test message" in p.title)
    assert post.title == "signalbox: test message for dev-hook"

    down = running.signalbox("notify", "test", "pager")
    assert down.returncode == 1
    assert "The test message through pager was not sent: 0 of 1 URLs took it" in down.stderr
    assert ".." not in down.stderr  # Apprise's words end with a full stop already: one only

    unknown = running.signalbox("notify", "test", "nope")
    assert unknown.returncode == 2
    assert unknown.stderr.strip().startswith("UnknownTarget: There is no notification target")
    assert "Configured targets: dev-hook, pager." in unknown.stderr

    developer = create_token(running.server.url, ADMIN, "platform-eng", ["developer:dev"])
    refused = running.signalbox("notify", "test", "dev-hook", token=developer)
    assert refused.returncode == 77 and "admin:*" in refused.stderr
    assert running.signalbox("notifications", "retry", "1", token=developer).returncode == 77


def test_a_failing_target_is_shown_then_sent_again(running):
    held = running.signalbox("hold", "dev", "--reason", "renaming the pool", "--for", "2h")
    assert held.returncode == 0, held.stderr
    running.dev_hook.wait_for_post(lambda p: p.title == "dev: hold granted")
    failing = eventually(
        lambda: listed(running, "--failed"),
        lambda answer: (
            [t["name"] for t in answer["targets"]] == ["pager"] and answer["targets"][0]["failing"]
        ),
    )
    [delivery] = failing["deliveries"]
    assert (delivery["target"], delivery["state"], delivery["kind"]) == (
        "pager",
        "failed",
        "hold.granted",
    )

    table = running.signalbox("notifications", "--failed")
    assert table.returncode == 0, table.stderr
    [pager_line] = [line for line in table.stdout.splitlines() if line.strip().startswith("pager")]
    assert "FAILING since" in pager_line and "0 of 1 URLs took it" in pager_line
    assert re.search(rf"^\s*{delivery['id']}\s+{delivery['event_id']}\s", table.stdout, re.M)
    everything = running.signalbox("notifications")
    assert re.search(r"dev-hook\s+dev\s+0\s+0\s+\S+ UTC\s+ok", everything.stdout)
    assert re.search(r"hold\.granted\s+dev-hook\s+delivered", everything.stdout)

    status = eventually(
        lambda: running.signalbox("status"), lambda done: "notifications to pager" in done.stdout
    )
    [line] = [line for line in status.stdout.splitlines() if "notifications to pager" in line]
    assert line.startswith("notifications to pager (dev, prod) failing since ")
    assert "0 of 1 URLs took it" in line and "(signalbox notifications --failed)" in line

    running.pager.answer_ok()
    retried = running.signalbox("notifications", "retry", "--target", "pager")
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.strip() == "Queued 1 failed message of pager again."
    post = running.pager.wait_for_post(lambda p: p.title == "dev: hold granted")
    assert post.event_id == delivery["event_id"]
    healed = eventually(
        lambda: listed(running), lambda answer: all(not t["failing"] for t in answer["targets"])
    )
    assert {d["state"] for d in healed["deliveries"]} == {"delivered"}
    eventually(
        lambda: running.signalbox("status"),
        lambda done: done.returncode == 0 and "notifications to" not in done.stdout,
    )


def test_one_message_is_sent_again_by_its_id(running):
    running.signalbox("hold", "dev", "--reason", "renaming the pool")
    running.signalbox("release", "dev")
    released = running.dev_hook.wait_for_post(lambda p: p.title == "dev: hold released")
    answer = eventually(
        lambda: listed(running, "--target", "dev-hook", "--limit", "1"),
        lambda answer: answer["deliveries"][0]["state"] == "delivered",
    )
    [delivery] = answer["deliveries"]
    assert delivery["event_id"] == released.event_id

    retried = running.signalbox("notifications", "retry", str(delivery["id"]))
    assert retried.returncode == 0, retried.stderr
    assert retried.stdout.strip() == (
        f"Queued delivery {delivery['id']} (event {delivery['event_id']}, hold.released) to "
        "dev-hook again."
    )
    again = running.dev_hook.wait_for_post(
        lambda p: p.event_id == released.event_id and p is not released
    )
    assert again.title == "dev: hold released"

    neither = running.signalbox("notifications", "retry")
    assert (
        neither.returncode == 2 and "Name either a delivery id or --target NAME" in neither.stderr
    )
    unknown = running.signalbox("notifications", "retry", "999999")
    assert unknown.returncode == 2 and "UnknownDelivery" in unknown.stderr

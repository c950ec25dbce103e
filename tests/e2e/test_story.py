"""The incident of DESIGN.md, played against a real `signalbox serve` process.

The engineer holds dev; the COO (a stakeholder) reserves dev; CI's gate is refused and its
output names the engineer and his reason; after he releases, a gate with a 17-minute
expected deploy is refused because it would overlap the demo; a plan that destroys the
Cognito pool waits for approval and goes once an approver approves; a routine plan goes at
once. Every step goes through the real `signalbox` commands.

No fake clock: the demo is booked relative to the real now (now+10m to now+70m), which a
17-minute deploy starting now would overlap.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from signalbox.testing import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
ROUTINE_PLAN = ROOT / "examples/plans/routine-frontend-change.json"
COGNITO_PLAN = ROOT / "examples/plans/cognito-renamed-without-moved.json"
ADMIN = "sbx_story-admin-token"

CONFIG = """
[environments.dev]
timezone = "Europe/Berlin"
expected_deploy = "17m"

[environments.dev.policy]
stateful-destroy = "needs-approval"
"""

GITHUB = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_SHA": "1a2b3c4d5e6f7a8b",
    "GITHUB_REF_NAME": "main",
    "GITHUB_ACTOR": "frontend-dev",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/app",
    "GITHUB_RUN_ID": "1444",
}


class Signalbox:
    """Runs `signalbox ...` as each person would, with their own token."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.tokens: dict[str, str] = {"admin": ADMIN}

    def env(self, who: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI_"))}
        return {
            **clean,
            "SIGNALBOX_URL": self.url,
            "SIGNALBOX_TOKEN": self.tokens[who],
            **(extra or {}),
        }

    def run(
        self, who: str, *args: str, extra: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "signalbox", *args],
            env=self.env(who, extra),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, who: str, *args: str, extra: dict[str, str] | None = None):
        return subprocess.Popen(
            [sys.executable, "-m", "signalbox", *args],
            env=self.env(who, extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def token(self, name: str, grant: str, *, ci: bool = False) -> None:
        done = self.run(
            "admin", "token", "create", name, "--grant", grant, *(["--ci"] if ci else [])
        )
        assert done.returncode == 0, done.stderr
        self.tokens[name] = done.stdout.strip()


def gate_args(plan: Path, marker: Path, *extra: str) -> list[str]:
    apply = f"import pathlib; pathlib.Path({str(marker)!r}).write_text('applied')"
    return ["gate", "--env", "dev", "--plan", str(plan), *extra, "--", sys.executable, "-c", apply]


def lines_of(stream, found: queue.Queue[str]) -> None:
    for line in stream:
        found.put(line)


def wait_for_line(
    found: queue.Queue[str], pattern: str, seen: list[str], timeout: float = 60
) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = found.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(seen)}")


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def story(tmp_path: Path):
    config = tmp_path / "signalbox.toml"
    config.write_text(CONFIG)
    env = {
        "SIGNALBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'story.db'}",
        "SIGNALBOX_ADMIN_TOKEN": ADMIN,
    }
    with ServerProcess(config=config, env=env, log=tmp_path / "server.log") as server:
        sb = Signalbox(server.url)
        sb.token("platform-eng", "developer:dev")
        sb.token("coo", "stakeholder:dev")
        sb.token("ci-dev", "developer:dev", ci=True)
        sb.token("lead", "approver:dev")
        yield sb


@pytest.mark.slow
def test_the_story(story: Signalbox, tmp_path: Path) -> None:
    sb = story
    marker = tmp_path / "applied"

    # 13:00 - the engineer holds dev while he renames resources.
    held = sb.run("platform-eng", "hold", "dev", "--reason", "renaming cognito pool", "--for", "4h")
    assert held.returncode == 0, held.stderr

    # The COO books the investor demo on dev: he may reserve, not deploy.
    now = datetime.now(UTC)
    demo = sb.run(
        "coo",
        "reserve",
        "dev",
        "--from",
        iso(now + timedelta(minutes=10)),
        "--to",
        iso(now + timedelta(minutes=70)),
        "--reason",
        "investor demo",
        "--json",
    )
    assert demo.returncode == 0, demo.stderr
    demo_id = __import__("json").loads(demo.stdout)["reservation"]["id"]
    cannot = sb.run("coo", *gate_args(ROUTINE_PLAN, marker))
    assert cannot.returncode == 77 and "developer:dev" in cannot.stderr

    # 14:44 - CI's gate is refused at once; its output names the engineer and his reason.
    refused = sb.run("ci-dev", *gate_args(ROUTINE_PLAN, marker), extra=GITHUB)
    assert refused.returncode == 75, refused.stderr
    assert "platform-eng" in refused.stderr and "renaming cognito pool" in refused.stderr
    assert not marker.exists()

    # He releases; a 17-minute deploy now would overlap the demo: refused, naming the COO.
    released = sb.run("platform-eng", "release", "dev")
    assert released.returncode == 0, released.stderr
    overlap = sb.run("ci-dev", *gate_args(ROUTINE_PLAN, marker), extra=GITHUB)
    assert overlap.returncode == 75, overlap.stderr
    assert "investor demo" in overlap.stderr and "coo" in overlap.stderr
    assert "17m" in overlap.stderr and not marker.exists()

    # The demo is over (the COO cancels the booking).
    cancelled = sb.run("coo", "cancel-reservation", str(demo_id))
    assert cancelled.returncode == 0, cancelled.stderr

    # The plan that destroys the Cognito pool waits for an approver, then goes.
    gate = sb.start("ci-dev", *gate_args(COGNITO_PLAN, marker, "--wait", "3m"), extra=GITHUB)
    found: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lines_of, args=(gate.stderr, found), daemon=True).start()
    seen: list[str] = []
    try:
        asked = wait_for_line(found, r"approve with `signalbox approve (\d+)`", seen)
        deploy_id = asked.group(1)
        assert any("stateful-destroy" in line for line in seen)
        assert not any("hunter2" in line for line in seen)  # never attribute values
        own = sb.run("ci-dev", "approve", deploy_id)
        assert own.returncode == 77, own.stderr  # not by the requester
        approved = sb.run("lead", "approve", deploy_id)
        assert approved.returncode == 0, approved.stderr
        assert gate.wait(timeout=60) == 0, "".join(seen)
    finally:
        if gate.poll() is None:
            gate.kill()
    assert marker.read_text() == "applied"
    marker.unlink()

    # A routine plan goes at once, and the command's own exit code is the gate's.
    routine = sb.run("ci-dev", *gate_args(ROUTINE_PLAN, marker), extra=GITHUB)
    assert routine.returncode == 0, routine.stderr
    assert marker.read_text() == "applied" and "go: running" in routine.stderr
    failing = sb.run(
        "ci-dev",
        "gate",
        "--env",
        "dev",
        "--plan",
        str(ROUTINE_PLAN),
        "--",
        sys.executable,
        "-c",
        "raise SystemExit(3)",
        extra=GITHUB,
    )
    assert failing.returncode == 3, failing.stderr
    # Without a plan only an approver lets a deploy go; --wait 0s gives up at once: 76.
    unplanned = sb.run("ci-dev", "gate", "--env", "dev", "--wait", "0s", "--", "true", extra=GITHUB)
    assert unplanned.returncode == 76, unplanned.stderr

    listed = sb.run("lead", "deploys", "--env", "dev", "--json")
    states = [d["state"] for d in __import__("json").loads(listed.stdout)["deploys"]]
    assert states.count("succeeded") == 2 and states.count("failed") == 1
    assert states.count("refused") == 2 and states.count("expired") == 1
    status = sb.run("lead", "status")
    assert status.returncode == 0 and "dev" in status.stdout

"""The gate's life against a real server: a killed runner frees the environment by itself,
a newer commit of the same branch sends the older waiting gate home, and signals reach the
command."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.support.servers import create_token, gate_process

from signalbox.testing import ServerProcess

ADMIN = "sbx_lifecycle-admin"
CONFIG = '[environments.dev]\ntimezone = "UTC"\nexpected_deploy = "1m"\n'

pytestmark = pytest.mark.slow


@pytest.fixture
def server(tmp_path):
    config = tmp_path / "signalbox.toml"
    config.write_text(CONFIG)
    env = {
        "SIGNALBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "SIGNALBOX_ADMIN_TOKEN": ADMIN,
        "SIGNALBOX_DEPLOY_LEASE_SECONDS": "3",
    }
    with ServerProcess(config=config, env=env, log=tmp_path / "server.log") as running:
        token = create_token(running.url, ADMIN, "ci-dev", ["developer:dev"], ci=True)
        running.env = {**running.env, "token": token}
        yield running


def gate(server, *args: str, branch: str = "main", commit: str = "c1", **popen):
    token = server.env["token"]
    return gate_process(server.url, token, *args, branch=branch, commit=commit, **popen)


def wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)  # polling on a condition with a deadline (process start-up)


def wait_for_deploys(server, count: int, timeout: float = 60) -> None:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    deadline = time.monotonic() + timeout
    while len(httpx.get(server.url + "/api/deploys", headers=headers).json()["deploys"]) < count:
        assert time.monotonic() < deadline, f"fewer than {count} deploys requested"
        time.sleep(0.05)  # polling on a condition with a deadline


def test_a_killed_runner_frees_the_environment_by_itself(server, tmp_path):
    started = tmp_path / "started"
    hanging = [
        sys.executable,
        "-c",
        "import os, pathlib, time\n"
        f"pathlib.Path({str(started)!r} + '.tmp').write_text(str(os.getpid()))\n"
        f"os.replace({str(started)!r} + '.tmp', {str(started)!r})\n"
        "time.sleep(600)\n",
    ]
    first = gate(server, "--", *hanging, start_new_session=True)
    wait_for(started)
    # The runner dies: the gate and the command it started (in its own process group) at once.
    os.killpg(first.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):  # the gate's watchdog may have been first
        os.kill(int(started.read_text()), signal.SIGKILL)
    first.wait(timeout=30)
    applied = tmp_path / "applied"
    second = gate(
        server,
        "--wait",
        "2m",
        "--",
        sys.executable,
        "-c",
        f"import pathlib; pathlib.Path({str(applied)!r}).touch()",
        branch="other",
        commit="c2",
    )
    _, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert applied.exists()
    events = httpx.get(
        server.url + "/api/events",
        params={"env": "dev"},
        headers={"Authorization": f"Bearer {ADMIN}"},
    ).json()["events"]
    assert "deploy.lapsed" in [event["kind"] for event in events]


def test_a_newer_commit_of_the_same_branch_sends_the_waiting_gate_home(server, tmp_path):
    started, release = tmp_path / "started", tmp_path / "release"
    blocking = [
        sys.executable,
        "-c",
        "import pathlib, time\n"
        f"pathlib.Path({str(started)!r}).touch()\n"
        f"while not pathlib.Path({str(release)!r}).exists(): time.sleep(0.05)\n",
    ]
    running = gate(server, "--", *blocking, branch="other", commit="r1")
    wait_for(started)
    older = gate(server, "--wait", "2m", "--", "true", commit="old1111")
    wait_for_deploys(server, 2)  # the older one is queued before the newer one asks
    newer = gate(server, "--wait", "2m", "--", "true", commit="new2222")
    _, older_err = older.communicate(timeout=60)
    assert older.returncode == 75, older_err
    assert "superseded" in older_err and "new2222"[:7] in older_err
    release.touch()
    assert running.wait(timeout=60) == 0
    _, newer_err = newer.communicate(timeout=60)
    assert newer.returncode == 0, newer_err


def test_sigterm_to_the_gate_reaches_the_command(server, tmp_path):
    started, got = tmp_path / "started", tmp_path / "got"
    trapping = [
        sys.executable,
        "-c",
        "import pathlib, signal, sys, time\n"
        "def stop(n, f):\n"
        f"    pathlib.Path({str(got)!r}).write_text(str(n)); sys.exit(9)\n"
        "signal.signal(signal.SIGTERM, stop)\n"
        f"pathlib.Path({str(started)!r}).touch()\n"
        "while True: time.sleep(0.05)\n",
    ]
    running = gate(server, "--", *trapping)
    wait_for(started)
    running.send_signal(signal.SIGTERM)
    _, err = running.communicate(timeout=60)
    assert running.returncode == 9, err  # the command's own exit code
    assert got.read_text() == str(int(signal.SIGTERM))
    assert "done: exit code 9" in err

"""One deploy at a time, even when the runner dies: a gate killed with SIGKILL takes its
command's whole process tree with it, and the next deploy's command starts only after."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.support.servers import create_token, gate_process

from signalbox.testing import ServerProcess

ADMIN = "sbx_killed-admin"
CONFIG = '[environments.dev]\ntimezone = "UTC"\nexpected_deploy = "1m"\n'

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not sys.platform.startswith("linux"), reason="reads /proc to see which processes run"
    ),
]


@pytest.fixture
def server(tmp_path):
    config = tmp_path / "signalbox.toml"
    config.write_text(CONFIG)
    env = {
        "SIGNALBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "SIGNALBOX_ADMIN_TOKEN": ADMIN,
        "SIGNALBOX_DEPLOY_LEASE_SECONDS": "3",  # the next deploy goes 3 s after the kill
    }
    with ServerProcess(config=config, env=env, log=tmp_path / "server.log") as running:
        running.env = {
            **running.env,
            "token": create_token(running.url, ADMIN, "ci-dev", ["developer:dev"], ci=True),
        }
        yield running


def running(pid: int) -> bool:
    """``pid`` runs (a zombie, dead but not reaped by its new parent, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat.rsplit(b")", 1)[1].split()[0] != b"Z"


def read_pid(path: Path, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)  # polling on a condition with a deadline (process start-up)
    return int(path.read_text())


def deploys_requested(server) -> int:
    answer = httpx.get(
        server.url + "/api/deploys", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30
    )
    return len(answer.json()["deploys"])


def ci_gate(server, *args: str, branch: str, commit: str) -> subprocess.Popen[str]:
    """A gate as CI runs it: no terminal on standard input."""
    return gate_process(
        server.url,
        server.env["token"],
        *args,
        branch=branch,
        commit=commit,
        stdin=subprocess.DEVNULL,
    )


def test_a_killed_gate_takes_its_command_tree_along_before_the_next_deploy_starts(server, tmp_path):
    cmd, grandchild = tmp_path / "cmd.pid", tmp_path / "grandchild.pid"
    tree = (
        f"echo $$ > {cmd}.tmp && mv {cmd}.tmp {cmd}; "
        f"sleep 90 & echo $! > {grandchild}.tmp && mv {grandchild}.tmp {grandchild}; wait"
    )
    first = ci_gate(server, "--", "sh", "-c", tree, branch="main", commit="c1")
    first_tree = [read_pid(cmd), read_pid(grandchild)]
    seen = tmp_path / "seen.json"
    # The next deploy's command records which of the first command's processes still run.
    looking = (
        "import json, pathlib, sys\n"
        f"pids = {first_tree!r}\n"
        "def running(pid):\n"
        "    try: stat = pathlib.Path(f'/proc/{pid}/stat').read_bytes()\n"
        "    except OSError: return False\n"
        "    return stat.rsplit(b')', 1)[1].split()[0] != b'Z'\n"
        f"pathlib.Path({str(seen)!r}).write_text(json.dumps([p for p in pids if running(p)]))\n"
    )
    second = ci_gate(
        server, "--wait", "2m", "--", sys.executable, "-c", looking, branch="b", commit="c2"
    )
    try:
        deadline = time.monotonic() + 60
        while deploys_requested(server) < 2:  # the second gate waits in the queue
            assert time.monotonic() < deadline, "the second gate never asked"
            time.sleep(0.05)  # polling on a condition with a deadline

        first.send_signal(signal.SIGKILL)  # the runner dies: only the gate, no cleanup
        killed = time.monotonic()
        while [pid for pid in first_tree if running(pid)]:
            assert time.monotonic() - killed < 2.0, "the command's tree outlived its gate by 2 s"
            time.sleep(0.01)  # polling on a condition with a deadline
        first.communicate(timeout=30)

        _, err = second.communicate(timeout=120)
        assert second.returncode == 0, err
        assert json.loads(seen.read_text()) == []  # nothing of the first deploy ran then
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.kill()
                process.communicate()
        for pid in first_tree:
            if running(pid):
                os.kill(pid, signal.SIGKILL)

"""End-to-end helpers: real `signalbox serve` processes, their tokens, and real gates."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from signalbox.testing import ServerProcess

LINK = re.compile(r"or open (\S+/deploys/\d+)")
"""The approval link in a waiting gate's "needs approval" line."""

ROUTINE_PLAN = Path(__file__).resolve().parents[2] / "examples/plans/routine-frontend-change.json"


@contextlib.contextmanager
def two_servers(
    folder: Path, config_text: str, env: dict[str, str]
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two `signalbox serve` processes with one config and environment (so one database),
    logging to ``folder``/a.log and b.log; both stopped on the way out."""
    config = folder / "signalbox.toml"
    config.write_text(config_text)
    first = ServerProcess(config=config, env=env, log=folder / "a.log").start()
    second = ServerProcess(config=config, env=env, log=folder / "b.log")
    try:
        second.start()
        yield first, second
    finally:
        second.stop()
        first.stop()


STORY_CONFIG = """
[environments.dev]
timezone = "Europe/Berlin"
expected_deploy = "17m"

[environments.prod]
timezone = "UTC"
"""
"""dev and prod as in the story: dev in Berlin, with a 17-minute deploy."""


@contextlib.contextmanager
def story_server(folder: Path, admin: str) -> Iterator[ServerProcess]:
    """One `signalbox serve` on ``STORY_CONFIG`` and a SQLite file in ``folder``, with the
    bootstrap admin token ``admin``."""
    config = folder / "signalbox.toml"
    config.write_text(STORY_CONFIG)
    env = {
        "SIGNALBOX_DATABASE_URL": f"sqlite:///{folder / 'signalbox.db'}",
        "SIGNALBOX_ADMIN_TOKEN": admin,
    }
    with ServerProcess(config=config, env=env, log=folder / "server.log") as running:
        yield running


def run_cli(url: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `signalbox` command against the server at ``url``, as ``token``."""
    env = {**os.environ, "SIGNALBOX_URL": url, "SIGNALBOX_TOKEN": token, "COLUMNS": "250"}
    return subprocess.run(
        [sys.executable, "-m", "signalbox", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def create_token(
    url: str, admin: str, name: str, grants: Sequence[str], *, ci: bool = False
) -> str:
    """A new token's secret, created through the API with the ``admin`` token."""
    answer = httpx.post(
        f"{url}/api/tokens",
        headers={"Authorization": f"Bearer {admin}"},
        json={"name": name, "grants": list(grants), "ci": ci},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


def gate_process(
    url: str,
    token: str,
    *args: str,
    branch: str,
    commit: str,
    environment: str = "dev",
    **popen: Any,
) -> subprocess.Popen[str]:
    """`signalbox gate --env dev --plan <routine plan> --branch B --commit C ARGS...` as a
    real process (stderr piped, as text)."""
    env = {**os.environ, "SIGNALBOX_URL": url, "SIGNALBOX_TOKEN": token}
    command = [
        sys.executable,
        "-m",
        "signalbox",
        "gate",
        "--env",
        environment,
        "--plan",
        str(ROUTINE_PLAN),
        "--branch",
        branch,
        "--commit",
        commit,
        *args,
    ]
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True, **popen)


def lines_of(process: subprocess.Popen[str]) -> queue.Queue[str]:
    """The process's stderr, a line at a time, read in a thread (so a test can wait on a line
    with a timeout instead of blocking on the pipe)."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def approval_link(lines: queue.Queue[str], timeout: float = 60) -> str:
    """The link of the gate's "needs approval: ... or open LINK" line."""
    seen = []
    while True:
        try:
            line = lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the gate printed no approval link: {seen}") from None
        seen.append(line)
        found = LINK.search(line)
        if found:
            return found.group(1)

"""End-to-end helpers: real `signalbox serve` processes, their tokens, and real gates."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from signalbox.testing import ServerProcess

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

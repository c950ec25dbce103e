"""Real `signalbox gate` processes race for one environment through two `signalbox serve`
processes sharing one database (a SQLite file; PostgreSQL when configured). Every gate's
command runs, and never two at once: the queue and its wake-ups work across servers."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from signalbox.testing import PostgresDatabases, ServerProcess, postgres_url

ADMIN = "sbx_gates-two-servers"
GATES = 6
ROUTINE_PLAN = Path(__file__).resolve().parents[2] / "examples/plans/routine-frontend-change.json"
CONFIG = '[environments.dev]\ntimezone = "UTC"\nexpected_deploy = "1m"\n'
RECORD = (
    "import sys, time, pathlib\n"
    "log = pathlib.Path(sys.argv[1])\n"
    "with log.open('a') as f: f.write(f'start {sys.argv[2]} {time.monotonic()}\\n')\n"
    "time.sleep(0.3)\n"  # the deploy's own work, so that overlaps would show
    "with log.open('a') as f: f.write(f'end {sys.argv[2]} {time.monotonic()}\\n')\n"
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def two_servers(request, tmp_path):
    databases = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        base = postgres_url()
        if not base:
            pytest.skip("needs SIGNALBOX_TEST_DATABASE_URL (PostgreSQL); .ci/run sets it")
        databases = PostgresDatabases(base)
        url = databases.create()
    config = tmp_path / "signalbox.toml"
    config.write_text(CONFIG)
    env = {"SIGNALBOX_DATABASE_URL": url, "SIGNALBOX_ADMIN_TOKEN": ADMIN}
    first = ServerProcess(config=config, env=env, log=tmp_path / "a.log").start()
    second = ServerProcess(config=config, env=env, log=tmp_path / "b.log")
    try:
        second.start()
        yield first, second
    finally:
        second.stop()
        first.stop()
        if databases is not None:
            databases.drop_all()


def intervals(log: Path) -> list[tuple[float, float]]:
    starts, ends = {}, {}
    for line in log.read_text().splitlines():
        kind, name, at = line.split()
        (starts if kind == "start" else ends)[name] = float(at)
    assert starts.keys() == ends.keys()
    return sorted((starts[name], ends[name]) for name in starts)


@pytest.mark.slow
def test_gates_through_two_servers_run_one_at_a_time(two_servers, tmp_path):
    first, second = two_servers
    created = httpx.post(
        first.url + "/api/tokens",
        headers={"Authorization": f"Bearer {ADMIN}"},
        json={"name": "ci-dev", "grants": ["developer:dev"], "ci": True},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    log = tmp_path / "deploys.log"
    gates = []
    for index in range(GATES):
        server = (first, second)[index % 2]
        env = {**os.environ, "SIGNALBOX_URL": server.url, "SIGNALBOX_TOKEN": token}
        command = [
            sys.executable,
            "-m",
            "signalbox",
            "gate",
            "--env",
            "dev",
            "--plan",
            str(ROUTINE_PLAN),
            "--branch",
            f"b{index}",
            "--commit",
            f"c{index}",
            "--wait",
            "5m",
            "--",
            sys.executable,
            "-c",
            RECORD,
            str(log),
            f"g{index}",
        ]
        gates.append(subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True))
    outputs = [gate.communicate(timeout=240)[1] for gate in gates]
    assert [gate.returncode for gate in gates] == [0] * GATES, "\n".join(outputs)
    ran = intervals(log)
    assert len(ran) == GATES
    for (_, end), (start, _) in itertools.pairwise(ran):
        assert start >= end, f"two deploys overlapped: {ran}"
    assert sum("waiting" in output for output in outputs) >= 1  # some had to queue

"""Real `signalbox gate` processes race for one environment through two `signalbox serve`
processes sharing one database (a SQLite file; PostgreSQL when configured). Every gate's
command runs, and never two at once: the queue and its wake-ups work across servers."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest
from tests.support.servers import create_token, gate_process, two_servers

from signalbox.testing import PostgresDatabases, postgres_url

ADMIN = "sbx_gates-two-servers"
GATES = 6
CONFIG = '[environments.dev]\ntimezone = "UTC"\nexpected_deploy = "1m"\n'
RECORD = (
    "import sys, time, pathlib\n"
    "log = pathlib.Path(sys.argv[1])\n"
    "with log.open('a') as f: f.write(f'start {sys.argv[2]} {time.monotonic()}\\n')\n"
    "time.sleep(0.3)\n"  # the deploy's own work, so that overlaps would show
    "with log.open('a') as f: f.write(f'end {sys.argv[2]} {time.monotonic()}\\n')\n"
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def servers(request, tmp_path):
    databases = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'shared.db'}"
    else:
        base = postgres_url()
        if not base:
            pytest.skip("needs SIGNALBOX_TEST_DATABASE_URL (PostgreSQL); .ci/run sets it")
        databases = PostgresDatabases(base)
        url = databases.create()
    env = {"SIGNALBOX_DATABASE_URL": url, "SIGNALBOX_ADMIN_TOKEN": ADMIN}
    try:
        with two_servers(tmp_path, CONFIG, env) as servers:
            yield servers
    finally:
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
def test_gates_through_two_servers_run_one_at_a_time(servers, tmp_path):
    first, second = servers
    token = create_token(first.url, ADMIN, "ci-dev", ["developer:dev"], ci=True)
    log = tmp_path / "deploys.log"
    gates = []
    for index in range(GATES):
        server = (first, second)[index % 2]
        command = ["--wait", "5m", "--", sys.executable, "-c", RECORD, str(log), f"g{index}"]
        gate = gate_process(server.url, token, *command, branch=f"b{index}", commit=f"c{index}")
        gates.append(gate)
    outputs = [gate.communicate(timeout=240)[1] for gate in gates]
    assert [gate.returncode for gate in gates] == [0] * GATES, "\n".join(outputs)
    ran = intervals(log)
    assert len(ran) == GATES
    for (_, end), (start, _) in itertools.pairwise(ran):
        assert start >= end, f"two deploys overlapped: {ran}"
    assert sum("waiting" in output for output in outputs) >= 1  # some had to queue

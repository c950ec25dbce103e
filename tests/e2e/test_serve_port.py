"""`signalbox serve` on a port another server already holds: it says so before "serving on",
names the process, and exits 2 (a setting or flag to change)."""

from __future__ import annotations

import os
import subprocess
import sys

from signalbox.testing import ServerProcess


def test_a_second_server_on_the_same_port_names_the_first_and_exits_2(tmp_path):
    env = {"SIGNALBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'signalbox.db'}"}
    with ServerProcess(env=env, log=tmp_path / "first.log") as first:
        assert first.process is not None
        second = subprocess.run(
            [sys.executable, "-m", "signalbox", "serve", "--port", str(first.port)],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
    assert second.returncode == 2, second.stderr
    assert "serving on" not in second.stderr
    told = " ".join(second.stderr.split())
    assert f"Port {first.port} on 127.0.0.1 is already in use by pid {first.process.pid}" in told
    assert "signalbox serve" in told and "--port" in told


def test_a_second_make_run_stops_before_its_instructions(tmp_path):
    env = {"SIGNALBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'signalbox.db'}"}
    with ServerProcess(env=env, log=tmp_path / "first.log") as first:
        assert first.process is not None
        second = subprocess.run(
            [sys.executable, "-m", "signalbox.cli.run_example"],  # what `make run` runs
            env={**os.environ, **env, "SIGNALBOX_PORT": str(first.port)},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )
    assert second.returncode == 2, second.stderr
    assert "starting the server" not in second.stdout and "serving on" not in second.stderr
    told = " ".join(second.stderr.split())
    assert f"Port {first.port} on 127.0.0.1 is already in use by pid {first.process.pid}" in told

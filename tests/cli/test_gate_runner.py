"""The gated command runs as a real child: exit code passed through, signals forwarded,
the lease renewed meanwhile, and a lost lease reported."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from signalbox.cli.gate_runner import Heartbeat, run_child
from signalbox.core.errors import NotHolder, ServerUnreachable


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _wait_for(path: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)  # polling on a condition with a deadline (child start-up)


def test_the_child_exit_code_is_passed_through() -> None:
    result = run_child(
        _python("raise SystemExit(7)"),
        renew=lambda: None,
        renew_every=60,
        warn=lambda _: None,
        interactive=False,
    )
    assert result.exit_code == 7
    assert result.duration_seconds > 0
    assert not result.lease_lost


def test_a_child_killed_by_a_signal_reports_128_plus_the_signal() -> None:
    result = run_child(
        _python("import os, signal; os.kill(os.getpid(), signal.SIGKILL)"),
        renew=lambda: None,
        renew_every=60,
        warn=lambda _: None,
        interactive=False,
    )
    assert result.exit_code == 128 + signal.SIGKILL


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signals_to_the_gate_reach_the_child(tmp_path: Path, signum: signal.Signals) -> None:
    ready, got = tmp_path / "ready", tmp_path / "got"
    child = _python(
        "import signal, sys, pathlib, time\n"
        "def handler(n, f):\n"
        f"    pathlib.Path({str(got)!r}).write_text(str(n)); sys.exit(3)\n"
        "signal.signal(signal.SIGTERM, handler); signal.signal(signal.SIGINT, handler)\n"
        f"pathlib.Path({str(ready)!r}).write_text('x')\n"
        "while True: time.sleep(0.05)\n"
    )

    def send_when_ready() -> None:
        _wait_for(ready)
        os.kill(os.getpid(), signum)

    sender = threading.Thread(target=send_when_ready)
    sender.start()
    result = run_child(
        child, renew=lambda: None, renew_every=60, warn=lambda _: None, interactive=False
    )
    sender.join()
    assert got.read_text() == str(int(signum))
    assert result.exit_code == 3
    # the gate's own handlers are back afterwards
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_the_lease_is_renewed_while_the_child_runs(tmp_path: Path) -> None:
    renewed = threading.Event()
    release = tmp_path / "release"
    calls: list[int] = []

    def renew() -> None:
        calls.append(1)
        if len(calls) >= 3:
            release.write_text("x")
            renewed.set()

    child = _python(
        "import pathlib, time\n"
        f"p = pathlib.Path({str(release)!r})\n"
        "while not p.exists(): time.sleep(0.01)\n"
    )
    result = run_child(child, renew=renew, renew_every=0.05, warn=lambda _: None, interactive=False)
    assert renewed.is_set() and len(calls) >= 3
    assert result.exit_code == 0


def test_a_lost_lease_warns_loudly_once_and_is_reported() -> None:
    warnings: list[str] = []
    beats = threading.Event()

    def renew() -> None:
        beats.set()
        raise NotHolder("deploy 3 no longer holds dev.")

    heartbeat = Heartbeat(renew, interval=0.05, warn=warnings.append)
    heartbeat.start()
    assert beats.wait(5)
    deadline = time.monotonic() + 5
    while not heartbeat.lease_lost:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    heartbeat.stop()
    lost = [line for line in warnings if "LOST" in line]
    assert len(lost) == 1 and "no longer holds dev" in lost[0]


def test_an_unreachable_server_is_a_warning_not_a_lost_lease() -> None:
    warnings: list[str] = []
    tried = threading.Event()

    def renew() -> None:
        tried.set()
        raise ServerUnreachable("connection refused")

    heartbeat = Heartbeat(renew, interval=0.05, warn=warnings.append)
    heartbeat.start()
    assert tried.wait(5)
    heartbeat.stop()
    assert not heartbeat.lease_lost
    assert any("could not renew" in line for line in warnings)


def test_a_command_that_does_not_exist_raises_oserror() -> None:
    with pytest.raises(FileNotFoundError):
        run_child(
            ["/nonexistent/deploy.sh"],
            renew=lambda: None,
            renew_every=60,
            warn=lambda _: None,
            interactive=False,
        )

"""The gated command runs as a real child: exit code passed through, signals forwarded,
the lease renewed meanwhile, and a lost lease reported."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from signalbox.cli.child_watch import Watchdog, child_setup, tree_guarantee_note
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


# The command does not outlive the gate: every way out of run_child stops its process tree,
# and a gate killed with SIGKILL takes it along (kernel parent-death signal and watchdog).

TREE = (
    "echo $$ > {cmd}.tmp && mv {cmd}.tmp {cmd}; "
    "sleep 90 & echo $! > {grandchild}.tmp && mv {grandchild}.tmp {grandchild}; "
    "{rest}"
)


def _tree_command(tmp_path: Path, rest: str = "wait") -> tuple[list[str], Path, Path]:
    """``sh`` that writes its pid, starts a grandchild ``sleep 90`` that writes its pid."""
    cmd, grandchild = tmp_path / "cmd.pid", tmp_path / "grandchild.pid"
    script = TREE.format(cmd=cmd, grandchild=grandchild, rest=rest)
    return ["sh", "-c", script], cmd, grandchild


def _running(pid: int) -> bool:
    """``pid`` is a process that runs (a zombie, dead but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat.rsplit(b")", 1)[1].split()[0] != b"Z"


def _pid(path: Path) -> int:
    _wait_for(path)
    return int(path.read_text())


def _gone_within(pids: list[int], seconds: float) -> list[int]:
    """The pids still running after ``seconds`` (polled, so it returns as soon as none is)."""
    deadline = time.monotonic() + seconds
    while (left := [pid for pid in pids if _running(pid)]) and time.monotonic() < deadline:
        time.sleep(0.01)  # polling on a condition with a deadline
    return left


@pytest.fixture
def leftovers():
    """Pids a test started; whatever still runs at the end is killed (a failing test must
    not leave `sleep 90` behind)."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if _running(pid):
            os.kill(pid, signal.SIGKILL)


linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc and relies on PR_SET_PDEATHSIG"
)


@linux_only
def test_what_the_command_left_in_the_background_is_stopped_when_it_ends(
    tmp_path: Path, leftovers: list[int]
) -> None:
    command, _cmd, grandchild = _tree_command(tmp_path, rest="exit 0")
    warnings: list[str] = []
    result = run_child(
        command, renew=lambda: None, renew_every=60, warn=warnings.append, interactive=False
    )
    leftovers.append(_pid(grandchild))
    assert result.exit_code == 0
    assert _gone_within([_pid(grandchild)], 0) == []  # gone when run_child returns
    assert any("left processes running" in line for line in warnings)


@linux_only
def test_a_signal_to_the_gate_stops_the_commands_whole_tree(
    tmp_path: Path, leftovers: list[int]
) -> None:
    command, cmd, grandchild = _tree_command(tmp_path)

    def terminate_when_started() -> None:
        leftovers.extend([_pid(cmd), _pid(grandchild)])
        os.kill(os.getpid(), signal.SIGTERM)

    sender = threading.Thread(target=terminate_when_started)
    sender.start()
    result = run_child(
        command, renew=lambda: None, renew_every=60, warn=lambda _: None, interactive=False
    )
    sender.join()
    assert result.exit_code == 128 + signal.SIGTERM  # sh got the forwarded SIGTERM
    assert _gone_within(leftovers, 0) == []


class _GateBroke(Exception):
    pass


@linux_only
@pytest.mark.parametrize("interactive", [False, True])
def test_an_exception_in_the_gate_stops_the_command(
    tmp_path: Path, leftovers: list[int], interactive: bool
) -> None:
    command, cmd, grandchild = _tree_command(tmp_path)

    def broke(_signum: int, _frame: object) -> None:
        raise _GateBroke()

    def break_when_started() -> None:
        leftovers.extend([_pid(cmd), _pid(grandchild)])
        os.kill(os.getpid(), signal.SIGUSR1)

    previous = signal.signal(signal.SIGUSR1, broke)
    sender = threading.Thread(target=break_when_started)
    try:
        sender.start()
        with pytest.raises(_GateBroke):
            run_child(
                command,
                renew=lambda: None,
                renew_every=60,
                warn=lambda _: None,
                interactive=interactive,
            )
    finally:
        sender.join()
        signal.signal(signal.SIGUSR1, previous)
    command_pid, grandchild_pid = leftovers
    assert not _running(command_pid)
    # On a terminal the command shares the gate's process group: only it is stopped.
    assert _running(grandchild_pid) is interactive


MINI_GATE = """
import sys
from signalbox.cli.gate_runner import run_child
run_child(sys.argv[1:], renew=lambda: None, renew_every=60, warn=print, interactive=False)
"""


def _gate_process(command: list[str]) -> subprocess.Popen[bytes]:
    """A real process that runs ``command`` through ``run_child``, as the gate does."""
    return subprocess.Popen(
        [sys.executable, "-c", MINI_GATE, *command],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _watchdog_of(gate_pid: int) -> int:
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_bytes()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(b")", 1)[1].split()[1]) == gate_pid and b"child_watch" in cmdline:
            return int(entry.name)
    raise AssertionError(f"gate {gate_pid} started no watchdog")


@linux_only
def test_a_killed_gate_takes_the_commands_whole_tree_with_it(
    tmp_path: Path, leftovers: list[int]
) -> None:
    command, cmd, grandchild = _tree_command(tmp_path)
    gate = _gate_process(command)
    leftovers.extend([_pid(cmd), _pid(grandchild)])
    gate.kill()  # SIGKILL: the gate runs no cleanup of its own
    gate.wait(timeout=10)
    assert _gone_within(leftovers, 2.0) == []


@linux_only
def test_the_kernel_stops_the_command_when_the_gate_and_its_watchdog_die(
    tmp_path: Path, leftovers: list[int]
) -> None:
    command, cmd, grandchild = _tree_command(tmp_path)
    gate = _gate_process(command)
    leftovers.extend([_pid(cmd), _pid(grandchild)])
    os.kill(_watchdog_of(gate.pid), signal.SIGKILL)
    gate.kill()
    gate.wait(timeout=10)
    assert _gone_within([leftovers[0]], 2.0) == []  # PR_SET_PDEATHSIG reached the command
    assert _running(leftovers[1])  # the documented limit: only the watchdog reaches further


def test_the_gate_says_at_start_what_is_not_guaranteed() -> None:
    warnings: list[str] = []
    run_child(["true"], renew=lambda: None, renew_every=60, warn=warnings.append, interactive=True)
    assert warnings == [tree_guarantee_note(interactive=True)]
    assert "on a terminal only the command itself" in warnings[0]
    assert tree_guarantee_note(interactive=False, platform="linux") is None
    elsewhere = tree_guarantee_note(interactive=False, platform="darwin")
    assert elsewhere is not None and "only a watchdog" in elsewhere


@linux_only
def test_a_watchdog_already_gone_does_not_stop_the_command() -> None:
    watchdog = Watchdog.start()
    os.kill(watchdog.pid, signal.SIGKILL)
    os.waitpid(watchdog.pid, 0)  # gone: the pipe's read end is closed
    ran = subprocess.run(
        ["sh", "-c", "echo ran; kill -PIPE $$ 2>/dev/null || true"],
        preexec_fn=child_setup(watchdog, whole_group=True),
        process_group=0,
        capture_output=True,
        check=False,
    )
    # it ran (no SIGPIPE from the write to the dead watchdog), and SIGPIPE is the default
    # again for the command: it kills itself with it
    assert ran.stdout == b"ran\n" and ran.returncode == -signal.SIGPIPE

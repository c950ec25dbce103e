"""Run the gated COMMAND: a child process, signals forwarded, the lease renewed meanwhile.

The child inherits stdin, stdout and stderr. SIGTERM to the gate is passed to the child;
SIGINT too, except on an interactive terminal, where the terminal already sends Ctrl-C to
the whole foreground process group (forwarding it again would make Terraform see two
interrupts and stop without cleaning up). In CI (no terminal) the child runs in its own
process group and gets exactly the signals the gate gets.

The command does not outlive the gate (``child_watch``): on Linux the kernel sends it
SIGTERM if the gate dies; on every way out of ``run_child`` the gate stops the command's
process group (SIGTERM, then SIGKILL after a short grace); and a watchdog process stops the
group if the gate is killed before it could. On an interactive terminal the command shares
the gate's process group, so there only the command itself is stopped; the gate says so at
start (and likewise where the kernel cannot help: not Linux).

While the child runs, a background thread renews the deploy lease every third of the lease.
If the server says the lease is lost, the gate warns loudly on stderr (the child keeps
running: killing an apply half-way is worse than finishing it), and reports it at the end.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import FrameType

from signalbox.cli.child_watch import (
    Target,
    Watchdog,
    child_setup,
    stop_target,
    tree_guarantee_note,
)
from signalbox.core.errors import Conflict, SignalboxError

__all__ = ["ChildResult", "Heartbeat", "run_child"]

Renew = Callable[[], None]
"""Renews the lease once; raises ``Conflict`` when the lease is lost."""

Warn = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ChildResult:
    exit_code: int  # the child's code; 128 + N when a signal N ended it
    duration_seconds: float
    lease_lost: bool


class Heartbeat:
    """Calls ``renew`` every ``interval`` seconds in a daemon thread until stopped."""

    def __init__(self, renew: Renew, *, interval: float, warn: Warn) -> None:
        self._renew = renew
        self._interval = max(0.05, interval)
        self._warn = warn
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="signalbox-heartbeat", daemon=True)
        self.lease_lost = False
        self.renewals = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                self._renew()
                self.renewals += 1
            except Conflict as lost:
                if not self.lease_lost:
                    self._warn(
                        "WARNING: the deploy lease is LOST; another deploy or hold may now "
                        f"change this environment. {lost}"
                    )
                self.lease_lost = True
            except SignalboxError as error:
                # Unreachable for now: try again next beat; the lease outlives a few misses.
                self._warn(f"warning: could not renew the deploy lease: {error}")


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def _forwarded_signals(interactive: bool) -> tuple[signal.Signals, ...]:
    return (signal.SIGTERM,) if interactive else (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _forwarding(
    child: subprocess.Popen[bytes], signals: Sequence[signal.Signals]
) -> Iterator[None]:
    def forward(signum: int, _frame: FrameType | None) -> None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in signals}
    ignored = signal.signal(signal.SIGINT, signal.SIG_IGN) if signal.SIGINT not in signals else None
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if ignored is not None:
            signal.signal(signal.SIGINT, ignored)


_NO_WATCHDOG = (
    "warning: no watchdog ({reason}): if the gate is killed, what the command started may "
    "keep running."
)


def _start_watchdog(warn: Warn) -> Watchdog | None:
    try:
        return Watchdog.start()
    except OSError as error:
        warn(_NO_WATCHDOG.format(reason=error))
        return None


def run_child(
    command: Sequence[str],
    *,
    renew: Renew,
    renew_every: float,
    warn: Warn,
    interactive: bool | None = None,
) -> ChildResult:
    """Run ``command`` to its end with the lease renewed; return its code and duration.

    Whatever way this returns or raises, the command and (outside a terminal) every process
    in its process group are stopped first. Call it from the main thread: the kernel's
    parent-death signal follows the thread that started the command.

    Raises ``FileNotFoundError``/``PermissionError`` when the command cannot be started.
    """
    if interactive is None:
        interactive = sys.stdin.isatty()
    note = tree_guarantee_note(interactive=interactive)
    if note is not None:
        warn(note)
    watchdog = _start_watchdog(warn)
    heartbeat = Heartbeat(renew, interval=renew_every, warn=warn)
    started = time.monotonic()
    try:
        child = subprocess.Popen(
            list(command),
            process_group=None if interactive else 0,
            preexec_fn=child_setup(watchdog, whole_group=not interactive),
        )
    except BaseException:
        if watchdog is not None:
            watchdog.stand_down()
        raise
    target: Target = ("pid", child.pid) if interactive else ("group", child.pid)
    try:
        if watchdog is not None and not watchdog.running():
            warn(_NO_WATCHDOG.format(reason="it exited"))
        with _forwarding(child, _forwarded_signals(interactive)):
            heartbeat.start()
            try:
                returncode = child.wait()
            finally:
                heartbeat.stop()
    finally:
        _stop_tree(child, target, warn)
        if watchdog is not None:
            watchdog.stand_down()
    return ChildResult(
        exit_code=_exit_code(returncode),
        duration_seconds=time.monotonic() - started,
        lease_lost=heartbeat.lease_lost,
    )


def _stop_tree(child: subprocess.Popen[bytes], target: Target, warn: Warn) -> None:
    """Stop what is left of the command: itself if it still runs (an exception left it), and
    outside a terminal everything in its process group (what it started in the background)."""
    running = child.poll() is None
    if target[0] == "pid" and not running:
        return  # reaped: its pid is no longer ours to signal
    if stop_target(target) and not running:
        warn(
            f"warning: the command left processes running in its process group {target[1]}; "
            "stopped them (a deploy's processes end with it)."
        )
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.wait(timeout=5)

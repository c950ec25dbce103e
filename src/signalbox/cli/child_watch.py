"""Tie the gated command's process tree to the gate: when the gate goes, so does the command.

A deploy command must not outlive its gate: once the gate is gone nobody renews the lease,
the environment frees itself and the next deploy starts, so a command still running then
would overlap it. Three layers, so that every way the gate can end is covered:

1. The kernel (Linux): the command is started with ``prctl(PR_SET_PDEATHSIG, SIGTERM)``, so
   it gets SIGTERM the instant the gate dies, even by ``kill -9``. This reaches only the
   command itself, not what it starts (``sh -c 'x & wait'``, Terraform's providers).
2. The gate: on every way out of ``run_child`` (the command ended, an exception, a signal
   the gate handles) it stops the command's process group: SIGTERM, then SIGKILL after
   ``GRACE_SECONDS``.
3. A watchdog: a tiny process (this file, run as a script by the gate's Python, standard
   library only) in its own session, holding the read end of a pipe whose write end only
   the gate holds. The command itself writes its target (``group PGID`` or ``pid PID``)
   between fork and exec, before it can start anything; the gate writes ``done`` when it
   has cleaned up. If the pipe reaches its end without ``done``, the gate died
   without cleaning up (``kill -9``, a crash): the watchdog stops the target as in 2 and
   exits. It is in its own session, so a signal to the gate's process group or terminal
   does not take it along.

Limits (the gate says which apply at start, one line on stderr, ``tree_guarantee_note``):
on an interactive terminal the command shares the gate's process group (so that it can
read the terminal and Ctrl-C reaches it once), so only the command itself is stopped, not
processes it started; without Linux there is no kernel layer (1), only the watchdog; and
``kill -9`` of the watchdog and the gate together leaves grandchildren running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import IO

__all__ = [
    "GRACE_SECONDS",
    "Target",
    "Watchdog",
    "alive",
    "child_setup",
    "kernel_ties_child",
    "parent_death_signal",
    "stop_target",
    "tree_guarantee_note",
]

GRACE_SECONDS = 1.5
"""How long a stopped command gets between SIGTERM and SIGKILL (the whole tree is gone
within 2 s of its gate)."""

_POLL_SECONDS = 0.02
_PR_SET_PDEATHSIG = 1

Target = tuple[str, int]
"""``("group", PGID)``: the command's process group; ``("pid", PID)``: the command only."""


def kernel_ties_child(platform: str = sys.platform) -> bool:
    """The kernel can signal the command when the gate dies (``PR_SET_PDEATHSIG``)."""
    return platform.startswith("linux")


def tree_guarantee_note(*, interactive: bool, platform: str = sys.platform) -> str | None:
    """One line saying what is not guaranteed here, or None when the whole tree is."""
    limits = []
    if interactive:
        limits.append(
            "on a terminal only the command itself is stopped with the gate, not processes "
            "it starts in the background (in CI its whole process tree is)"
        )
    if not kernel_ties_child(platform):
        limits.append(
            f"on {platform} only a watchdog process stops the command if the gate is killed "
            "(no kernel guarantee: killing both leaves the command running)"
        )
    return f"note: {'; '.join(limits)}." if limits else None


def parent_death_signal(signum: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` that asks the kernel to send ``signum`` to the child when its parent
    (the thread that started it) dies; None where that cannot be asked (not Linux, no libc).

    Everything is looked up before the fork; the child only calls ``prctl``, then checks
    that its parent did not die before it asked (then nobody would signal it)."""
    if not kernel_ties_child():
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # libc's, already loaded
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    parent = os.getpid()

    def in_child() -> None:
        if prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # the gate died before we asked: follow it
            os.kill(os.getpid(), signum)

    return in_child


def child_setup(watchdog: Watchdog | None, *, whole_group: bool) -> Callable[[], None] | None:
    """The ``preexec_fn`` for the command, run in it between fork and exec: ask for the
    parent-death signal (Linux), and tell the watchdog the target (``group PGID`` when the
    command leads its own process group, else ``pid PID``) before the command runs at all,
    so that there is no moment in which it could start processes the watchdog would not
    stop. None when there is nothing to do."""
    tie = parent_death_signal()
    fd = watchdog.fileno() if watchdog is not None else None
    kind = "group" if whole_group else "pid"
    if tie is None and fd is None:
        return None

    def in_child() -> None:
        if tie is not None:
            tie()
        if fd is not None:
            # A watchdog gone must not stop the deploy: its closed pipe would answer the
            # write with SIGPIPE, which subprocess has reset to "terminate" by now.
            signal.signal(signal.SIGPIPE, signal.SIG_IGN)
            with contextlib.suppress(OSError):
                os.write(fd, f"{kind} {os.getpid()}\n".encode("ascii"))
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # as the command expects it

    return in_child


def _group_members(pgid: int) -> bool:
    """A live (not zombie) process is in group ``pgid`` (Linux: read from /proc)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def alive(target: Target) -> bool:
    """Some process of ``target`` still runs (zombies, which cannot run, do not count)."""
    kind, ident = target
    if os.path.isdir("/proc/self"):
        if kind == "group":
            return _group_members(ident)
        try:
            with open(f"/proc/{ident}/stat", "rb") as stat:
                return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
        except OSError:
            return False
    try:
        (os.killpg if kind == "group" else os.kill)(ident, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _send(target: Target, signum: int) -> None:
    kind, ident = target
    with contextlib.suppress(ProcessLookupError, PermissionError):
        (os.killpg if kind == "group" else os.kill)(ident, signum)


def stop_target(target: Target, *, grace: float = GRACE_SECONDS) -> bool:
    """Stop ``target``: SIGTERM, then SIGKILL if it still runs after ``grace`` seconds.
    True when something was still running (and so was stopped)."""
    if not alive(target):
        return False
    _send(target, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while alive(target):
        if time.monotonic() >= deadline:
            _send(target, signal.SIGKILL)
            break
        time.sleep(_POLL_SECONDS)  # waiting for processes to end, bounded by the grace
    return True


class Watchdog:
    """The gate's side of the watchdog (layer 3): start it, name the target, stand it down."""

    def __init__(self, process: subprocess.Popen[bytes], pipe: IO[bytes]) -> None:
        self._process = process
        self._pipe = pipe

    @classmethod
    def start(cls) -> Watchdog:
        """Start the watchdog process; raises ``OSError`` if it cannot be started."""
        read_end, write_end = os.pipe()  # not inherited: only the watchdog gets read_end
        try:
            process = subprocess.Popen(
                [sys.executable, "-I", "-S", os.path.abspath(__file__), str(read_end)],
                pass_fds=(read_end,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError:
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        return cls(process, os.fdopen(write_end, "wb", buffering=0))

    @property
    def pid(self) -> int:
        return self._process.pid

    def fileno(self) -> int:
        """The write end of the pipe (the command writes its target there, ``child_setup``)."""
        return self._pipe.fileno()

    def running(self) -> bool:
        return self._process.poll() is None

    def stand_down(self) -> None:
        """The gate cleaned up itself: the watchdog exits without stopping anything."""
        with contextlib.suppress(OSError):
            self._pipe.write(b"done\n")
        with contextlib.suppress(OSError):
            self._pipe.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _read_orders(fd: int) -> tuple[Target | None, bool]:
    """Read the gate's lines until the pipe ends: the last target named, and whether the
    gate said ``done``."""
    target: Target | None = None
    done = False
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        pending = b""
        while chunk := pipe.read(512):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                kind, _, ident = line.decode("ascii").partition(" ")
                if kind == "done":
                    done = True
                elif kind in ("group", "pid") and ident.isdigit():
                    target = (kind, int(ident))
    return target, done


def _main(argv: list[str]) -> int:
    for signum in (signal.SIGINT, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_IGN)
    target, done = _read_orders(int(argv[1]))
    if target is None or done:
        return 0
    if stop_target(target):
        with contextlib.suppress(OSError):
            kind, ident = target
            what = f"process group {ident}" if kind == "group" else f"process {ident}"
            print(
                f"signalbox gate: the gate died; stopped its command ({what}).",
                file=sys.stderr,
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))

"""The socket `signalbox serve` listens on, bound before the server says "serving on", and
who holds a port that is taken (Linux: ``/proc/net/tcp*`` and ``/proc/*/fd``)."""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

from signalbox.core.errors import ConfigError

__all__ = ["bind_listener", "port_holder"]

PROC = Path("/proc")
_LISTEN = "0A"  # the TCP state LISTEN in /proc/net/tcp


def bind_listener(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (not yet listening: uvicorn does that), of the family
    uvicorn would choose (IPv6 only for an address with a colon; a name such as localhost is
    IPv4, so the default URL http://127.0.0.1:PORT reaches it). A port in use is a
    ConfigError naming the process that holds it, when it can be found."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        listener.bind((host, port))
    except socket.gaierror as error:
        listener.close()
        raise ConfigError(
            f"Cannot listen on {host}: {error.strerror}.",
            hint="Set host (or --host) to an address of this machine, such as 127.0.0.1.",
        ) from None
    except OSError as error:
        listener.close()
        if error.errno == errno.EADDRINUSE:
            holder = port_holder(port) or "another process"
            raise ConfigError(
                f"Port {port} on {host} is already in use by {holder}.",
                hint="Stop that server, or pass --port (setting port) with a free port.",
            ) from None
        raise ConfigError(
            f"Cannot listen on {host}:{port}: {error.strerror}.",
            hint="Pass --host and --port (settings host, port) that this user may listen on.",
        ) from None
    return listener


def port_holder(port: int) -> str | None:
    """``pid N (command line)`` of the process listening on TCP ``port``; None when it
    cannot be told (not Linux, or the process belongs to another user)."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    for process in PROC.iterdir():
        if not process.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (process / "fd").iterdir()}
        except OSError:  # gone, or another user's
            continue
        if links & {f"socket:[{inode}]" for inode in inodes}:
            return f"pid {process.name} ({_command_line(process)})"
    return None


def _listening_inodes(port: int) -> set[str]:
    found = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != _LISTEN:
                continue
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                found.add(fields[9])
    return found


def _command_line(process: Path) -> str:
    """The program and what it runs (``python -m signalbox serve``), up to its first option:
    options and what follows them may carry secrets (``--password=...``), so they are not
    told (``ps -p PID -o args`` shows them to whoever may see them)."""
    try:
        words = [
            w.decode(errors="replace") for w in (process / "cmdline").read_bytes().split(b"\0") if w
        ]
    except OSError:
        return "command unknown"
    if not words:
        return "command unknown"
    told = [os.path.basename(words[0])]
    for word in words[1:]:
        if word.startswith("-") and word != "-m":
            told.append("...")
            break
        told.append(word)
    line = " ".join(told)
    return line if len(line) <= 120 else line[:119] + "…"

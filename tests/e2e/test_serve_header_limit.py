"""An unauthenticated request with a 64 MB header: the server answers 431 after at most
64 KiB (plus one read), its memory stays where it was, and it serves the next request."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx

from signalbox.testing import ServerProcess

HUGE = 64 * 1024 * 1024


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_64_mb_header_gets_431_and_the_server_stays_small(tmp_path):
    env = {"SIGNALBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'signalbox.db'}"}
    with ServerProcess(env=env, log=tmp_path / "server.log") as server:
        assert server.process is not None
        assert httpx.get(server.url + "/healthz").status_code == 200
        before = resident_kib(server.process.pid)
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            raw.sendall(b"GET /api/holds HTTP/1.1\r\nHost: x\r\nX-Big: ")
            sent, piece = 0, b"a" * 65536
            try:
                while sent < HUGE:
                    raw.sendall(piece)
                    sent += len(piece)
            except OSError:  # the server closed the connection: it stopped reading
                pass
            answer = raw.recv(200)  # the deadline is the socket timeout
        after = resident_kib(server.process.pid)
        assert answer.startswith(b"HTTP/1.1 431 "), answer
        assert sent < HUGE
        assert after - before < 16 * 1024, (before, after)  # KiB: nowhere near 64 MB
        assert httpx.get(server.url + "/healthz").status_code == 200

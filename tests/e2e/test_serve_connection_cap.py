"""`signalbox serve` at its limit on open files: a new connection past its cap is answered
503 at once (a clear refusal the gate retries), never left hanging in the backlog, and the
server takes connections again once some close."""

from __future__ import annotations

import socket

from signalbox.cli.open_files import RESERVED_FILES
from signalbox.testing import ServerProcess

LIMIT = RESERVED_FILES + 40  # ulimit -n of the server: it takes 40 connections at once


def _ask(connection: socket.socket) -> bytes:
    connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: signalbox\r\n\r\n")
    return connection.recv(65536)


def test_connections_past_the_cap_get_503_at_once_and_are_taken_again_later(tmp_path):
    env = {"SIGNALBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'signalbox.db'}"}
    with ServerProcess(env=env, log=tmp_path / "server.log", open_files=LIMIT) as server:
        held: list[socket.socket] = []
        try:
            for _ in range(60):  # more than it takes: each one is an open file there
                connection = socket.create_connection(("127.0.0.1", server.port), timeout=10)
                held.append(connection)
            refused = _ask(held[-1])  # answered at once (the socket's timeout: no hang)
            assert refused.startswith(b"HTTP/1.1 503 "), refused[:80]
            for connection in held[:40]:
                connection.close()
            del held[:40]
            fresh = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            held.append(fresh)
            assert _ask(fresh).startswith(b"HTTP/1.1 200 ")
        finally:
            for connection in held:
                connection.close()
    log = (tmp_path / "server.log").read_text()
    assert "Too many open files" not in log

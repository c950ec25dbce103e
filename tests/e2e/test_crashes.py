"""`kill -9` the server in the middle of its work, start it again on the same database, and
check that nothing acknowledged is lost and nothing half-written is served.

- A hold burst: four clients take and release holds; the server is killed at a few points.
  Every grant and release that got a 2xx is in the database after the restart.
- A state upload: the server is killed mid-body, after the whole body was sent but before
  the answer, and after the answer. The state read after the restart is a whole earlier or
  later version, byte for byte, and the acknowledged one when there was an answer.

SQLite, and PostgreSQL when SIGNALBOX_TEST_DATABASE_URL is set (a throw-away database).
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from signalbox.storage.engine import build_engine
from signalbox.testing import PostgresDatabases, ServerProcess, postgres_url

pytestmark = pytest.mark.slow

ADMIN = "sbx_crash-admin"
CLIENTS = 4
AUTH = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'signalbox.db'}"
        return
    base = postgres_url()
    if not base:
        pytest.skip("PostgreSQL crash tests need SIGNALBOX_TEST_DATABASE_URL")
    databases = PostgresDatabases(base)
    try:
        yield databases.create()
    finally:
        databases.drop_all()


@dataclass
class Crashable:
    """One server configuration, started and killed again and again on one database."""

    folder: Path
    database_url: str
    starts: int = 0
    server: ServerProcess | None = None

    def start(self) -> ServerProcess:
        config = self.folder / "signalbox.toml"
        tables = [f"[environments.env{n}]\n" for n in range(CLIENTS)]
        config.write_text("\n".join(tables))
        self.starts += 1
        env = {"SIGNALBOX_DATABASE_URL": self.database_url, "SIGNALBOX_ADMIN_TOKEN": ADMIN}
        log = self.folder / f"server-{self.starts}.log"
        self.server = ServerProcess(config=config, env=env, log=log).start()
        return self.server

    def kill(self) -> None:
        assert self.server is not None and self.server.process is not None
        self.server.process.kill()  # SIGKILL: no shutdown, no cleanup
        self.server.process.wait()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def query(self, sql: str) -> list[tuple]:
        engine = build_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return [tuple(row) for row in connection.execute(text(sql))]
        finally:
            engine.dispose()


@pytest.fixture
def crashable(tmp_path, database_url) -> Iterator[Crashable]:
    running = Crashable(tmp_path, database_url)
    yield running
    running.stop()


# --- holds ---


@dataclass
class Acknowledged:
    grants: set[tuple[str, int]] = field(default_factory=set)
    releases: set[tuple[str, int]] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.grants) + len(self.releases)


def hold_client(url: str, env: str, seen: Acknowledged) -> None:
    """Take and release holds on ``env`` until the server is gone."""
    path = f"/api/environments/{env}/hold"
    with httpx.Client(base_url=url, headers=AUTH, timeout=10) as http:
        try:
            while True:
                taken = http.post(path, json={"reason": "crash test", "duration": "1h"})
                if taken.status_code != 200:
                    return
                token = taken.json()["hold"]["fencing_token"]
                with seen.lock:
                    seen.grants.add((env, token))
                released = http.delete(path)
                if released.status_code != 200:
                    return
                with seen.lock:
                    seen.releases.add((env, token))
        except httpx.TransportError:  # killed
            return


def burst_then_kill(crashable: Crashable, seen: Acknowledged, kill_after: int) -> None:
    """Four clients take and release holds until ``kill_after`` more answers came back,
    then the server is killed."""
    server = crashable.start()
    target = seen.count() + kill_after
    clients = [
        threading.Thread(target=hold_client, args=(server.url, f"env{n}", seen), daemon=True)
        for n in range(CLIENTS)
    ]
    for client in clients:
        client.start()
    waiting = threading.Event()
    while seen.count() < target:  # poll until enough work was acknowledged
        assert any(client.is_alive() for client in clients), "the clients stopped early"
        waiting.wait(0.005)
    crashable.kill()
    for client in clients:
        client.join(timeout=30)


def test_a_hold_burst_loses_no_acknowledged_grant_or_release(crashable):
    seen = Acknowledged()
    for kill_after in (3, 30, 100):  # three kill points, each on the database the last left
        burst_then_kill(crashable, seen, kill_after)

    crashable.start()  # the same database, after the last crash
    stored = crashable.query("SELECT environment, fencing_token, released_at FROM holds")
    granted = {(env, token) for env, token, _ in stored}
    released = {(env, token) for env, token, at in stored if at is not None}
    assert seen.grants and seen.grants <= granted
    assert seen.releases <= released
    for n in range(CLIENTS):  # fencing tokens stay consecutive: nothing half-written
        mine = sorted(token for env, token, _ in stored if env == f"env{n}")
        assert mine == list(range(1, len(mine) + 1))


# --- a state upload ---


def state_body(serial: int, megabytes: int) -> bytes:
    """A Terraform state of about ``megabytes`` MB, different for every serial."""
    filler = hashlib.sha256(str(serial).encode()).hexdigest() * (megabytes * 1024 * 16)
    document = {
        "version": 4,
        "terraform_version": "1.15.5",
        "serial": serial,
        "lineage": "crash-test-lineage",
        "outputs": {},
        "resources": [{"mode": "managed", "type": "null_resource", "name": "pad", "note": filler}],
    }
    return json.dumps(document).encode()


def raw_upload(server: ServerProcess, body: bytes, *, send: int) -> socket.socket:
    """A POST of ``body`` with ``send`` of its bytes sent so far (the socket stays open)."""
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    head = (
        f"POST /tf/env0/main HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    raw.sendall(head.encode() + body[:send])
    return raw


def stored_state(server: ServerProcess) -> bytes:
    answer = httpx.get(server.url + "/tf/env0/main", headers=AUTH, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.content


def test_a_state_upload_killed_at_any_point_serves_a_whole_version(crashable):
    bodies = {serial: state_body(serial, 3) for serial in range(1, 5)}
    server = crashable.start()
    written = httpx.post(server.url + "/tf/env0/main", headers=AUTH, content=bodies[1])
    assert written.status_code == 200, written.text

    # 1. killed mid-body (segments of serial 2 staged, no answer): serial 1 stays
    upload = raw_upload(server, bodies[2], send=len(bodies[2]) // 2)
    crashable.kill()
    upload.close()
    server = crashable.start()
    assert stored_state(server) == bodies[1]

    # 2. killed once the whole body is sent, before the answer: serial 1 or 3, whole
    upload = raw_upload(server, bodies[3], send=len(bodies[3]))
    crashable.kill()
    upload.close()
    server = crashable.start()
    after = stored_state(server)
    assert after in (bodies[1], bodies[3])

    # 3. killed right after the answer: the acknowledged serial 4 is what is served
    written = httpx.post(server.url + "/tf/env0/main", headers=AUTH, content=bodies[4])
    assert written.status_code == 200, written.text
    crashable.kill()
    server = crashable.start()
    assert stored_state(server) == bodies[4]
    versions = crashable.query("SELECT serial FROM tf_state_versions ORDER BY id")
    assert [serial for (serial,) in versions] in ([1, 4], [1, 3, 4])


def test_a_starting_server_drops_crashed_uploads_and_the_file_shrinks(tmp_path):
    """The rows a server killed mid-upload leaves, silent for an hour: the next start drops
    them and gives the pages back (SQLite's page count falls)."""
    from datetime import UTC, datetime, timedelta

    from signalbox.storage.engine import sqlite_pragma
    from signalbox.storage.repositories.tfstate import create_blob, put_segments
    from signalbox.testing import sqlite_engine

    path = tmp_path / "signalbox.db"
    engine = sqlite_engine(path)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    for _ in range(3):
        blob_id = create_blob(engine, now=an_hour_ago)
        put_segments(engine, blob_id, [(seq, b"c" * (1 << 20)) for seq in range(4)])
    pages = sqlite_pragma(engine, "page_count")
    engine.dispose()

    crashable = Crashable(tmp_path, f"sqlite:///{path}")
    try:
        crashable.start()
        assert crashable.query("SELECT count(*) FROM tf_state_chunks") == [(0,)]
        assert crashable.query("SELECT count(*) FROM tf_state_blobs") == [(0,)]
        left = crashable.query("PRAGMA page_count")[0][0]
    finally:
        crashable.stop()
    assert left < pages - 12 * (1 << 20) // 65536  # 12 MiB of 64 KiB pages given back

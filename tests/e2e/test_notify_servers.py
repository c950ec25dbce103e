"""Delivery by real `signalbox serve` processes with a [[notify]] target to a real loopback
receiver: two servers on one PostgreSQL deliver each message once, in order; a server killed
(SIGKILL) while the receiver holds its request leaves the message to the other server, or to
itself after a restart, once its claim (SIGNALBOX_NOTIFY_CLAIM_SECONDS=2) has run out: the
message arrives, nothing is lost, nothing overtakes it."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from tests.support.receivers import HttpReceiver
from tests.support.servers import create_token

from signalbox.storage.engine import build_engine
from signalbox.storage.tables import EventDeliveryRow, EventRow
from signalbox.storage.uow import UnitOfWork
from signalbox.testing import (  # noqa: F401  (fixtures)
    PostgresDatabases,
    ServerProcess,
    database_url,
    postgres_database_url,
    postgres_url,
)

pytestmark = pytest.mark.slow

ADMIN = "sbx_notify-servers-admin"
CONFIG = """
[environments.dev]
timezone = "Europe/Berlin"

[[notify]]
name = "dev-channel"
urls_env = "SIGNALBOX_NOTIFY_DEV"
"""
HOLD_KINDS = ("hold.granted", "hold.released")


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as running:
        yield running


@pytest.fixture
def postgres_url_for_servers() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for the servers of one test."""
    base = postgres_url()
    if not base:
        pytest.skip("needs SIGNALBOX_TEST_DATABASE_URL (PostgreSQL); .ci/run sets it")
    databases = PostgresDatabases(base)
    try:
        yield databases.create()
    finally:
        databases.drop_all()


class Servers:
    """`signalbox serve` processes on one database and one config, each logging to a file."""

    def __init__(self, folder: Path, url: str, receiver: HttpReceiver) -> None:
        self.folder = folder
        self.config = folder / "signalbox.toml"
        self.config.write_text(CONFIG)
        self.env = {
            "SIGNALBOX_DATABASE_URL": url,
            "SIGNALBOX_ADMIN_TOKEN": ADMIN,
            "SIGNALBOX_NOTIFY_DEV": receiver.url("json", "/dev?rto=20"),
            "SIGNALBOX_NOTIFY_CLAIM_SECONDS": "2",
        }
        self.running: list[ServerProcess] = []
        self.engine: Engine = build_engine(url)

    def start(self) -> ServerProcess:
        log = self.folder / f"server-{len(self.running)}.log"
        server = ServerProcess(config=self.config, env=self.env, log=log).start()
        self.running.append(server)
        return server

    def stop(self) -> None:
        for server in self.running:
            server.stop()
        self.engine.dispose()

    def sender(self) -> ServerProcess:
        """The server whose notifier is sending now (its pid is in the claim)."""
        with UnitOfWork(self.engine, read_only=True) as uow:
            claimants = set(
                uow.session.scalars(
                    select(EventDeliveryRow.claimed_by).where(EventDeliveryRow.state == "sending")
                )
            )
        assert len(claimants) == 1, claimants
        pid = int(next(iter(claimants)).split(":")[1])
        [server] = [s for s in self.running if s.process is not None and s.process.pid == pid]
        return server

    def event_ids(self) -> list[int]:
        with UnitOfWork(self.engine, read_only=True) as uow:
            query = select(EventRow.id).where(EventRow.kind.in_(HOLD_KINDS)).order_by(EventRow.id)
            return list(uow.session.scalars(query))


@contextlib.contextmanager
def servers_on(folder: Path, url: str, receiver: HttpReceiver) -> Iterator[Servers]:
    made = Servers(folder, url, receiver)
    try:
        yield made
    finally:
        made.stop()


def hold(server: ServerProcess, token: str) -> None:
    answer = httpx.post(
        f"{server.url}/api/environments/dev/hold",
        headers={"Authorization": f"Bearer {token}"},
        json={"reason": "renaming cognito pool", "duration": "1h"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text


def release(server: ServerProcess, token: str) -> None:
    answer = httpx.delete(
        f"{server.url}/api/environments/dev/hold",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text


def kill(server: ServerProcess) -> None:
    assert server.process is not None
    server.process.send_signal(signal.SIGKILL)
    assert server.process.wait(timeout=10) == -signal.SIGKILL


@pytest.mark.postgres
def test_two_servers_on_one_postgresql_deliver_each_message_once_in_order(
    tmp_path: Path, postgres_url_for_servers: str, receiver: HttpReceiver
) -> None:
    with servers_on(tmp_path, postgres_url_for_servers, receiver) as servers:
        first, second = servers.start(), servers.start()
        token = create_token(first.url, ADMIN, "platform-eng", ["developer:dev"])
        for _ in range(10):  # each change through the other server
            hold(first, token)
            release(second, token)
        posts = receiver.wait_for(20, timeout=30)
        wanted = servers.event_ids()
        servers.stop()  # both stopped (their runs in flight settled): nothing more can come
    assert len(wanted) == 20
    assert [post.event_id for post in receiver.posts] == wanted
    assert [post.title for post in posts] == ["dev: hold granted", "dev: hold released"] * 10
    assert len(receiver.attempts) == 20


@pytest.mark.postgres
def test_a_server_killed_mid_delivery_leaves_the_message_to_the_other(
    tmp_path: Path, postgres_url_for_servers: str, receiver: HttpReceiver
) -> None:
    with servers_on(tmp_path, postgres_url_for_servers, receiver) as servers:
        servers.start()
        servers.start()
        token = create_token(servers.running[0].url, ADMIN, "platform-eng", ["developer:dev"])
        receiver.hang()  # the receiver holds the request: the sender waits for its answer
        hold(servers.running[0], token)
        receiver.wait_for_hung(1, timeout=15)
        sender = servers.sender()
        kill(sender)  # mid-delivery: the message is claimed, sent, never answered
        [survivor] = [s for s in servers.running if s is not sender]
        release(survivor, token)  # more changes queue behind the lost one
        hold(survivor, token)
        receiver.answer_ok()
        posts = receiver.wait_for(3, timeout=30)  # once the claim has run out (2 s)
        wanted = servers.event_ids()
        survivor.stop()
    assert [post.event_id for post in receiver.posts] == wanted  # nothing lost, in order
    assert [post.title for post in posts] == [
        "dev: hold granted",
        "dev: hold released",
        "dev: hold granted",
    ]
    assert {post.event_id for post in receiver.hung} == {wanted[0]}  # the one held up


def test_a_server_killed_mid_delivery_sends_the_message_itself_after_a_restart(
    tmp_path: Path,
    database_url: str,  # noqa: F811  (the fixture)
    receiver: HttpReceiver,
) -> None:
    with servers_on(tmp_path, database_url, receiver) as servers:
        server = servers.start()
        token = create_token(server.url, ADMIN, "platform-eng", ["developer:dev"])
        receiver.hang()
        hold(server, token)
        receiver.wait_for_hung(1, timeout=15)
        assert servers.sender() is server
        kill(server)
        receiver.answer_ok()
        restarted = servers.start()  # the same configuration and database
        release(restarted, token)
        posts = receiver.wait_for(2, timeout=30)
        wanted = servers.event_ids()
        restarted.stop()
    assert [post.event_id for post in posts] == wanted
    assert [post.title for post in posts] == ["dev: hold granted", "dev: hold released"]
    assert len(receiver.posts) == 2

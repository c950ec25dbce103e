"""Several servers starting at once on one empty database: migrations, environments and the
bootstrap token are set up exactly once, and every server starts."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from signalbox.services.database import start_up
from signalbox.services.events import list_events
from signalbox.services.tfstate import StateStore
from signalbox.services.tokens import authenticate
from signalbox.settings import EnvironmentConfig, Settings
from signalbox.storage import build_engine
from signalbox.testing import FakeClock

SERVERS = 6


def test_servers_starting_together_set_up_once(database_url):
    settings = Settings(
        database_url=database_url,
        admin_token="sbx_boot",
        environments={"dev": EnvironmentConfig("dev"), "prod": EnvironmentConfig("prod")},
    )
    clock = FakeClock(datetime(2026, 11, 26, 12, tzinfo=UTC))
    engines = [build_engine(database_url) for _ in range(SERVERS)]
    barrier = threading.Barrier(SERVERS)
    failures: list[BaseException] = []

    def server(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            start_up(StateStore.from_settings(engines[index], settings), now=clock.now())
        except BaseException as failure:
            failures.append(failure)

    threads = [threading.Thread(target=server, args=(i,)) for i in range(SERVERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert not failures, failures[0]
        kinds = [event.kind for event in list_events(engines[0])]
        assert sorted(kinds) == ["environment.added", "environment.added", "token.bootstrap"]
        assert authenticate(engines[0], "sbx_boot", now=clock.now()).principal.name == (
            "bootstrap-admin"
        )
    finally:
        for engine in engines:
            engine.dispose()

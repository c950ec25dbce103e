"""The change feed: waiters wake at once on a local change, within a tick on a change
seen in the database, never before; one read per tick however many wait."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Collection

from signalbox.api.change_feed import ChangeFeed


class VersionTable:
    """Stands in for the environments table: counts the reads the feed makes."""

    def __init__(self) -> None:
        self.versions = {"dev": 1, "prod": 1}
        self.reads = 0
        self.touched: list[list[int]] = []

    def read(self) -> dict[str, int]:
        self.reads += 1
        return dict(self.versions)

    def touch(self, ids: Collection[int]) -> None:
        self.touched.append(sorted(ids))


def test_a_local_notify_wakes_every_waiter_of_that_environment_only() -> None:
    table = VersionTable()

    async def scenario() -> tuple[list[bool], list[bool]]:
        feed = ChangeFeed(table.read, tick_seconds=3600)
        feed.ensure_started()
        dev = [asyncio.create_task(feed.wait("dev", since=1, timeout=30)) for _ in range(50)]
        prod = [asyncio.create_task(feed.wait("prod", since=1, timeout=0.3)) for _ in range(5)]
        await asyncio.sleep(0)
        # from another thread, as a service running in the thread pool would
        thread = threading.Thread(target=feed.notify, args=("dev", 2))
        thread.start()
        thread.join()
        woken = await asyncio.wait_for(asyncio.gather(*dev), 5)
        timed_out = await asyncio.gather(*prod)
        await feed.stop()
        return list(woken), list(timed_out)

    woken, timed_out = asyncio.run(scenario())
    assert woken == [True] * 50
    assert timed_out == [False] * 5


def test_a_change_made_by_another_process_is_seen_by_the_watcher() -> None:
    table = VersionTable()

    async def scenario() -> bool:
        feed = ChangeFeed(table.read, tick_seconds=0.02)
        feed.ensure_started()
        waiter = asyncio.create_task(feed.wait("dev", since=1, timeout=30))
        await asyncio.sleep(0.05)
        assert not waiter.done()
        table.versions["dev"] = 5  # written by some other server process
        result = await asyncio.wait_for(waiter, 5)
        await feed.stop()
        return result

    assert asyncio.run(scenario()) is True


def test_an_old_since_returns_at_once_without_waiting() -> None:
    table = VersionTable()

    async def scenario() -> bool:
        feed = ChangeFeed(table.read, tick_seconds=3600)
        feed.ensure_started()
        table.versions["dev"] = 3
        feed.notify("dev", 3)
        result = await asyncio.wait_for(feed.wait("dev", since=2, timeout=30), 1)
        await feed.stop()
        return result

    assert asyncio.run(scenario()) is True


def test_reads_are_per_tick_not_per_waiter_and_waiting_gates_are_kept_alive() -> None:
    table = VersionTable()

    async def scenario() -> tuple[int, int]:
        feed = ChangeFeed(
            table.read, touch_waiting=table.touch, tick_seconds=0.02, keepalive_seconds=0.05
        )
        feed.ensure_started()
        waiters = [
            asyncio.create_task(feed.wait("dev", since=1, timeout=0.5, deploy_id=i))
            for i in range(300)
        ]
        await asyncio.gather(*waiters)
        ticks = feed.ticks
        await feed.stop()
        return ticks, table.reads

    ticks, reads = asyncio.run(scenario())
    assert reads <= ticks + 1  # one read at start, then one per tick; 300 waiters add none
    assert table.touched and table.touched[0] == list(range(300))


def test_a_failing_read_keeps_the_waiters_waiting() -> None:
    calls = {"n": 0}

    def flaky() -> dict[str, int]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("database is restarting")
        return {"dev": 1 if calls["n"] < 4 else 2}

    async def scenario() -> bool:
        feed = ChangeFeed(flaky, tick_seconds=0.01)
        feed.ensure_started()
        result = await asyncio.wait_for(feed.wait("dev", since=1, timeout=30), 5)
        await feed.stop()
        return result

    assert asyncio.run(scenario()) is True


def test_housekeeping_runs_every_few_seconds_in_the_background() -> None:
    table = VersionTable()
    ran = threading.Event()

    async def scenario() -> None:
        feed = ChangeFeed(
            table.read, housekeeping=ran.set, tick_seconds=0.01, housekeeping_seconds=0.02
        )
        feed.ensure_started()
        for _ in range(500):
            if ran.is_set():
                break
            await asyncio.sleep(0.01)
        await feed.stop()

    asyncio.run(scenario())
    assert ran.is_set()


def test_waiting_on_several_environments_wakes_on_any_one_and_says_whether_it_moved() -> None:
    table = VersionTable()

    async def scenario() -> tuple[bool, bool, bool]:
        feed = ChangeFeed(table.read, tick_seconds=3600)
        feed.ensure_started()
        either = asyncio.create_task(feed.wait_any({"dev": 1, "prod": 1}, timeout=30))
        await asyncio.sleep(0)
        feed.notify("prod", 2)
        moved = await asyncio.wait_for(either, 5)
        quiet = await feed.wait_any({"dev": 1, "prod": 2}, timeout=0.05)
        nothing = await feed.wait_any({}, timeout=0.01)
        await feed.stop()
        return moved, quiet, nothing

    assert asyncio.run(scenario()) == (True, False, False)


def test_a_change_that_wakes_no_waiter_leaves_the_gates_parked_but_tells_the_listeners() -> None:
    """A deploy queued at the tail changes no waiting gate's answer: the waiters of its
    environment stay parked (they time out), while listeners and the version see it; the
    next change that wakes wakes them at once."""
    table = VersionTable()

    async def scenario() -> tuple[list[bool], int, int, bool]:
        feed = ChangeFeed(table.read, tick_seconds=3600)
        feed.ensure_started()
        heard: list[int] = []
        feed.listen(lambda: heard.append(feed.version("dev")))
        parked = [asyncio.create_task(feed.wait("dev", since=1, timeout=0.2)) for _ in range(3)]
        await asyncio.sleep(0)
        feed.notify("dev", 2, wakes_waiters=False)
        timed_out = list(await asyncio.gather(*parked))
        later = asyncio.create_task(feed.wait("dev", since=1, timeout=30))
        await asyncio.sleep(0)
        feed.notify("dev", 3)
        woken = await asyncio.wait_for(later, 5)
        await feed.stop()
        return timed_out, feed.version("dev"), len(heard), woken

    timed_out, version, heard, woken = asyncio.run(scenario())
    assert timed_out == [False, False, False]
    assert (version, heard, woken) == (3, 2, True)

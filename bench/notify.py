"""Notifications against a real `signalbox serve`: how fast, how soon, and what they cost.

    .venv/bin/python bench/notify.py                       # SQLite (temporary files)
    .venv/bin/python bench/notify.py --quick               # smaller sizes, under a minute
    .venv/bin/python bench/notify.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

With ``--database-url`` throw-away PostgreSQL databases are created next to the one in the URL
and dropped afterwards (``--pg URL`` runs PostgreSQL after SQLite).

A receiver process (asyncio, loopback) takes Apprise's ``json://`` POSTs and records when
each arrived and its ``signalbox event N``. Four servers, each its own process:
  on              one ``[[notify]]`` target, ``json://127.0.0.1:PORT/bench``, default events
                  (every work hold event is told): the server answers and delivers;
  off             the same environments, no ``[[notify]]`` table: nothing is delivered;
  split           no ``[[notify]]`` table, on its own database, answers the clients ...
  split-notifier  ... while this one, with the target, on the same database, is asked nothing
                  and delivers what ``split`` writes: the notifier in a process of its own.

1. floors: the same messages sent by Apprise from one thread of this process, the way the
   notifier sends them (``Target.send``: a new Apprise object and connection per message),
   and plain HTTP POSTs of the same JSON on one keep-alive connection;
2. throughput (``on``): ``--events`` events (hold + release round trips from ``--writers``
   clients, as fast as the server takes them) -> messages delivered per second, the backlog
   and how fast it drains once the events stop, the delay from each event's ``at`` (GET
   /api/events) to its arrival, p50/p99; checked: every told event arrived exactly once and in
   order (by event id; on PostgreSQL within each environment, since ids are not taken in
   commit order there);
3. paced (``on``): ``--rate`` events per second (100) for ``--paced-seconds``: the backlog
   stays bounded, delay p50/p99;
4. on versus off: the hold round trip (POST + DELETE, as bench/server.py) with ``--clients``
   closed-loop clients, with one, and with one client paced at ``--pace`` round trips per
   second; and a gate's deploy (POST /api/deploys answered go, then finish), one client.
   Phases interleaved (off, on, split, off, ...), medians of ``--rounds``; ratios to off;
   each phase waits until its messages arrived before the next starts.
Targets: delivery keeps up with 100 events/s on SQLite; the hold round trip changes by less
than 5% with delivery on.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx

from server import ADMIN, cpu_seconds, make_tokens
from signalbox.core.notify import Message, Subscription
from signalbox.notify_settings import NotifyTarget
from signalbox.services.notify.targets import build_targets
from signalbox.settings import Settings
from signalbox.testing import PostgresDatabases, ServerProcess

ROUTINE = Path(__file__).resolve().parents[1] / "examples/plans/routine-frontend-change.json"
EVENT_ID = re.compile(rb"signalbox event (\d+)")
KEEPS_UP_DRAIN_SECONDS = 2.0
ROUND_TRIP_TARGET = 0.05


# -- the receiver (its own process, so that its work does not share the bench's GIL) --------


def _receiver_main(ready: Connection, control: Connection, count: Any, keep: bool) -> None:
    """Serve HTTP on a free loopback port; record (path, event id, time.time()) per POST,
    and with ``keep`` each body too."""
    records: list[tuple[str, int, float]] = []
    bodies: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length, close = 0, False
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"connection" and value.strip().lower() == b"close":
                        close = True
                body = await reader.readexactly(length) if length else b""
                at = time.time()
                path = head.split(b" ", 2)[1].decode()
                found = EVENT_ID.search(body)
                records.append((path, int(found.group(1)) if found else -1, at))
                if keep:
                    bodies.append(body)
                with count.get_lock():
                    count.value += 1
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                    + (b"Connection: close\r\n\r\n" if close else b"\r\n")
                )
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def answer_control() -> None:
        while True:
            try:
                command = control.recv()
            except EOFError:
                return
            if command == "records":
                control.send(list(records))
            elif command == "bodies":
                control.send(list(bodies))
            elif command == "clear":
                records.clear()
                with count.get_lock():
                    count.value = 0
                control.send(True)

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        ready.send(server.sockets[0].getsockname()[1])
        threading.Thread(target=answer_control, daemon=True).start()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class Receiver:
    """The receiver process: ``port``, ``count`` (a shared counter), ``records()``."""

    def __init__(self, *, keep_bodies: bool = False) -> None:
        context = multiprocessing.get_context("spawn")
        ready_here, ready_there = context.Pipe()
        self._control, control_there = context.Pipe()
        self._count = context.Value("q", 0)
        self.process = context.Process(
            target=_receiver_main,
            args=(ready_there, control_there, self._count, keep_bodies),
            daemon=True,
        )
        self.process.start()
        self.port: int = ready_here.recv()
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        return int(self._count.value)

    def records(self) -> list[tuple[str, int, float]]:
        with self._lock:
            self._control.send("records")
            return list(self._control.recv())

    def bodies(self) -> list[bytes]:
        """Each message's body as received (with ``keep_bodies``)."""
        with self._lock:
            self._control.send("bodies")
            return list(self._control.recv())

    def clear(self) -> None:
        with self._lock:
            self._control.send("clear")
            self._control.recv()

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(5)

    async def wait_for(self, count: int, timeout: float) -> float | None:
        """Wait until ``count`` messages arrived (polling a counter, with a deadline); the
        monotonic time when seen, None on timeout."""
        deadline = time.monotonic() + timeout
        while self.count < count:
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.01)
        return time.monotonic()


# -- helpers ---------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def config_text(environments: int, notify_url: str | None) -> str:
    tables = [f'[environments.env-{i:02d}]\ntimezone = "UTC"\n' for i in range(environments)]
    if notify_url:
        tables.append(f'[[notify]]\nname = "bench"\nurls = ["{notify_url}"]\n')
    return "\n".join(tables)


def parse_at(text: str) -> float:
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.timestamp()


async def newest_event_id(http: httpx.AsyncClient) -> int:
    answer = await http.get("/api/events", params={"limit": 1})
    answer.raise_for_status()
    events = answer.json()["events"]
    return events[0]["id"] if events else 0


async def events_after(http: httpx.AsyncClient, after: int) -> list[dict[str, Any]]:
    """Every event with an id above ``after``, oldest first (GET /api/events, paged)."""
    found: list[dict[str, Any]] = []
    before: int | None = None
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if before is not None:
            params["before"] = before
        answer = await http.get("/api/events", params=params)
        answer.raise_for_status()
        page = answer.json()["events"]
        fresh = [event for event in page if event["id"] > after]
        found += fresh
        if len(fresh) < len(page) or not page:
            break
        before = page[-1]["id"]
    return sorted(found, key=lambda event: event["id"])


TOLD = Subscription.of(None, None)


def told(event: dict[str, Any]) -> bool:
    """Whether the bench's target (default event set, every environment) hears of it; the
    bench makes only work holds and deploys, whose own holds are not told."""
    if event["kind"].startswith("hold.") and event["data"].get("hold_kind") == "deploy":
        return False
    return TOLD.wants(event["kind"], event["environment"])


@dataclass
class Delivered:
    """What one measured stretch delivered, checked against the events it made."""

    events: int = 0  # told events made
    received: int = 0
    duplicates: int = 0
    missing: int = 0
    out_of_order: int = 0  # by event id overall
    out_of_order_per_env: int = 0
    delays: list[float] = field(default_factory=list)  # seconds, event at -> received
    first_received: float = 0.0
    last_received: float = 0.0

    @property
    def per_second(self) -> float:
        span = self.last_received - self.first_received
        return (self.received - 1) / span if span > 0 else float("nan")


def check_deliveries(
    events: list[dict[str, Any]], records: list[tuple[str, int, float]]
) -> Delivered:
    expected = {event["id"]: event for event in events if told(event)}
    mine = sorted(
        (r for r in records if r[1] in expected or r[1] > min(expected, default=0)),
        key=lambda r: r[2],
    )
    result = Delivered(events=len(expected), received=len(mine))
    seen: set[int] = set()
    last_overall = 0
    last_env: dict[str | None, int] = {}
    for _path, event_id, at in mine:
        if event_id in seen:
            result.duplicates += 1
            continue
        seen.add(event_id)
        event = expected.get(event_id)
        if event is None:
            continue
        if event_id < last_overall:
            result.out_of_order += 1
        last_overall = max(last_overall, event_id)
        env = event["environment"]
        if event_id < last_env.get(env, 0):
            result.out_of_order_per_env += 1
        last_env[env] = max(last_env.get(env, 0), event_id)
        result.delays.append(at - parse_at(event["at"]))
    result.missing = len(set(expected) - seen)
    if mine:
        result.first_received, result.last_received = mine[0][2], mine[-1][2]
    return result


def problems_of(delivered: Delivered, postgres: bool) -> list[str]:
    found = []
    if delivered.missing:
        found.append(f"{delivered.missing} told events never arrived")
    if delivered.duplicates:
        found.append(f"{delivered.duplicates} arrived twice")
    if delivered.out_of_order_per_env or (delivered.out_of_order and not postgres):
        found.append(
            f"{delivered.out_of_order} out of order overall, "
            f"{delivered.out_of_order_per_env} within an environment"
        )
    return found


# -- floors ----------------------------------------------------------------------------------


@dataclass
class Floors:
    apprise_per_second: float
    apprise_p50_ms: float
    http_per_second: float
    http_p50_ms: float


def measure_floors(receiver: Receiver, count: int) -> Floors:
    """Apprise sending from one thread as the notifier does, and plain keep-alive POSTs."""
    url = f"json://127.0.0.1:{receiver.port}/floor"
    settings = Settings(notify=(NotifyTarget(name="floor", urls=(url,)),))
    target = build_targets(settings)["floor"]
    body = (
        "bench-admin held env-00 for 5m (until 12:05 UTC): bench.\n"
        "http://127.0.0.1:8787/environments/env-00\nsignalbox event {n}"
    )
    target.send(Message("warm-up", body.format(n=0)))
    took: list[float] = []
    began = time.perf_counter()
    for n in range(count):
        start = time.perf_counter()
        sent = target.send(Message("env-00: hold acquired", body.format(n=n + 1)))
        took.append(time.perf_counter() - start)
        assert sent.ok, sent.answer
    apprise_rate = count / (time.perf_counter() - began)
    raw: list[float] = []
    with httpx.Client(base_url=f"http://127.0.0.1:{receiver.port}") as http:
        began = time.perf_counter()
        for n in range(count):
            start = time.perf_counter()
            payload = {
                "version": "1.0",
                "title": "env-00: hold acquired",
                "message": body.format(n=n + 1),
                "attachments": [],
                "type": "info",
            }
            http.post("/floor", json=payload).raise_for_status()
            raw.append(time.perf_counter() - start)
        http_rate = count / (time.perf_counter() - began)
    return Floors(
        apprise_rate,
        percentile(took, 0.5) * 1000,
        http_rate,
        percentile(raw, 0.5) * 1000,
    )


# -- event sources ---------------------------------------------------------------------------


async def hold_round_trip(http: httpx.AsyncClient, env: str) -> None:
    path = f"/api/environments/{env}/hold"
    answer = await http.post(path, json={"reason": "bench", "duration": "5m"})
    answer.raise_for_status()
    released = await http.delete(path)
    released.raise_for_status()


@dataclass
class Source:
    """Events committed so far by the clients (two per hold round trip, counted when the
    answer arrives), for the backlog."""

    committed: int = 0
    round_trips: int = 0
    backlog: list[tuple[float, int]] = field(default_factory=list)  # (seconds in, backlog)


async def sample_backlog(
    source: Source, receiver: Receiver, received_before: int, until: asyncio.Event
) -> None:
    began = time.monotonic()
    while not until.is_set():
        backlog = source.committed - (receiver.count - received_before)
        source.backlog.append((time.monotonic() - began, backlog))
        await asyncio.sleep(0.25)


async def flood(url: str, tokens: list[str], events: int, source: Source) -> tuple[float, float]:
    """Hold + release round trips as fast as the server takes them until ``events`` events
    were made; (start, end) monotonic."""
    round_trips = events // 2

    async def client(index: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[index]}"}
        async with httpx.AsyncClient(base_url=url, timeout=60, headers=headers) as http:
            while source.round_trips < round_trips:
                source.round_trips += 1
                await hold_round_trip(http, f"env-{index:02d}")
                source.committed += 2

    began = time.monotonic()
    await asyncio.gather(*(client(i) for i in range(len(tokens))))
    return began, time.monotonic()


async def paced(
    url: str, tokens: list[str], rate: float, seconds: float, source: Source
) -> tuple[float, float]:
    """``rate`` events per second (a round trip every 2 / rate s, spread over the clients;
    a late client goes at once) for ``seconds``."""
    interval = 2.0 / rate
    total = int(seconds * rate / 2)
    began = time.monotonic() + 0.1
    clients = len(tokens)

    async def client(index: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[index]}"}
        async with httpx.AsyncClient(base_url=url, timeout=60, headers=headers) as http:
            for number in range(index, total, clients):
                wait = began + number * interval - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                await hold_round_trip(http, f"env-{index:02d}")
                source.round_trips += 1
                source.committed += 2

    await asyncio.gather(*(client(i) for i in range(clients)))
    return began, time.monotonic()


@dataclass
class Stretch:
    label: str
    delivered: Delivered
    made_seconds: float  # first event -> last event committed
    drained_after: float | None  # last event committed -> last message received
    max_backlog: int
    backlog_at_half: int
    backlog_at_end: int  # when the last event was committed
    server_cpu: float

    @property
    def drain_rate(self) -> float:
        """Messages per second while the backlog drained, after the last event."""
        if not self.drained_after or self.backlog_at_end < 50:
            return float("nan")
        return self.backlog_at_end / self.drained_after


async def measure_stretch(
    label: str,
    server: ServerProcess,
    receiver: Receiver,
    admin: httpx.AsyncClient,
    make: Callable[[Source], Awaitable[tuple[float, float]]],
    drain_timeout: float,
) -> Stretch:
    assert server.process is not None
    first_id = await newest_event_id(admin)
    received_before = receiver.count
    source = Source()
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_backlog(source, receiver, received_before, stop))
    cpu_before = cpu_seconds(server.process.pid)
    began, ended = await make(source)
    left = source.committed - (receiver.count - received_before)
    drained = await receiver.wait_for(received_before + source.committed, drain_timeout)
    cpu = cpu_seconds(server.process.pid) - cpu_before
    stop.set()
    await sampler
    events = await events_after(admin, first_id)
    delivered = check_deliveries(events, receiver.records())
    half = [b for t, b in source.backlog if t >= (ended - began) / 2]
    return Stretch(
        label,
        delivered,
        ended - began,
        None if drained is None else drained - ended,
        max((b for _, b in source.backlog), default=0),
        half[0] if half else 0,
        left,
        cpu,
    )


# -- on versus off ---------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    latencies: list[float] = field(default_factory=list)
    decisions: list[float] = field(default_factory=list)  # deploy: the request's answer
    operations: int = 0
    seconds: float = 0.0
    server_cpu: float = 0.0  # the server that answers, in the window
    notifier_cpu: float = 0.0  # split: the notifier's process, in the window
    after_cpu: float = 0.0  # after the window, until the window's messages arrived

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds if self.seconds else 0.0

    def per_op(self, seconds: float) -> float:
        return seconds / self.operations * 1000 if self.operations else float("nan")


def deploy_body(env: str, number: int) -> dict[str, Any]:
    return {
        "environment": env,
        "branch": "main",
        "commit": f"{number:07x}",
        "plan": base64.b64encode(ROUTINE.read_bytes()).decode(),
        "plan_source": "plan.json",
    }


async def deploy_round_trip(http: httpx.AsyncClient, env: str, run: Run, number: int) -> None:
    start = time.monotonic()
    answer = await http.post("/api/deploys", json=deploy_body(env, number))
    answer.raise_for_status()
    body = answer.json()
    run.decisions.append(time.monotonic() - start)
    assert body["decision"] == "go", body
    finished = await http.post(
        f"/api/deploys/{body['deploy']['id']}/finish",
        json={"fencing_token": body["fencing_token"], "exit_code": 0, "duration_seconds": 1},
    )
    finished.raise_for_status()


@dataclass(frozen=True)
class Plan:
    """One on/off phase: ``kind`` hold or deploy, ``clients``, and ``pace`` (operations per
    second per client; 0: each client goes again at once)."""

    kind: str
    clients: int
    pace: float = 0.0

    @property
    def name(self) -> str:
        paced = f" @{self.pace:.0f}/s" if self.pace else ""
        return f"{self.kind} x{self.clients}{paced}"


async def closed_loop(
    side: Side, plan: Plan, seconds: float, warmup: float, run: Run, made: list[int]
) -> None:
    """Each client repeats one operation on its own environment; ``made[0]`` counts the told
    events they made (two per operation, in the window or not)."""
    start_at = time.monotonic() + warmup
    stop_at = start_at + seconds
    decisions_in_window: list[float] = []

    async def measure_cpu() -> None:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        before, notifier_before = side.cpu()
        await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
        after, notifier_after = side.cpu()
        run.server_cpu, run.notifier_cpu = after - before, notifier_after - notifier_before

    async def client(index: int) -> None:
        env = f"env-{index:02d}"
        headers = {"Authorization": f"Bearer {side.tokens[index]}"}
        async with httpx.AsyncClient(base_url=side.url, timeout=60, headers=headers) as http:
            number = 0
            next_at = time.monotonic()
            while (began := time.monotonic()) < stop_at:
                number += 1
                if plan.kind == "hold":
                    await hold_round_trip(http, env)
                else:
                    await deploy_round_trip(http, env, run, number)
                made[0] += 2
                ended = time.monotonic()
                if began >= start_at and ended <= stop_at:
                    run.latencies.append(ended - began)
                    run.operations += 1
                    if plan.kind != "hold":
                        decisions_in_window.append(run.decisions[-1])
                if plan.pace:
                    next_at += 1.0 / plan.pace
                    await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    await asyncio.gather(measure_cpu(), *(client(i) for i in range(plan.clients)))
    run.seconds = seconds
    run.decisions = decisions_in_window


@dataclass
class Side:
    """One configuration of the on/off comparison: ``server`` answers the clients;
    ``notifier`` is the process that delivers (None: nothing is delivered)."""

    label: str
    server: ServerProcess
    tokens: list[str]
    notifier: ServerProcess | None
    receiver: Receiver | None
    runs: dict[str, list[Run]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def cpu(self) -> tuple[float, float]:
        """CPU seconds of the answering server, and of a separate notifier process."""
        assert self.server.process is not None
        separate = self.notifier not in (None, self.server)
        notifier_pid = self.notifier.process.pid if separate and self.notifier.process else 0
        return (
            cpu_seconds(self.server.process.pid),
            cpu_seconds(notifier_pid) if notifier_pid else 0.0,
        )


async def on_off(
    sides: list[Side], plans: list[Plan], rounds: int, seconds: float, warmup: float
) -> None:
    for _ in range(rounds):
        for plan in plans:
            for side in sides:
                run = Run(plan.name)
                made = [0]
                before = side.receiver.count if side.receiver else 0
                await closed_loop(side, plan, seconds, warmup, run, made)
                if side.receiver is not None:  # the deliveries of this run, before the next
                    cpu = sum(side.cpu())
                    seen = await side.receiver.wait_for(before + made[0], 120)
                    if seen is None:
                        sys.exit(f"FAILED: {side.label} did not deliver a run's messages in 120 s")
                    run.after_cpu = sum(side.cpu()) - cpu
                side.runs.setdefault(plan.name, []).append(run)


# -- the whole run ---------------------------------------------------------------------------


def print_floors(floors: Floors) -> None:
    print("floors (this process -> the receiver, one thread):")
    print(
        f"  Apprise json://, as the notifier sends: {floors.apprise_per_second:7.0f} msg/s  "
        f"p50 {floors.apprise_p50_ms:.2f} ms"
    )
    print(
        f"  plain POST, keep-alive connection:      {floors.http_per_second:7.0f} msg/s  "
        f"p50 {floors.http_p50_ms:.2f} ms"
    )


def print_stretch(stretch: Stretch, floors: Floors, postgres: bool) -> list[str]:
    d = stretch.delivered
    made_rate = d.events / stretch.made_seconds if stretch.made_seconds else 0
    drained = "never" if stretch.drained_after is None else f"{stretch.drained_after:.2f} s"
    print(f"{stretch.label}:")
    print(
        f"  made {d.events} told events in {stretch.made_seconds:.1f} s "
        f"({made_rate:.0f}/s); received {d.received}"
    )
    during = (d.events - stretch.backlog_at_end) / stretch.made_seconds
    print(
        f"  delivered {d.per_second:.0f} msg/s = {d.per_second / floors.apprise_per_second:.0%} "
        f"of the Apprise floor ({during:.0f}/s while the events were made); last message "
        f"{drained} after the last event"
    )
    print(
        f"  backlog (committed, not received): max {stretch.max_backlog}, "
        f"at half-time {stretch.backlog_at_half}, at the last event {stretch.backlog_at_end}"
    )
    if stretch.drain_rate == stretch.drain_rate:  # not nan: a backlog worth timing
        print(
            f"  the backlog drained at {stretch.drain_rate:.0f} msg/s = "
            f"{stretch.drain_rate / floors.apprise_per_second:.0%} of the Apprise floor "
            "(nothing else to do)"
        )
    print(
        f"  delay event at -> received: p50 {percentile(d.delays, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(d.delays, 0.99) * 1000:.0f} ms, max {max(d.delays) * 1000:.0f} ms"
    )
    if d.events:
        print(f"  server CPU {stretch.server_cpu / d.events * 1000:.2f} ms per told event")
    problems = problems_of(d, postgres)
    order = (
        f"{d.out_of_order} overall inversions by id (PostgreSQL commits ids out of order), "
        if postgres
        else ""
    )
    print(
        f"  exactly once, in order: {'yes' if not problems else 'NO: ' + '; '.join(problems)}"
        + (f" ({order}0 within an environment)" if postgres and not problems else "")
    )
    return problems


def median_of(runs: list[Run], value: Callable[[Run], float]) -> float:
    return statistics.median(value(run) for run in runs)


def print_on_off(sides: list[Side]) -> dict[str, float]:
    """The table; returns the hold round trips' change, on / off - 1, per label."""
    off = sides[0]
    print("on versus off (medians of the rounds; ratios to off):")
    print(
        f"  {'phase':<16}{'side':<7}{'ops/s':>8}{'ratio':>7}{'p50 ms':>8}{'ratio':>7}"
        f"{'p99 ms':>8}{'ratio':>7}{'CPU ms/op: server':>19}{'notifier':>10}{'after':>7}"
    )
    changes: dict[str, float] = {}
    for name, offs in off.runs.items():
        off_rate = median_of(offs, lambda r: r.per_second)
        off_p50 = median_of(offs, lambda r: percentile(r.latencies, 0.5))
        off_p99 = median_of(offs, lambda r: percentile(r.latencies, 0.99))
        for side in sides:
            runs = side.runs[name]
            rate = median_of(runs, lambda r: r.per_second)
            p50 = median_of(runs, lambda r: percentile(r.latencies, 0.5))
            p99 = median_of(runs, lambda r: percentile(r.latencies, 0.99))
            server = median_of(runs, lambda r: r.per_op(r.server_cpu))
            notifier = median_of(runs, lambda r: r.per_op(r.notifier_cpu))
            after = median_of(runs, lambda r: r.per_op(r.after_cpu))
            print(
                f"  {name:<16}{side.label:<7}{rate:>8.1f}{rate / off_rate:>7.2f}"
                f"{p50 * 1000:>8.1f}{p50 / off_p50:>7.2f}{p99 * 1000:>8.1f}{p99 / off_p99:>7.2f}"
                f"{server:>19.2f}{notifier:>10.2f}{after:>7.2f}"
            )
            if name.startswith("deploy"):
                decision = median_of(runs, lambda r: percentile(r.decisions, 0.5))
                off_decision = median_of(offs, lambda r: percentile(r.decisions, 0.5))
                print(
                    f"  {'':<23}the gate's answer, POST /api/deploys, p50 "
                    f"{decision * 1000:.1f} ms = {decision / off_decision:.2f}x off"
                )
            if name.startswith("hold") and side is not off:
                # a paced client makes as many round trips on and off: compare its latency
                change = p50 / off_p50 - 1 if "@" in name else off_rate / rate - 1
                changes[f"{name}, {side.label}"] = change
    print("  hold round trip, on / off - 1 (time per round trip; target < 5%):")
    for label, change in changes.items():
        verdict = "met" if change < ROUND_TRIP_TARGET else "MISSED"
        print(f"    {label:<28}{change:>+8.1%}  {verdict}")
    for side in sides:
        for name, runs in side.runs.items():
            each = ", ".join(f"{r.per_second:.1f}" for r in runs)
            print(f"    {side.label} {name} ops/s per round: {each}")
    return changes


async def delivery_stretches(
    server: ServerProcess, tokens: list[str], receiver: Receiver, options: argparse.Namespace
) -> list[str]:
    """Throughput, then the paced run, against ``server`` (which delivers); problems found."""
    postgres = options.database == "PostgreSQL"
    floors = options.floors
    headers = {"Authorization": f"Bearer {ADMIN}"}
    problems: list[str] = []
    async with httpx.AsyncClient(base_url=server.url, timeout=120, headers=headers) as admin:
        timeout = max(120.0, options.events / 20)
        writers = tokens[: options.writers]
        flooding = await measure_stretch(
            f"throughput: {options.events} events from {options.writers} writers, as fast as "
            "the server takes them",
            server,
            receiver,
            admin,
            lambda source: flood(server.url, writers, options.events, source),
            timeout,
        )
        problems += print_stretch(flooding, floors, postgres)
        pacers = tokens[: options.paced_clients]
        pacing = await measure_stretch(
            f"paced: {options.rate:.0f} events/s for {options.paced_seconds:.0f} s "
            f"({options.paced_clients} clients)",
            server,
            receiver,
            admin,
            lambda source: paced(server.url, pacers, options.rate, options.paced_seconds, source),
            timeout,
        )
        problems += print_stretch(pacing, floors, postgres)
    made_rate = pacing.delivered.events / pacing.made_seconds
    keeps_up = (
        pacing.drained_after is not None
        and pacing.drained_after < KEEPS_UP_DRAIN_SECONDS
        and not problems_of(pacing.delivered, postgres)
    )
    print(
        f"  keeps up with {made_rate:.0f} events/s: {'met' if keeps_up else 'MISSED'} "
        f"(every message within {KEEPS_UP_DRAIN_SECONDS:.0f} s of the last event; "
        f"backlog max {pacing.max_backlog} = {pacing.max_backlog / made_rate:.2f} s of events)"
    )
    return problems


async def bench(
    servers: dict[str, ServerProcess], receiver: Receiver, options: argparse.Namespace
) -> list[str]:
    clients = max(options.writers, options.clients, options.paced_clients)
    tokens = {
        name: await make_tokens(servers[name].url, clients) for name in ("on", "off", "split")
    }
    problems = await delivery_stretches(servers["on"], tokens["on"], receiver, options)
    sides = [
        Side("off", servers["off"], tokens["off"], None, None),
        Side("on", servers["on"], tokens["on"], servers["on"], receiver),
        Side("split", servers["split"], tokens["split"], servers["split-notifier"], receiver),
    ]
    plans = [
        Plan("hold", options.clients),
        Plan("hold", 1),
        Plan("hold", 1, options.pace),
        Plan("deploy", 1),
    ]
    await on_off(sides, plans, options.rounds, options.seconds, options.warmup)
    print_on_off(sides)
    return problems


def run_on(
    database: str, urls: dict[str, str], folder: Path, options: argparse.Namespace
) -> list[str]:
    """Four servers: ``on`` (delivers), ``off`` (no [[notify]]), ``split`` (no [[notify]])
    with ``split-notifier`` (the same database, with the target, asked nothing)."""
    receiver = Receiver()
    try:
        options.database = database
        options.floors = measure_floors(receiver, options.floor_messages)
        receiver.clear()
        print(f"\n== {database} ==")
        print_floors(options.floors)
        environments = max(options.writers, options.clients, options.paced_clients)
        texts = {
            "on": config_text(environments, f"json://127.0.0.1:{receiver.port}/bench"),
            "off": config_text(environments, None),
        }
        for name, text in texts.items():
            (folder / f"{database}-{name}.toml").write_text(text)
        common = {"SIGNALBOX_ADMIN_TOKEN": ADMIN, "SIGNALBOX_DEPLOY_LEASE_SECONDS": "3600"}
        layout = {  # server -> (configuration, database)
            "on": ("on", urls["on"]),
            "off": ("off", urls["off"]),
            "split": ("off", urls["split"]),
            "split-notifier": ("on", urls["split"]),
        }
        servers = {
            name: ServerProcess(
                config=folder / f"{database}-{config}.toml",
                env={**common, "SIGNALBOX_DATABASE_URL": url},
                log=folder / f"{database}-{name}.log",
            )
            for name, (config, url) in layout.items()
        }
        try:
            with ThreadPoolExecutor(len(servers)) as starting:  # about 1.5 s each
                list(starting.map(ServerProcess.start, servers.values()))
            return asyncio.run(bench(servers, receiver, options))
        finally:
            for server in servers.values():
                server.stop()
    finally:
        receiver.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: under a minute")
    parser.add_argument("--events", type=int, help="throughput events (10000; quick 1500)")
    parser.add_argument("--writers", type=int, default=8, help="throughput clients")
    parser.add_argument("--rate", type=float, default=100.0, help="paced events per second")
    parser.add_argument("--paced-seconds", type=float, help="paced run (25; quick 5)")
    parser.add_argument("--paced-clients", type=int, default=4)
    parser.add_argument("--clients", type=int, default=32, help="on/off closed-loop clients")
    parser.add_argument(
        "--pace", type=float, default=10.0, help="on/off paced round trips per second (1 client)"
    )
    parser.add_argument("--seconds", type=float, help="each on/off phase (8; quick 2)")
    parser.add_argument("--warmup", type=float, help="before each on/off phase (2; quick 0.3)")
    parser.add_argument("--rounds", type=int, help="on/off rounds (2; quick 1)")
    parser.add_argument("--floor-messages", type=int, help="floor messages (500; quick 200)")
    parser.add_argument(
        "--database-url",
        help="PostgreSQL instead of SQLite: throw-away databases next to this URL",
    )
    parser.add_argument(
        "--pg",
        default="",
        help="also on PostgreSQL (e.g. $SIGNALBOX_TEST_DATABASE_URL), after SQLite",
    )
    options = parser.parse_args()
    quick = options.quick
    defaults = {
        "events": (10_000, 1_500),
        "paced_seconds": (25.0, 5.0),
        "seconds": (8.0, 2.0),
        "warmup": (2.0, 0.3),
        "rounds": (2, 1),
        "floor_messages": (500, 200),
    }
    for name, (full, small) in defaults.items():
        if getattr(options, name) is None:
            setattr(options, name, small if quick else full)
    print(
        f"{options.events} events, paced {options.rate:.0f}/s for {options.paced_seconds:.0f} s, "
        f"on/off {options.rounds} rounds of {options.seconds:.0f} s; loopback; "
        f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}"
    )
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="signalbox-bench-") as tmp:
        folder = Path(tmp)
        postgres_urls = [u for u in (options.database_url, options.pg) if u]
        if not options.database_url:
            urls = {name: f"sqlite:///{folder / name}.db" for name in ("on", "off", "split")}
            problems += run_on("SQLite", urls, folder, options)
        for base in postgres_urls:
            databases = PostgresDatabases(base)
            try:
                urls = {name: databases.create() for name in ("on", "off", "split")}
                problems += run_on("PostgreSQL", urls, folder, options)
            finally:
                databases.drop_all()
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    if problems:
        print("FAILED: " + "; ".join(problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

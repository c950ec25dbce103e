"""Gates waiting at once (long-poll) against a real `signalbox serve`: what waiting costs,
and how fast a change reaches the gates of the changed environment.

    .venv/bin/python bench/gate_wait.py                          # 1000 gates, one environment
    .venv/bin/python bench/gate_wait.py --gates 10000 --environments 100
    .venv/bin/python bench/gate_wait.py --table                  # the growth table (below)
    .venv/bin/python bench/gate_wait.py --gates 200 --seconds 10
    .venv/bin/python bench/gate_wait.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test

``--environments N`` spreads the gates over N environments, as real teams do. In each
environment one deploy runs (its lease is an hour, so nothing lapses); the gates' deploys are
requested and queue behind it, and each gate, once its deploy is requested, long-polls as
`signalbox gate` does (``GET /api/deploys/{id}/decision?since=VERSION&wait=25``, again after
each answer), one keep-alive connection per gate, all from one asyncio client process.
While nothing changes the server holds each request up to ``longpoll_seconds`` (25 s) and
answers "unchanged".

Measured on the server process alone (/proc): resident memory (peak RSS) and CPU time over
``--seconds``, once idle with no gate (the floor) and once with every gate waiting. Then one
change: the running deploy of the first environment finishes. Printed: the time until every
gate of that environment has its new answer, and how many gates of the other environments
were answered meanwhile (none should be: a change costs one decision for its environment).

Targets (issue 13): 10,000 gates over 100 environments: RSS < 600 MB, CPU < 10% of a core
while nothing changes, the changed environment's gates all answered within 1 s; 2,000 gates on
one environment: CPU < 10%, all answered within 2 s. ``--table`` runs 1,000, 2,000, 5,000 and
10,000 gates on one environment, then 10,000 over 100, and prints one table.

The server's limit on open files (``Max open files`` of /proc/PID/limits, raised by the server
to the hard limit at start) is printed with the number it had open at the peak: each waiting
gate holds one. Past ``max_connections`` (below that limit) a new connection gets HTTP 503
``server-busy`` at once (``tests/e2e/test_serve_connection_cap.py`` shows it).
``--setup-limit`` is how long the bench waits for every gate to be queued: each request
decides against its environment's whole queue, so filling one environment grows with the
square of its gates (10,000 on one environment did not fill in 23 minutes on a 2 GHz 2-core
VM: docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from signalbox.testing import PostgresDatabases, ServerProcess

ADMIN = "sbx_bench-admin"
ROUTINE = Path(__file__).resolve().parents[1] / "examples/plans/routine-frontend-change.json"
PLAN = base64.b64encode(ROUTINE.read_bytes()).decode()
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
TABLE = ((1000, 1), (2000, 1), (5000, 1), (10000, 1), (10000, 100))
TARGETS = {  # (gates, environments): (RSS MB, idle CPU % of a core, all answered within s)
    (10000, 100): (600.0, 10.0, 1.0),
    (2000, 1): (None, 10.0, 2.0),
}


@dataclass
class Sample:
    rss_mb: float
    cpu_seconds: float


def sample(pid: int) -> Sample:
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return Sample(rss_kb / 1024, (utime + stime) / CLOCK_TICKS)


def open_files(pid: int) -> tuple[int, int]:
    """(files open now, the soft limit) of process ``pid``."""
    limits = Path(f"/proc/{pid}/limits").read_text().splitlines()
    soft = next(int(line.split()[3]) for line in limits if line.startswith("Max open files"))
    return len(os.listdir(f"/proc/{pid}/fd")), soft


def measure(pid: int, seconds: float) -> tuple[float, float]:
    """(peak RSS in MB, CPU % of one core) over ``seconds``."""
    start, peak = sample(pid), 0.0
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        time.sleep(0.5)
        peak = max(peak, sample(pid).rss_mb)
    end = sample(pid)
    elapsed = time.monotonic() - began
    return max(peak, end.rss_mb), 100.0 * (end.cpu_seconds - start.cpu_seconds) / elapsed


def environment_names(count: int) -> list[str]:
    return ["dev"] if count == 1 else [f"env-{index:03d}" for index in range(count)]


def deploy_body(environment: str, index: int) -> dict[str, object]:
    return {
        "environment": environment,
        "branch": f"b{index}",
        "commit": f"{index:07x}",
        "plan": PLAN,
        "plan_source": "plan.json",
    }


class Gates:
    """Every gate requests its deploy, then long-polls until told to stop, each on its own
    keep-alive HTTP/1.1 connection spoken with asyncio streams (a pooled HTTP client library
    spends more time managing 10,000 connections than the server does)."""

    def __init__(self, url: str, token: str) -> None:
        address = httpx.URL(url)
        self.host, self.port = address.host, address.port or 80
        self.token = token
        self.polls = 0
        self.parked = 0
        self.environment_of: dict[int, str] = {}
        self.woken: dict[int, float] = {}  # deploy id -> first new answer since `clear`
        self.stop = False
        self.errors: list[str] = []

    async def ask(self, reader, writer, method: str, path: str, body: bytes = b"") -> dict:  # type: ignore[no-untyped-def]
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Bearer {self.token}\r\n"
        )
        if body:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        writer.write(head.encode() + b"\r\n" + body)
        await writer.drain()
        answer_head = await reader.readuntil(b"\r\n\r\n")
        status = int(answer_head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in answer_head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        answer = json.loads(await reader.readexactly(length))
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {answer}")
        return answer

    async def gate(self, environment: str, index: int, requests: asyncio.Semaphore) -> None:
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError as error:
            self.errors.append(f"connect: {error!r}"[:200])
            return
        try:
            async with requests:
                answer = await self.ask(
                    reader,
                    writer,
                    "POST",
                    "/api/deploys",
                    json.dumps(deploy_body(environment, index)).encode(),
                )
            if answer["decision"] != "wait":
                raise RuntimeError(f"expected wait, got {answer['decision']}")
            deploy_id, version = answer["deploy"]["id"], answer["version"]
            self.environment_of[deploy_id] = environment
            while not self.stop:
                self.parked += 1
                try:
                    path = f"/api/deploys/{deploy_id}/decision?since={version}&wait=25"
                    body = await self.ask(reader, writer, "GET", path)
                finally:
                    self.parked -= 1
                self.polls += 1
                if not body.get("unchanged"):
                    self.woken.setdefault(deploy_id, time.monotonic())
                    version = body["version"]
                    if self.answered(deploy_id, body):
                        return
        except (OSError, RuntimeError, ValueError, asyncio.IncompleteReadError) as error:
            if not self.stop:
                self.errors.append(repr(error)[:200])
        finally:
            writer.close()

    async def until(self, condition: Callable[[], bool], what: str, limit: float = 900) -> None:
        """Wait until ``condition()`` (the bench's own poll of its counters); stop the bench
        with what went wrong when a gate failed or ``limit`` seconds passed."""
        deadline = time.monotonic() + limit
        while not condition():
            if self.errors or time.monotonic() > deadline:
                raise SystemExit(
                    f"gave up waiting for {what} ({self.parked} parked, "
                    f"{len(self.errors)} gates failed: {self.errors[:3]})"
                )
            await asyncio.sleep(0.02)

    def answered(self, deploy_id: int, body: dict) -> bool:
        """A new answer came; True to stop asking (as a gate told go or refused does)."""
        return body["decision"] not in ("wait", "needs-approval")

    def start(self, environments: list[str], gates: int, *, first: int = 1) -> list[asyncio.Task]:
        """``gates`` gates spread over ``environments``, their branches numbered from
        ``first``; at most 32 requests at once, as a busy CI would send."""
        requests = asyncio.Semaphore(32)
        return [
            asyncio.create_task(
                self.gate(environments[index % len(environments)], first + index, requests)
            )
            for index in range(gates)
        ]

    async def finish(self, tasks: list[asyncio.Task]) -> None:
        self.stop = True
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def start_running(client: httpx.AsyncClient, environment: str) -> dict:
    """A deploy that goes at once and runs (nobody runs it: its lease is an hour)."""
    answer = (await client.post("/api/deploys", json=deploy_body(environment, 0))).json()
    assert answer["decision"] == "go", answer
    return answer


@dataclass
class Result:
    gates: int
    environments: int
    floor_mb: float
    floor_cpu: float
    requested_per_second: float
    mb: float
    cpu: float
    polls_per_second: float
    wake_all: float
    wake_half: float
    changed_gates: int
    others_woken: int
    files_open: int
    files_limit: int


async def scenario(
    server: ServerProcess,
    token: str,
    gates: int,
    environments: int,
    seconds: float,
    setup_limit: float = 900,
) -> Result:
    assert server.process is not None
    pid = server.process.pid
    names = environment_names(environments)
    floor_mb, floor_cpu = await asyncio.to_thread(measure, pid, min(10.0, seconds))
    headers = {"Authorization": f"Bearer {token}"}
    running: dict[str, dict] = {}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=120) as client:
        for name in names:  # one deploy runs in each environment; the gates queue behind it
            running[name] = await start_running(client, name)
    crowd = Gates(server.url, token)
    began = time.monotonic()
    tasks = crowd.start(names, gates)
    await crowd.until(lambda: crowd.parked >= gates, "every gate parked", setup_limit)
    requested_per_second = gates / (time.monotonic() - began)
    await asyncio.sleep(3)  # settle
    polls_before = crowd.polls
    mb, cpu = await asyncio.to_thread(measure, pid, seconds)
    polls = crowd.polls - polls_before
    files_open, files_limit = open_files(pid)
    crowd.woken.clear()
    changed_env = names[0]
    of_changed = sum(1 for env in crowd.environment_of.values() if env == changed_env)
    changed = time.monotonic()
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=60) as client:
        first = running[changed_env]
        finished = await client.post(
            f"/api/deploys/{first['deploy']['id']}/finish",
            json={"fencing_token": first["fencing_token"], "exit_code": 0, "duration_seconds": 1},
        )
        finished.raise_for_status()

    def woken_in_changed() -> list[float]:
        return [
            at - changed
            for deploy_id, at in crowd.woken.items()
            if crowd.environment_of[deploy_id] == changed_env
        ]

    await crowd.until(lambda: len(woken_in_changed()) >= of_changed, "its gates answered")
    delays = sorted(woken_in_changed())
    await asyncio.sleep(1)  # what else a change woke, if anything, would have answered by now
    others = sum(1 for d in crowd.woken if crowd.environment_of[d] != changed_env)
    await crowd.finish(tasks)
    return Result(
        gates=gates,
        environments=environments,
        floor_mb=floor_mb,
        floor_cpu=floor_cpu,
        requested_per_second=requested_per_second,
        mb=mb,
        cpu=cpu,
        polls_per_second=polls / seconds,
        wake_all=delays[-1],
        wake_half=delays[len(delays) // 2],
        changed_gates=of_changed,
        others_woken=others,
        files_open=files_open,
        files_limit=files_limit,
    )


def report(label: str, seconds: float, r: Result) -> None:
    where = "one environment" if r.environments == 1 else f"{r.environments} environments"
    print(f"signalbox serve ({label}), {r.gates} gates over {where}, {seconds:.0f} s unchanged")
    print(f"  idle floor (no gates):  RSS {r.floor_mb:6.1f} MB   CPU {r.floor_cpu:5.2f}% of a core")
    print(
        f"  {r.gates} gates waiting:   RSS {r.mb:6.1f} MB   CPU {r.cpu:5.2f}% of a core   "
        f"({r.polls_per_second:.1f} re-polls/s answered 'unchanged')"
    )
    print(
        f"  extra per waiting gate: {(r.mb - r.floor_mb) * 1024 / r.gates:.1f} KB, "
        f"{(r.cpu - r.floor_cpu) / r.gates * 1000:.3f} milli-% CPU; requests while "
        f"queueing them: {r.requested_per_second:.0f} deploys/s"
    )
    print(
        f"  one change (a running deploy finishes): its {r.changed_gates} gates all answered "
        f"{r.wake_all:.2f} s later (half within {r.wake_half:.2f} s); gates of other "
        f"environments answered meanwhile: {r.others_woken}"
    )
    print(f"  open files at the peak: {r.files_open} of the server's limit {r.files_limit}")
    target = TARGETS.get((r.gates, r.environments))
    if target is not None:
        rss, cpu, wake = target
        verdicts = [] if rss is None else [f"RSS < {rss:.0f} MB: {_met(r.mb < rss)}"]
        verdicts += [f"CPU < {cpu:.0f}%: {_met(r.cpu < cpu)}"]
        verdicts += [f"all answered < {wake:.0f} s: {_met(r.wake_all < wake)}"]
        print("  targets: " + "; ".join(verdicts))


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def table(label: str, results: list[Result]) -> None:
    print(f"\n{label}:\n")
    print(
        "| waiting gates | environments | server RSS | server CPU while nothing changes "
        "| re-polls/s | changed environment's gates all answered | deploys requested/s |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.gates:,} | {r.environments} | {r.mb:.0f} MB | {r.cpu:.1f}% of a core "
            f"| {r.polls_per_second:.0f} | {r.wake_all:.2f} s ({r.changed_gates:,} gates) "
            f"| {r.requested_per_second:.0f} |"
        )


@contextlib.contextmanager
def bench_server(database_url: str, environments: int) -> Iterator[tuple[ServerProcess, str]]:
    """A real `signalbox serve` on ``database_url`` with the environments (deploy leases of an
    hour, so nothing lapses while the bench runs) and a CI token with the developer role on
    each."""
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "signalbox.toml"
        config.write_text(
            "".join(
                f'[environments.{name}]\ntimezone = "UTC"\nexpected_deploy = "17m"\n'
                for name in environment_names(environments)
            )
        )
        env = {
            "SIGNALBOX_DATABASE_URL": database_url,
            "SIGNALBOX_ADMIN_TOKEN": ADMIN,
            "SIGNALBOX_DEPLOY_LEASE_SECONDS": "3600",
        }
        with ServerProcess(config=config, env=env, log=Path(folder) / "server.log") as server:
            created = httpx.post(
                f"{server.url}/api/tokens",
                headers={"Authorization": f"Bearer {ADMIN}"},
                json={"name": "ci-bench", "grants": ["developer:*"], "ci": True},
            )
            created.raise_for_status()
            yield server, created.json()["token"]


def run_against(
    database_url: str, gates: int, environments: int, seconds: float, setup_limit: float = 900
) -> Result:
    with bench_server(database_url, environments) as (server, token):
        return asyncio.run(scenario(server, token, gates, environments, seconds, setup_limit))


def raise_open_file_limit() -> None:
    """This client holds one connection per gate: lift its own soft limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gates", type=int, default=1000)
    parser.add_argument("--environments", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--table", action="store_true", help="1k, 2k, 5k, 10k gates, then 10k/100")
    parser.add_argument("--pg", help="also on PostgreSQL: a throw-away database next to URL")
    parser.add_argument(
        "--setup-limit",
        type=float,
        default=900,
        help="seconds to wait for every gate to be queued and parked before giving up",
    )
    options = parser.parse_args()
    raise_open_file_limit()
    runs = TABLE if options.table else ((options.gates, options.environments),)
    databases = PostgresDatabases(options.pg) if options.pg else None
    for label in ("SQLite", "PostgreSQL") if databases else ("SQLite",):
        results = []
        for gates, environments in runs:
            with tempfile.TemporaryDirectory() as folder:
                if databases is None or label == "SQLite":
                    url = f"sqlite:///{folder}/bench.db"
                else:
                    url = databases.create()
                result = run_against(url, gates, environments, options.seconds, options.setup_limit)
            report(label, options.seconds, result)
            results.append(result)
        if options.table:
            table(label, results)
    if databases is not None:
        databases.drop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())

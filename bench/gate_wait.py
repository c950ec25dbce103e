"""1,000 gates waiting at once (long-poll) against a real `signalbox serve`: what it costs.

    .venv/bin/python bench/gate_wait.py                    # 1000 gates, 30 s, SQLite
    .venv/bin/python bench/gate_wait.py --gates 200 --seconds 10
    .venv/bin/python bench/gate_wait.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test

One deploy runs on dev (its lease is long, so nothing lapses); ``--gates`` more deploys are
requested and queue behind it. Then every one of them long-polls like `signalbox gate`
does (``GET /api/deploys/{id}/decision?since=VERSION&wait=25``, again after each answer)
from one asyncio client process, one connection per gate. While nothing changes the server
holds each request up to ``longpoll_seconds`` (25 s) and answers "unchanged".

Measured on the server process alone (/proc): resident memory (RSS) and CPU time over
``--seconds``, once idle with no gate (the floor) and once with every gate waiting.
Targets: under 200 MB and under 5% of one core while nothing changes.
At the end one change (the running deploy finishes) is made and the time until every
gate has its new answer is printed: waiting is cheap, and waking is immediate.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from signalbox.testing import PostgresDatabases, ServerProcess

ADMIN = "sbx_bench-admin"
ROUTINE = Path(__file__).resolve().parents[1] / "examples/plans/routine-frontend-change.json"
CONFIG = '[environments.dev]\ntimezone = "UTC"\nexpected_deploy = "17m"\n'
TARGET_MB = 200.0
TARGET_CPU_PERCENT = 5.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


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


def deploy_body(index: int) -> dict[str, object]:
    return {
        "environment": "dev",
        "branch": f"b{index}",
        "commit": f"{index:07x}",
        "plan": base64.b64encode(ROUTINE.read_bytes()).decode(),
        "plan_source": "plan.json",
    }


async def request_deploys(
    url: str, token: str, count: int, *, first_goes: bool = True
) -> list[dict]:
    """With ``first_goes``: one deploy that goes, then ``count`` that wait behind it (all
    answers, the first first); without: only the ``count`` that wait (one already runs)."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as client:
        first = None
        if first_goes:
            first = (await client.post("/api/deploys", json=deploy_body(0))).json()
            assert first["decision"] == "go", first
        answers = []
        for start in range(1, count + 1, 50):
            batch = [
                client.post("/api/deploys", json=deploy_body(i))
                for i in range(start, min(count + 1, start + 50))
            ]
            answers += [response.json() for response in await asyncio.gather(*batch)]
        assert all(a["decision"] == "wait" for a in answers), answers[:1]
        return [first, *answers] if first is not None else answers


class Gates:
    """Every waiting deploy long-polls until told to stop; counts what it got back.

    Each gate is one keep-alive HTTP/1.1 connection spoken with asyncio streams: a pooled
    HTTP client library spends more time managing 1,000 connections than the server does.
    """

    def __init__(self, url: str, token: str, answers: list[dict]) -> None:
        address = httpx.URL(url)
        self.host, self.port = address.host, address.port or 80
        self.token = token
        self.answers = answers
        self.polls = 0
        self.parked = 0
        self.woken: dict[int, float] = {}  # deploy id -> first new answer after the change
        self.stop = False
        self.errors: list[str] = []

    async def ask(self, reader, writer, path: str) -> dict:  # type: ignore[no-untyped-def]
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Bearer {self.token}\r\n\r\n".encode()
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        body = json.loads(await reader.readexactly(length))
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {body}")
        return body

    async def gate(self, answer: dict, version: int) -> None:
        deploy_id = answer["deploy"]["id"]
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            while not self.stop:
                self.parked += 1
                try:
                    path = f"/api/deploys/{deploy_id}/decision?since={version}&wait=25"
                    body = await self.ask(reader, writer, path)
                finally:
                    self.parked -= 1
                self.polls += 1
                if not body.get("unchanged"):
                    self.woken.setdefault(deploy_id, time.monotonic())
                    version = body["version"]
                    if self.answered(deploy_id, body):
                        return
        except (OSError, RuntimeError, ValueError, asyncio.IncompleteReadError) as error:
            self.errors.append(repr(error)[:200])
        finally:
            writer.close()

    def answered(self, deploy_id: int, body: dict) -> bool:
        """A new answer came; True to stop asking (as a gate told go or refused does)."""
        return False

    async def run(self, until: asyncio.Event, version: int) -> None:
        tasks = [asyncio.create_task(self.gate(a, version)) for a in self.answers]
        await until.wait()
        self.stop = True
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def scenario(
    server: ServerProcess, token: str, gates: int, seconds: float, label: str
) -> None:
    assert server.process is not None
    pid = server.process.pid
    floor_mb, floor_cpu = await asyncio.to_thread(measure, pid, min(10.0, seconds))
    answers = await request_deploys(server.url, token, gates)
    queued_mb, _ = await asyncio.to_thread(measure, pid, 3.0)
    running, waiting = answers[0], answers[1:]
    crowd = Gates(server.url, token, waiting)
    done = asyncio.Event()
    async with httpx.AsyncClient(
        base_url=server.url, timeout=60, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        # every gate starts from the latest version, as a gate that just got its answer does
        version = (await client.get("/api/environments/dev")).json()["version"]
    runner = asyncio.create_task(crowd.run(done, version))
    while crowd.parked < gates:  # every gate has its request in the server
        await asyncio.sleep(0.1)
    await asyncio.sleep(3)  # settle
    polls_before = crowd.polls
    waiting_mb, waiting_cpu = await asyncio.to_thread(measure, pid, seconds)
    polls = crowd.polls - polls_before
    crowd.woken.clear()
    changed = time.monotonic()
    async with httpx.AsyncClient(
        base_url=server.url, timeout=60, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        await client.post(
            f"/api/deploys/{running['deploy']['id']}/finish",
            json={"fencing_token": running["fencing_token"], "exit_code": 0, "duration_seconds": 1},
        )
    while len(crowd.woken) < gates:
        await asyncio.sleep(0.05)
    wake_all = max(crowd.woken.values()) - changed
    delays = sorted(at - changed for at in crowd.woken.values())
    wake_half = delays[len(delays) // 2]
    done.set()
    await runner
    report(label, gates, seconds, floor_mb, floor_cpu, waiting_mb, waiting_cpu, polls, wake_all)
    print(
        f"  (RSS with the {gates} deploys queued but no gate connected: {queued_mb:.1f} MB, "
        f"so {(waiting_mb - queued_mb) * 1024 / gates:.1f} KB per connected waiting gate)"
    )
    print(f"  (half of them within {wake_half:.2f} s)")


def report(
    label: str,
    gates: int,
    seconds: float,
    floor_mb: float,
    floor_cpu: float,
    mb: float,
    cpu: float,
    polls: int,
    wake_all: float,
) -> None:
    ok_mb, ok_cpu = mb < TARGET_MB, cpu < TARGET_CPU_PERCENT
    print(
        f"signalbox serve ({label}), {gates} gates long-polling, {seconds:.0f} s, nothing changing"
    )
    print(f"  idle floor (no gates):  RSS {floor_mb:6.1f} MB   CPU {floor_cpu:5.2f}% of a core")
    print(
        f"  {gates} gates waiting:    RSS {mb:6.1f} MB   CPU {cpu:5.2f}% of a core   "
        f"({polls} re-polls answered 'unchanged', {polls / seconds:.1f}/s)"
    )
    print(
        f"  extra per waiting gate: {(mb - floor_mb) * 1024 / gates:.1f} KB, "
        f"{(cpu - floor_cpu) / gates * 1000:.3f} milli-% CPU"
    )
    print(
        f"  target RSS < {TARGET_MB:.0f} MB: {'met' if ok_mb else 'MISSED'} "
        f"({mb / TARGET_MB:.0%} of it); CPU < {TARGET_CPU_PERCENT:.0f}%: "
        f"{'met' if ok_cpu else 'MISSED'} ({cpu / TARGET_CPU_PERCENT:.0%} of it)"
    )
    print(
        f"  one change (the running deploy finishes): all {gates} gates had their new "
        f"answer {wake_all:.2f} s later"
    )


@contextlib.contextmanager
def dev_server(database_url: str) -> Iterator[tuple[ServerProcess, str]]:
    """A real `signalbox serve` on ``database_url`` with dev (deploy leases of an hour, so
    nothing lapses while the bench runs) and a CI token with the developer role there."""
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "signalbox.toml"
        config.write_text(CONFIG)
        env = {
            "SIGNALBOX_DATABASE_URL": database_url,
            "SIGNALBOX_ADMIN_TOKEN": ADMIN,
            "SIGNALBOX_DEPLOY_LEASE_SECONDS": "3600",
        }
        with ServerProcess(config=config, env=env, log=Path(folder) / "server.log") as server:
            created = httpx.post(
                f"{server.url}/api/tokens",
                headers={"Authorization": f"Bearer {ADMIN}"},
                json={"name": "ci-bench", "grants": ["developer:dev"], "ci": True},
            )
            created.raise_for_status()
            yield server, created.json()["token"]


def run_against(database_url: str, label: str, gates: int, seconds: float) -> None:
    with dev_server(database_url) as (server, token):
        asyncio.run(scenario(server, token, gates, seconds, label))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gates", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--pg", help="also on PostgreSQL: a throw-away database next to URL")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run_against(f"sqlite:///{folder}/bench.db", "SQLite", options.gates, options.seconds)
    if options.pg:
        databases = PostgresDatabases(options.pg)
        try:
            url = databases.create()
            run_against(url, "PostgreSQL", options.gates, options.seconds)
        finally:
            databases.drop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())

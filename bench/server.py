"""Hold round trips against a real `signalbox serve`, next to the authenticated no-op floor.

    .venv/bin/python bench/server.py                      # SQLite (a temporary file)
    .venv/bin/python bench/server.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/server.py --seconds 5 --clients 32
    .venv/bin/python bench/server.py --synchronous normal,full   # SQLite's cost of FULL
    .venv/bin/python bench/server.py --runs 3                    # medians of 3 runs

``--synchronous`` runs the SQLite phases once per value of the ``sqlite_synchronous``
setting (default: full, the server's default), each on a fresh file and server, and prints
each one's ratio to its own floor.

PostgreSQL also runs when SIGNALBOX_TEST_DATABASE_URL is set (a throw-away database is
created next to the one in the URL and dropped afterwards).

For each database, three phases, each ``--seconds`` long after a warm-up, with ``--clients``
concurrent clients (asyncio + httpx, one connection each) on loopback:
  floor    GET /api/noop (authenticated, does nothing; on with the bench_endpoints setting,
           for admin tokens only): one request per operation;
  own env  each client holds its own environment and releases it: POST + DELETE per round trip;
  shared   every client contends for one environment; a winner releases at once, the refused
           get 409 ``held``.
Each phase also reports the server's CPU per operation (user + system, from /proc) and the
benchmark client's own (on a small machine the client shares the cores with the server, so
the ratio is bounded by the client's cost per request too). ``--runs N`` repeats the three
phases N times on the same server and prints each run and the median of every figure.
Checked: zero double grants (fencing tokens unique and consecutive per environment; and in
the shared phase no grant is received before the previous holder sent its release).
Targets: hold round trips >= 40% of floor operations per second; p99 < 50 ms on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from signalbox.testing import PostgresDatabases, ServerProcess

ADMIN = "sbx_bench-admin"


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)  # seconds per operation
    operations: int = 0
    seconds: float = 0.0
    grants: list[tuple[str, int, float, float]] = field(default_factory=list)
    refusals: int = 0
    server_cpu: float = 0.0  # CPU seconds the server process used during the phase
    client_cpu: float = 0.0  # CPU seconds this benchmark process used during the phase

    @property
    def cpu_ms_per_op(self) -> float:
        return self.server_cpu / self.operations * 1000 if self.operations else float("nan")

    @property
    def client_ms_per_op(self) -> float:
        return self.client_cpu / self.operations * 1000 if self.operations else float("nan")

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (Linux /proc), to compare phases by cost
    rather than by throughput alone on a shared machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def config_text(clients: int) -> str:
    tables = [f'[environments.env-{i:02d}]\ntimezone = "UTC"\n' for i in range(clients)]
    return "\n".join([*tables, '[environments.shared]\ntimezone = "UTC"\n'])


async def make_tokens(url: str, clients: int) -> list[str]:
    async with httpx.AsyncClient(
        base_url=url, timeout=30, headers={"Authorization": f"Bearer {ADMIN}"}
    ) as http:
        tokens = []
        for index in range(clients):
            answer = await http.post(
                "/api/tokens",
                json={
                    "name": f"bench-{index}-{time.monotonic_ns()}",
                    "grants": ["developer:*", "admin:*"],  # admin:* for the floor, /api/noop
                },
            )
            answer.raise_for_status()
            tokens.append(answer.json()["token"])
        return tokens


async def run_phase(
    url: str, tokens: list[str], phase: Phase, seconds: float, warmup: float, pid: int
) -> Phase:
    start_at = time.monotonic() + warmup
    stop_at = start_at + seconds

    async def measure_cpu() -> None:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        before, mine = cpu_seconds(pid), time.process_time()
        await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
        phase.server_cpu = cpu_seconds(pid) - before
        phase.client_cpu = time.process_time() - mine

    async def client(index: int) -> None:
        env = "shared" if phase.name == "shared" else f"env-{index:02d}"
        async with httpx.AsyncClient(
            base_url=url, timeout=30, headers={"Authorization": f"Bearer {tokens[index]}"}
        ) as http:
            while (now := time.monotonic()) < stop_at:
                began = now
                await one_operation(http, env, phase, index)
                ended = time.monotonic()
                if began >= start_at and ended <= stop_at:
                    phase.latencies.append(ended - began)
                    phase.operations += 1

    await asyncio.gather(measure_cpu(), *(client(i) for i in range(len(tokens))))
    phase.seconds = seconds
    return phase


async def one_operation(http: httpx.AsyncClient, env: str, phase: Phase, index: int) -> None:
    if phase.name == "floor":
        answer = await http.get("/api/noop")
        answer.raise_for_status()
        return
    path = f"/api/environments/{env}/hold"
    answer = await http.post(path, json={"reason": "bench", "duration": "5m"})
    if answer.status_code == 409 and answer.json()["code"] == "held":
        phase.refusals += 1
        return
    answer.raise_for_status()
    granted_at = time.monotonic()
    token = answer.json()["hold"]["fencing_token"]
    released_at = time.monotonic()
    released = await http.delete(path)
    released.raise_for_status()
    phase.grants.append((env, token, granted_at, released_at))


def double_grants(phase: Phase) -> int:
    """Grants that break exclusivity: a token issued twice or skipped, or (shared phase) a
    grant received before the previous holder had sent its release."""
    problems = 0
    by_env: dict[str, list[tuple[int, float, float]]] = {}
    for env, token, granted_at, released_at in phase.grants:
        by_env.setdefault(env, []).append((token, granted_at, released_at))
    for grants in by_env.values():
        grants.sort()
        tokens = [token for token, _, _ in grants]
        problems += len(tokens) - len(set(tokens))
        for (_, _, released), (_, granted, _) in itertools.pairwise(grants):
            if granted < released:
                problems += 1
    return problems


ROWS = (
    ("floor  GET /api/noop", "floor"),
    ("own env  hold+release round trip", "own"),
    ("shared env  hold attempt(+release)", "shared"),
)


def _row(label: str, phase: Phase, floor: Phase) -> str:
    ratio = phase.per_second / floor.per_second if floor.per_second else 0
    return (
        f"{label:<36}{phase.per_second:>8.0f}{phase.percentile(0.5):>8.1f}"
        f"{phase.percentile(0.99):>8.1f}{ratio:>7.0%}{phase.cpu_ms_per_op:>12.2f}"
        f"{phase.client_ms_per_op:>12.2f}"
    )


HEADER = (
    f"{'phase':<36}{'ops/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'ratio':>7}"
    f"{'server CPU':>12}{'client CPU':>12}   (CPU: ms per operation)"
)


def report(database: str, runs: list[tuple[Phase, Phase, Phase]]) -> None:
    print(f"\n== {database} ==")
    print(HEADER)
    for index, (floor, own, shared) in enumerate(runs, 1):
        if len(runs) > 1:
            print(f"run {index}")
        for (label, _), phase in zip(ROWS, (floor, own, shared), strict=True):
            print(_row(label, phase, floor))
    if len(runs) > 1:
        print("median of the runs")
        for position, (label, _) in enumerate(ROWS):
            phases = [run[position] for run in runs]
            ratios = [run[position].per_second / run[0].per_second for run in runs]
            print(
                f"{label:<36}{statistics.median(p.per_second for p in phases):>8.0f}"
                f"{statistics.median(p.percentile(0.5) for p in phases):>8.1f}"
                f"{statistics.median(p.percentile(0.99) for p in phases):>8.1f}"
                f"{statistics.median(ratios):>7.0%}"
                f"{statistics.median(p.cpu_ms_per_op for p in phases):>12.2f}"
                f"{statistics.median(p.client_ms_per_op for p in phases):>12.2f}"
            )
    doubles = 0
    for floor, own, shared in runs:
        requests_own = own.per_second * 2
        print(
            f"own env: {requests_own:.0f} requests/s = {requests_own / floor.per_second:.0%} "
            f"of the floor's requests/s; shared env: {len(shared.grants)} grants, "
            f"{shared.refusals} refusals (409 held)"
        )
        doubles += double_grants(own) + double_grants(shared)
    print(f"double grants: {doubles}")
    if doubles:
        sys.exit("FAILED: double grants")


async def bench(
    url: str, pid: int, clients: int, seconds: float, warmup: float, runs: int
) -> list[tuple[Phase, Phase, Phase]]:
    tokens = await make_tokens(url, clients)
    results = []
    for _ in range(runs):
        floor = await run_phase(url, tokens, Phase("floor"), seconds, warmup, pid)
        own = await run_phase(url, tokens, Phase("own"), seconds, warmup, pid)
        shared = await run_phase(url, tokens, Phase("shared"), seconds, warmup, pid)
        results.append((floor, own, shared))
    return results


def run_on(
    database: str,
    database_url: str,
    folder: Path,
    args: argparse.Namespace,
    settings: dict[str, str] | None = None,
) -> None:
    config = folder / "signalbox.toml"
    config.write_text(config_text(args.clients))
    env = {
        "SIGNALBOX_DATABASE_URL": database_url,
        "SIGNALBOX_ADMIN_TOKEN": ADMIN,
        "SIGNALBOX_BENCH_ENDPOINTS": "true",  # the floor
        **(settings or {}),
    }
    log = folder / f"{database.replace(' ', '_')}.log"
    with ServerProcess(config=config, env=env, log=log) as server:
        assert server.process is not None
        runs = asyncio.run(
            bench(
                server.url,
                server.process.pid,
                args.clients,
                args.seconds,
                args.warmup,
                args.runs,
            )
        )
    report(database, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=1, help="repeat the phases; medians")
    parser.add_argument(
        "--pg",
        default=os.environ.get("SIGNALBOX_TEST_DATABASE_URL", ""),
        help="PostgreSQL URL (default: SIGNALBOX_TEST_DATABASE_URL)",
    )
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--synchronous",
        default="full",
        help="SQLite: the sqlite_synchronous values to run, comma-separated (e.g. normal,full)",
    )
    args = parser.parse_args()
    print(
        f"{args.clients} clients, {args.seconds:.0f} s per phase after {args.warmup:.0f} s "
        f"warm-up, loopback, one `signalbox serve` process; {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory(prefix="signalbox-bench-") as tmp:
        folder = Path(tmp)
        if not args.no_sqlite:
            for value in [word.strip() for word in args.synchronous.split(",") if word.strip()]:
                run_on(
                    f"SQLite synchronous={value}",
                    f"sqlite:///{folder / f'bench-{value}.db'}",
                    folder,
                    args,
                    {"SIGNALBOX_SQLITE_SYNCHRONOUS": value},
                )
        if args.pg:
            databases = PostgresDatabases(args.pg)
            try:
                run_on("PostgreSQL", databases.create(), folder, args)
            finally:
                databases.drop_all()


if __name__ == "__main__":
    main()

"""Benchmark: push and pull a Terraform state through signalbox's http backend.

    .venv/bin/python bench/tfstate.py [--mb 50] [--runs 5]

For each configuration (states in clear, states encrypted with AES-256-GCM) a fresh
`signalbox serve` process on loopback (SQLite in a temporary directory, default settings:
nothing is pruned within the 100 kept versions) receives:
- push: ``POST /tf/bench/main`` of an N MB Terraform-shaped state, as Terraform sends it
  (Basic auth, Content-MD5, Content-Type), the serial growing by one each time; the floor is
  the same bytes to ``POST /api/noop-upload`` (authenticated, read and discarded);
- pull: ``GET /tf/bench/main`` (decrypting when encrypted); the floor is
  ``GET /api/noop-download?size=N`` (authenticated, N zero bytes streamed).
The floors answer only with the server setting ``bench_endpoints`` on, and only admin tokens.
The checks inside those figures are also timed alone, in this process, against the same
database and floors: the integrity check of a pull (every segment read and compared with
its stored checksum, or authenticated when encrypted, and the size compared, before the
answer starts; ``read_state`` returns after it, and the answer
is sent from that pass while the GETs in flight hold under 128 MiB of bodies) and the
strict parse of a push (``read_whole_state_head``: one JSON object, each top-level key once).
Runs are interleaved (floor, backend, floor, ...); figures are medians. For context, the
storage floor is the time SQLite alone (same pragmas as the server: page size, WAL,
synchronous=NORMAL) needs to write the same bytes as 1 MiB BLOB rows, one transaction per
4 MiB. The server's peak resident memory is its VmHWM (Linux) at the end, next to its
resident memory after start.
Targets: within 1.5x of the floor; peak server memory under 4x the state size.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
if not os.environ.get("PYTHONPATH"):  # PYTHONPATH names the code to measure (and the server's)
    sys.path.insert(0, str(ROOT / "src"))

from signalbox.core.tfstate import StateKey, read_whole_state_head  # noqa: E402
from signalbox.services.database import open_engine  # noqa: E402
from signalbox.services.tfstate import StateStore, read_state  # noqa: E402
from signalbox.settings import Settings  # noqa: E402
from signalbox.storage.engine import SQLITE_PAGE_SIZE  # noqa: E402
from signalbox.storage.state_crypto import new_key_text  # noqa: E402
from signalbox.testing import ServerProcess  # noqa: E402

ADMIN = "sbx_bench-admin"
SERIAL_WIDTH = 12


def make_state(megabytes: int) -> bytearray:
    """A Terraform-shaped state of about ``megabytes`` MB; the serial has room to grow."""
    head = (
        '{\n  "version": 4,\n  "terraform_version": "1.15.5",\n  "serial": '
        + "1".ljust(SERIAL_WIDTH)
        + ',\n  "lineage": "7d1c1a52-bench-4f1e-8c5e-3c9f0e6a7b2d",\n  "outputs": {},\n'
        '  "resources": [\n'
    )
    resources = []
    size, index = len(head), 0
    while size < megabytes * 1_000_000:
        etag = hashlib.md5(str(index).encode()).hexdigest()
        resource = (
            f'    {{"mode": "managed", "type": "aws_s3_object", "name": "object_{index}", '
            '"provider": "provider[\\"registry.terraform.io/hashicorp/aws\\"]", '
            '"instances": [{"schema_version": 0, "attributes": {"bucket": "assets", '
            f'"key": "static/{index:08d}.js", "etag": "{etag}", "content": "{"x" * 600}"}}}}]}}'
        )
        resources.append(resource)
        size += len(resource) + 2
        index += 1
    body = head + ",\n".join(resources) + '\n  ],\n  "check_results": null\n}\n'
    return bytearray(body.encode())


def set_serial(body: bytearray, serial: int) -> bytes:
    start = body.index(b'"serial": ') + len(b'"serial": ')
    body[start : start + SERIAL_WIDTH] = str(serial).ljust(SERIAL_WIDTH).encode()
    return bytes(body)


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def sqlite_floor(data: bytes, directory: str) -> float:
    """Seconds SQLite needs to store ``data`` as 1 MiB blobs (4 per transaction)."""
    connection = sqlite3.connect(f"{directory}/floor.db", isolation_level=None)
    connection.execute(f"PRAGMA page_size = {SQLITE_PAGE_SIZE}")  # as the server's
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute(
        "CREATE TABLE IF NOT EXISTS c (b INTEGER, s INTEGER, d BLOB, PRIMARY KEY (b, s))"
    )
    blob = connection.execute("SELECT coalesce(max(b), 0) + 1 FROM c").fetchone()[0]
    segment, batch = 1 << 20, 4
    started = time.perf_counter()
    for first in range(0, len(data), segment * batch):
        connection.execute("BEGIN IMMEDIATE")
        for offset in range(first, min(len(data), first + segment * batch), segment):
            connection.execute(
                "INSERT INTO c VALUES (?, ?, ?)",
                (blob, offset // segment, data[offset : offset + segment]),
            )
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def check(store: StateStore) -> None:
    """The integrity check of a pull alone: ``read_state`` reads and checks the whole body
    before it returns (the answer is then sent from that pass; the body is let go here)."""
    assert read_state(store, key=StateKey("bench", "main")) is not None


def parse(data: bytes) -> None:
    """The strict parse of a push alone."""
    assert read_whole_state_head(data).head is not None


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure(label: str, megabytes: int, runs: int, encrypted: bool) -> dict[str, object]:
    body = make_state(megabytes)
    size = len(body)
    with tempfile.TemporaryDirectory() as directory:
        config = Path(directory) / "signalbox.toml"
        config.write_text('[environments.bench]\ntimezone = "UTC"\n', encoding="utf-8")
        env = {
            "SIGNALBOX_DATABASE_URL": f"sqlite:///{directory}/signalbox.db",
            "SIGNALBOX_ADMIN_TOKEN": ADMIN,
            "SIGNALBOX_STATE_AUTO_HOLD": "off",
            "SIGNALBOX_STATE_KEYS": new_key_text("bench") if encrypted else "",
            "SIGNALBOX_BENCH_ENDPOINTS": "true",  # the floors
        }
        with ServerProcess(config=config, env=env) as server:
            assert server.process is not None
            pid = server.process.pid
            token = httpx.post(
                server.url + "/api/tokens",
                headers={"Authorization": f"Bearer {ADMIN}"},
                json={"name": "ci-bench", "grants": ["developer:bench"], "ci": True},
            ).json()["token"]
            start_rss = rss_kib(pid, "VmRSS")
            auth = ("signalbox", token)
            floor_auth = ("signalbox", ADMIN)  # the floors answer admin tokens only
            times: dict[str, list[float]] = {
                "push": [],
                "push floor": [],
                "pull": [],
                "pull floor": [],
                "sqlite": [],
                "check": [],
                "parse": [],
            }
            keys = env["SIGNALBOX_STATE_KEYS"]
            settings = Settings(database_url=env["SIGNALBOX_DATABASE_URL"], state_keys=keys)
            engine = open_engine(settings)
            store = StateStore.from_settings(engine, settings)
            with httpx.Client(base_url=server.url, auth=auth, timeout=600) as client:
                for run in range(1, runs + 1):
                    data = set_serial(body, run)
                    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
                    headers = {"Content-MD5": md5, "Content-Type": "application/json"}

                    def push(data: bytes = data, headers: dict[str, str] = headers) -> None:
                        answer = client.post("/tf/bench/main", content=data, headers=headers)
                        assert answer.status_code == 200, answer.text

                    def push_floor(data: bytes = data) -> None:
                        answer = client.post("/api/noop-upload", content=data, auth=floor_auth)
                        assert answer.status_code == 200 and answer.json()["size"] == len(data)

                    def pull() -> None:
                        got = 0
                        with client.stream("GET", "/tf/bench/main") as answer:
                            for piece in answer.iter_raw():
                                got += len(piece)
                        assert got == size

                    def pull_floor() -> None:
                        got = 0
                        floor = f"/api/noop-download?size={size}"
                        with client.stream("GET", floor, auth=floor_auth) as answer:
                            for piece in answer.iter_raw():
                                got += len(piece)
                        assert got == size

                    times["push floor"].append(timed(push_floor))
                    times["sqlite"].append(sqlite_floor(data, directory))
                    times["push"].append(timed(push))
                    times["pull floor"].append(timed(pull_floor))
                    times["pull"].append(timed(pull))
                    times["check"].append(timed(lambda: check(store)))
                    times["parse"].append(timed(lambda data=data: parse(data)))
                    if run == 1:  # the backend gives back exactly what it was given
                        assert client.get("/tf/bench/main").content == data
            peak_rss = rss_kib(pid, "VmHWM")
            engine.dispose()
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {
        "label": label,
        "size": size,
        "medians": medians,
        "start_rss_kib": start_rss,
        "peak_rss_kib": peak_rss,
    }


def report(result: dict[str, object]) -> None:
    size = result["size"]
    medians = result["medians"]
    assert isinstance(size, int) and isinstance(medians, dict)
    mb = size / 1e6
    print(f"\n{result['label']}: state {mb:.1f} MB")
    for kind in ("push", "pull"):
        backend, floor = medians[kind], medians[f"{kind} floor"]
        print(
            f"  {kind:<5} backend {backend * 1000:7.0f} ms ({mb / backend:6.0f} MB/s)   "
            f"floor {floor * 1000:7.0f} ms ({mb / floor:6.0f} MB/s)   "
            f"ratio {backend / floor:4.2f}x (target <= 1.5x)"
        )
    check, parse = medians["check"], medians["parse"]
    print(
        f"  integrity check of a pull alone {check * 1000:5.0f} ms = "
        f"{check / medians['pull floor']:4.2f}x the pull floor (inside the pull figure)"
    )
    print(
        f"  strict parse of a push alone    {parse * 1000:5.0f} ms = "
        f"{parse / medians['push floor']:4.2f}x the push floor (inside the push figure)"
    )
    print(
        f"  storage floor: SQLite alone writes the state in {medians['sqlite'] * 1000:.0f} ms "
        f"({mb / medians['sqlite']:.0f} MB/s)"
    )
    peak, start = int(result["peak_rss_kib"]), int(result["start_rss_kib"])  # type: ignore[call-overload]
    print(
        f"  server RSS after start {start / 1024:.0f} MiB, peak {peak / 1024:.0f} MiB = "
        f"{peak * 1024 / size:.2f}x the state (target < 4x); growth "
        f"{(peak - start) * 1024 / size:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50, help="state size in MB (default 50)")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (default 5)")
    options = parser.parse_args()
    for label, encrypted in (("clear", False), ("encrypted (AES-256-GCM)", True)):
        report(measure(label, options.mb, options.runs, encrypted))


if __name__ == "__main__":
    main()

"""An incident opens while gates wait: how soon is every queued CI job told to stop?

    .venv/bin/python bench/incident_freeze.py                  # 200 gates, SQLite
    .venv/bin/python bench/incident_freeze.py --gates 1000
    .venv/bin/python bench/incident_freeze.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test

Against a real `signalbox serve`: one deploy runs on dev, ``--gates`` more are requested and
queue behind it, and each long-polls as `signalbox gate` does (one keep-alive connection per
gate, from one asyncio process: ``bench/gate_wait.py``'s ``Gates``).

The floor, measured in the same run: the running deploy finishes, and every waiting gate
gets its new answer (the first goes, the others move up): the cost of waking them all and
deciding their queue once. Then, with the others still waiting, a sev1 incident is opened
(``POST /api/incidents``): its transaction refuses every waiting deploy that is not its
hotfix, and every gate gets ``refused (frozen)``. The incident is then resolved, the deploy
that went becomes the running one, and the next round queues behind it: each figure is the
median of ``--rounds`` (5). Printed: how long the opening request took, and how long until
the last gate had its refusal, as a ratio to the floor.
Target: the refusals reach every gate within 2x the floor's wake-up (a freeze must free
the runners at least as fast as a release moves the queue).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time

import httpx

from gate_wait import Gates, bench_server, start_running
from signalbox.testing import PostgresDatabases, ServerProcess

TARGET_RATIO = 2.0


class FinalGates(Gates):
    """Gates that stop asking once told ``go`` or ``refused`` (as `signalbox gate` runs its
    command or exits); ``went`` is the answer of the one that went."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(url, token)
        self.refused: dict[int, float] = {}
        self.went: dict | None = None

    def answered(self, deploy_id: int, body: dict) -> bool:
        if body.get("decision") == "go":
            self.went = body
            return True
        if body.get("decision") == "refused":
            self.refused[deploy_id] = time.monotonic()
            if body.get("reason") != "frozen":
                self.errors.append(f"deploy {deploy_id}: {body.get('reason')}")
            return True
        return False


async def until(condition, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the gates did not all answer in time")
        await asyncio.sleep(0.01)  # the bench's own poll of its counters


async def one_round(
    client: httpx.AsyncClient, url: str, token: str, running: dict, gates: int, first: int
) -> tuple[dict, float, float, float]:
    """``gates`` deploys (branches numbered from ``first``) queue behind ``running`` and
    wait; it finishes (the floor); the incident opens (the freeze) and is resolved. Returns
    the deploy that went meanwhile (it runs now) and the three durations."""
    crowd = FinalGates(url, token)
    tasks = crowd.start(["dev"], gates, first=first)
    await until(lambda: crowd.parked >= gates)
    changed = time.monotonic()
    finished = await client.post(
        f"/api/deploys/{running['deploy']['id']}/finish",
        json={"fencing_token": running["fencing_token"], "exit_code": 0, "duration_seconds": 1},
    )
    finished.raise_for_status()
    await until(lambda: len(crowd.woken) >= gates)
    floor = max(crowd.woken.values()) - changed
    still = gates - 1  # the one that went runs now (nobody runs it: its lease is long)
    await until(lambda: crowd.parked >= still)
    opened_at = time.monotonic()
    opened = await client.post(
        "/api/incidents",
        json={"environment": "dev", "title": "users cannot log in", "severity": "sev1"},
    )
    request_seconds = time.monotonic() - opened_at
    opened.raise_for_status()
    await until(lambda: len(crowd.refused) >= still)
    freeze = max(crowd.refused.values()) - opened_at
    await crowd.finish(tasks)
    if crowd.errors or crowd.went is None:
        raise RuntimeError(f"{len(crowd.errors)} gates failed: {crowd.errors[:3]}")
    resolved = await client.post(f"/api/incidents/{opened.json()['id']}/resolve", json={})
    resolved.raise_for_status()
    return crowd.went, floor, request_seconds, freeze


async def scenario(
    server: ServerProcess, token: str, gates: int, rounds: int
) -> tuple[float, float, float]:
    """The medians over ``rounds`` of (floor, opening request, freeze)."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.url, timeout=120, headers=headers) as client:
        running = await start_running(client, "dev")
        figures = []
        for round_ in range(rounds):
            first = 1 + round_ * gates
            running, *measured = await one_round(client, server.url, token, running, gates, first)
            figures.append(measured)
    floor, request, freeze = (statistics.median(column) for column in zip(*figures, strict=True))
    return floor, request, freeze


def run_against(database_url: str, label: str, gates: int, rounds: int) -> None:
    with bench_server(database_url, 1) as (server, token):
        floor, request, freeze = asyncio.run(scenario(server, token, gates, rounds))
    ratio = freeze / floor
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    print(f"signalbox serve ({label}), {gates} gates waiting on dev, median of {rounds} rounds")
    print(f"  floor: the running deploy finishes, all {gates} gates answered in {floor:.2f} s")
    print(f"  incident opens: POST /api/incidents took {request:.2f} s (refusing {gates - 1})")
    print(
        f"  all {gates - 1} waiting gates told refused (frozen) in {freeze:.2f} s "
        f"({ratio:.2f}x the floor; target <= {TARGET_RATIO:.0f}x: {verdict})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gates", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pg", help="also on PostgreSQL: a throw-away database next to URL")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run_against(f"sqlite:///{folder}/bench.db", "SQLite", options.gates, options.rounds)
    if options.pg:
        databases = PostgresDatabases(options.pg)
        try:
            run_against(databases.create(), "PostgreSQL", options.gates, options.rounds)
        finally:
            databases.drop_all()
    return 0


if __name__ == "__main__":
    sys.exit(main())

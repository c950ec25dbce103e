"""The picture of every environment at once, at the scale of a large team's history.

    .venv/bin/python bench/board.py                       # SQLite (a temporary file)
    .venv/bin/python bench/board.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/board.py --runs 30 --environments 200

PostgreSQL also runs when SIGNALBOX_TEST_DATABASE_URL is set (a throw-away database is
created next to the one in the URL and dropped afterwards).

The database holds ``--environments`` environments (200), 100,000 events, 20,000 deploys
(100 per environment, all finished but for one running deploy, under its deploy hold, in
one environment in five and two queued deploys in one in four), 2,000 reservations (ten per
environment, one every 34 hours from about six days ago: five still ahead), five incidents
per environment (1,000: the last one still open, freezing, in one environment in ten), a
work hold on about a quarter of the environments, and each environment's deploy figures as
its deploys' outcomes keep them (last ten successful durations, last finished deploy).
Measured, each the median of ``--runs``:
  floor     one ``SELECT`` of the environments table (every column, every row);
  service   ``services.status.environment_pictures`` for every environment, with the number
            of SQL statements it runs;
  api       ``GET /api/environments`` (admin token) against a real `signalbox serve`;
  page      the board ``GET /`` in a signed-in browser session, for a viewer of
            ``--board-environments`` environments (50) and for the admin (all of them),
            beside ``/healthz`` (the server's floor for any answer).
Targets: at most 10 statements whatever the number of environments; at most 5x
the floor; the board of 50 environments under 100 KB and 50 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, event, insert, select

from signalbox.core.deploy_stats import remember_success
from signalbox.services.environments import sync_environments
from signalbox.services.status import PictureCache, environment_pictures
from signalbox.settings import EnvironmentConfig, Settings
from signalbox.storage import build_engine, upgrade
from signalbox.storage.tables import (
    DeployRow,
    EnvironmentRow,
    EventRow,
    HoldRow,
    IncidentRow,
    ReservationRow,
)
from signalbox.testing import PostgresDatabases, ServerProcess

ADMIN = "sbx_bench-admin"
EVENTS, DEPLOYS, RESERVATIONS = 100_000, 20_000, 2_000
INCIDENTS_PER_ENV = 5  # the last one open in one environment in ten


def names(count: int) -> list[str]:
    return [f"env-{index:03d}" for index in range(count)]


def fill(engine: Engine, environments: list[str], now: datetime) -> None:
    """The history: finished deploys, a running or queued one here and there, holds,
    reservations and events, inserted in bulk."""
    rng = random.Random(7)
    deploys, holds, next_id = [], [], 1
    tokens = dict.fromkeys(environments, 0)
    kept: dict[str, dict[str, Any]] = {}  # each environment's deploy figures, as outcomes keep
    per_env = DEPLOYS // len(environments)
    for index, env in enumerate(environments):
        for number in range(per_env):
            requested = now - timedelta(hours=per_env - number)
            state = "succeeded" if rng.random() < 0.9 else "failed"
            if number == per_env - 3 and index % 5 == 0:
                state = "running"  # one environment in five deploys now
            elif number >= per_env - 2 and index % 4 == 0:
                state = "queued"  # one in four has two deploys waiting
            deploys.append(_deploy(next_id, env, state, requested, now, rng))
            _keep_figures(kept.setdefault(env, {}), deploys[-1])
            if state == "running":
                tokens[env] += 1
                holds.append(_hold(env, "ci", "deploy", now, tokens[env], next_id))
            next_id += 1
        if index % 3 == 1 and index % 5 != 0:  # one current hold per environment
            tokens[env] += 1
            holds.append(_hold(env, "platform-eng", "work", now, tokens[env], None))
    reservations = [
        {
            "environment": environments[index % len(environments)],
            "owner": "coo",
            "reason": "investor demo",
            "starts": now + timedelta(hours=index // len(environments) * 34 - 150),
            "ends": now + timedelta(hours=index // len(environments) * 34 - 149),
            "created_at": now,
        }
        for index in range(RESERVATIONS)
    ]
    incidents = [
        {
            "environment": env,
            "title": "users cannot log in",
            "severity": "sev2",
            "status": "resolved" if number < INCIDENTS_PER_ENV - 1 or index % 10 else "identified",
            "commander": "alice",
            "responders": ["bob"],
            "freezes": True,
            "eta": None,
            "opened_at": now - timedelta(days=30 * (INCIDENTS_PER_ENV - number)),
            "opened_by": "alice",
            "updated_at": now - timedelta(days=30 * (INCIDENTS_PER_ENV - number)),
            "resolved_at": None,
            "resolved_by": None,
            "at_risk": [],
        }
        for index, env in enumerate(environments)
        for number in range(INCIDENTS_PER_ENV)
    ]
    events = [
        {
            "environment": environments[index % len(environments)],
            "at": now - timedelta(seconds=EVENTS - index),
            "actor": "platform-eng",
            "kind": "hold.released",
            "message": "platform-eng released it.",
            "data": {},
            "deploy_id": None,
        }
        for index in range(EVENTS)
    ]
    with engine.begin() as connection:
        connection.execute(insert(DeployRow), deploys)
        connection.execute(insert(HoldRow), holds)
        connection.execute(insert(ReservationRow), reservations)
        connection.execute(insert(IncidentRow), incidents)
        for start in range(0, EVENTS, 10_000):
            connection.execute(insert(EventRow), events[start : start + 10_000])
        for env, token in tokens.items():
            connection.execute(
                EnvironmentRow.__table__.update()
                .where(EnvironmentRow.name == env)
                .values(last_fencing_token=token, **kept.get(env, {}))
            )


def _keep_figures(figures: dict[str, Any], deploy: dict[str, Any]) -> None:
    """What ``EnvironmentRepository.keep_deploy_figures`` writes with a deploy's outcome."""
    if deploy["state"] not in ("succeeded", "failed"):
        return
    figures["last_deploy_id"] = deploy["id"]
    if deploy["state"] == "succeeded":
        recent = figures.get("recent_deploy_seconds", [])
        figures["recent_deploy_seconds"] = remember_success(recent, deploy["duration_seconds"])


def _deploy(ident, env, state, requested, now, rng):  # type: ignore[no-untyped-def]
    finished = state in ("succeeded", "failed")
    duration = rng.uniform(600, 1200) if finished else None
    return {
        "id": ident,
        "environment": env,
        "requester": "ci",
        "requester_is_ci": True,
        "actor": "frontend-dev",
        "branch": "main" if state != "queued" else f"feature-{ident}",
        "commit": f"{ident:07x}",
        "run_url": "",
        "state": state,
        "priority": 0,
        "plan_verdict": "routine",
        "plan_digest": f"{ident:064x}",
        "analysis": None,
        "requested_at": requested,
        "granted_at": requested if state != "queued" else None,
        "started_at": requested if state != "queued" else None,
        "finished_at": requested + timedelta(seconds=duration) if duration else None,
        "outcome": state if finished else None,
        "exit_code": 0 if state == "succeeded" else (1 if finished else None),
        "duration_seconds": duration,
        "refusal_reason": None,
        "refusal_message": None,
        "superseded_by": None,
        "wait_deadline": now + timedelta(days=365) if state == "queued" else None,
    }


def _hold(env, owner, kind, now, token, deploy_id):  # type: ignore[no-untyped-def]
    return {
        "environment": env,
        "owner": owner,
        "owner_is_ci": kind == "deploy",
        "kind": kind,
        "reason": "renaming cognito pool" if kind == "work" else f"deploy {deploy_id}",
        "since": now - timedelta(minutes=5),
        "until": now + timedelta(days=365),
        "lease_seconds": 3600,
        "fencing_token": token,
        "deploy_id": deploy_id,
        "released_at": None,
        "released_by": None,
        "release_reason": None,
    }


def median_ms(
    run: Callable[[], object], runs: int, before: Callable[[], object] | None = None
) -> float:
    """The median time of ``run`` (``before`` runs first each time, untimed)."""
    run()  # warm caches and the connection pool
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def change_one(engine: Engine, environments: list[str]) -> Callable[[], object]:
    """Each call makes one environment (the next in turn) change, as an event would."""
    turn = iter(range(10**9))

    def change() -> object:
        name = environments[next(turn) % len(environments)]
        with engine.begin() as connection:
            return connection.execute(
                EnvironmentRow.__table__.update()
                .where(EnvironmentRow.name == name)
                .values(version=EnvironmentRow.version + 1)
            )

    return change


def statements_of(engine: Engine, run: Callable[[], object]) -> int:
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def signed_in(url: str, token: str) -> httpx.Client:
    """A client with a browser's session on the board, signed in with ``token``."""
    browser = httpx.Client(base_url=url, timeout=60, follow_redirects=True)
    login = browser.get("/login")
    form_token = re.search(r'name="csrf" value="([^"]+)"', login.text)
    assert form_token, "no form token on /login"
    answer = browser.post("/login", data={"token": token, "csrf": form_token.group(1)})
    answer.raise_for_status()
    return browser


def measure_pages(
    figures: dict, url: str, environments: list[str], runs: int, board_size: int
) -> None:
    """The board's time and size for a viewer of ``board_size`` environments and for the
    admin (every environment)."""
    grants = [f"viewer:{name}" for name in environments[:board_size]]
    made = httpx.post(
        f"{url}/api/tokens",
        headers={"Authorization": f"Bearer {ADMIN}"},
        json={"name": "board-viewer", "grants": grants},
        timeout=60,
    )
    made.raise_for_status()
    for key, token in (("page", made.json()["token"]), ("page_all", ADMIN)):
        browser = signed_in(url, token)
        try:
            answer = browser.get("/")
            answer.raise_for_status()
            figures[f"{key}_bytes"] = len(answer.content)
            figures[f"{key}_ms"] = median_ms(lambda b=browser: b.get("/").raise_for_status(), runs)
        finally:
            browser.close()


def measure(
    database: str, url: str, environments: list[str], runs: int, folder: Path, board_size: int
) -> dict:
    now = datetime.now(UTC)
    engine = build_engine(url)
    upgrade(engine)
    settings = Settings(
        environments={
            name: EnvironmentConfig(name, timezone="Europe/Berlin", expected_deploy_seconds=1020)
            for name in environments
        }
    )
    sync_environments(engine, settings, now=now)
    began = time.perf_counter()
    fill(engine, environments, now)
    print(f"  {database}: filled in {time.perf_counter() - began:.1f} s", file=sys.stderr)

    def floor() -> object:
        with engine.connect() as connection:
            return connection.execute(select(EnvironmentRow)).all()

    def service() -> object:
        return environment_pictures(engine, settings, names=None, now=datetime.now(UTC))

    kept = PictureCache()

    def service_kept() -> object:
        now = datetime.now(UTC)
        return environment_pictures(engine, settings, names=None, now=now, cache=kept)

    figures = {
        "floor_ms": median_ms(floor, runs),
        "service_ms": median_ms(service, runs),
        "statements": statements_of(engine, service),
        "kept_ms": median_ms(service_kept, runs),
        "kept_statements": statements_of(engine, service_kept),
        "one_ms": median_ms(service_kept, runs, before=change_one(engine, environments)),
    }
    engine.dispose()
    config = folder / f"{database}.toml"
    config.write_text(
        "\n".join(
            f'[environments.{name}]\ntimezone = "Europe/Berlin"\nexpected_deploy = "17m"\n'
            for name in environments
        )
    )
    env = {"SIGNALBOX_DATABASE_URL": url, "SIGNALBOX_ADMIN_TOKEN": ADMIN}
    with (
        ServerProcess(config=config, env=env, log=folder / f"{database}.log") as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60
        ) as http,
    ):
        answer = http.get("/api/environments")
        answer.raise_for_status()
        figures["api_bytes"] = len(answer.content)
        figures["api_ms"] = median_ms(
            lambda: http.get("/api/environments").raise_for_status(), runs
        )
        figures["api_floor_ms"] = median_ms(lambda: http.get("/healthz").raise_for_status(), runs)
        writer = build_engine(url)
        figures["api_one_ms"] = median_ms(
            lambda: http.get("/api/environments").raise_for_status(),
            runs,
            before=change_one(writer, environments),
        )
        writer.dispose()
        measure_pages(figures, server.url, environments, runs, board_size)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", default=os.environ.get("SIGNALBOX_TEST_DATABASE_URL"))
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--environments", type=int, default=200)
    parser.add_argument("--board-environments", type=int, default=50)
    args = parser.parse_args()
    size = min(args.board_environments, args.environments)
    environments = names(args.environments)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results = {
            "sqlite": measure(
                "sqlite", f"sqlite:///{folder}/board.db", environments, args.runs, folder, size
            )
        }
        if args.pg:
            databases = PostgresDatabases(args.pg)
            try:
                results["postgresql"] = measure(
                    "postgresql", databases.create(), environments, args.runs, folder, size
                )
            finally:
                databases.drop_all()
    print(
        f"{args.environments} environments, {EVENTS:,} events, {DEPLOYS:,} deploys, "
        f"{RESERVATIONS:,} reservations; median of {args.runs} runs; ratios to the floor, "
        "one SELECT of the environments table"
    )
    print("| database | floor | pictures computed | statements | kept, nothing changed |", end="")
    print(" kept, one changed | GET /api/environments: kept | one changed | /healthz | size |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for database, f in results.items():

        def cell(name: str, figure: dict = f) -> str:
            return f"{figure[name]:.2f} ms ({figure[name] / figure['floor_ms']:.1f}x)"

        print(
            f"| {database} | {f['floor_ms']:.2f} ms | {cell('service_ms')} | "
            f"{f['statements']} | {cell('kept_ms')}, {f['kept_statements']} statement | "
            f"{cell('one_ms')} | {cell('api_ms')} | {cell('api_one_ms')} | "
            f"{f['api_floor_ms']:.2f} ms | {f['api_bytes'] / 1024:.0f} KiB |"
        )
    print()
    print(
        f"The board page (GET /, signed in): {size} environments (target: under 100 KB and "
        f"50 ms), and all {args.environments}; ratios to /healthz, the floor of any answer"
    )
    print("| database | /healthz | board, " + f"{size} env. | size | board, all | size |")
    print("|---|---|---|---|---|---|")
    for database, f in results.items():
        floor = f["api_floor_ms"]
        print(
            f"| {database} | {floor:.2f} ms | "
            f"{f['page_ms']:.2f} ms ({f['page_ms'] / floor:.1f}x) | "
            f"{f['page_bytes'] / 1024:.0f} KiB | {f['page_all_ms']:.2f} ms "
            f"({f['page_all_ms'] / floor:.1f}x) | {f['page_all_bytes'] / 1024:.0f} KiB |"
        )


if __name__ == "__main__":
    main()

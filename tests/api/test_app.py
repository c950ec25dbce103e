"""The app as ``create_app`` builds it: every app-wide object built once, up front; the
background loops started and stopped by the one lifespan; the benchmark floors off unless a
setting turns them on, and for admin tokens only."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import ADMIN

from signalbox.api.app import ROUTERS, background_loops, create_app
from signalbox.api.change_feed import ChangeFeed
from signalbox.api.longpoll import Batches
from signalbox.services.tfstate import StateStore
from signalbox.settings import Settings

API = Path(__file__).resolve().parents[2] / "src" / "signalbox" / "api"
BENCH_ROUTES = ["/api/noop", "/api/noop-upload", "/api/noop-download"]


@pytest.fixture
def bench_client(settings, clock, database):
    on = replace(settings, bench_endpoints=True)
    app = create_app(on, clock=clock, engine=database, sweep_seconds=None)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_every_app_wide_object_is_built_by_create_app(app):
    server = app.state.server  # before the app starts: nothing waits for a first use
    assert isinstance(server.feed, ChangeFeed) and isinstance(server.batches, Batches)
    assert isinstance(server.state_store, StateStore)
    assert server.state_store.engine is server.engine
    assert server.deploy_environments == {}
    other = create_app(server.settings, clock=server.clock, engine=server.engine)
    assert other.state.server.feed is not server.feed  # one per app, never shared


def test_the_background_loops_are_one_list(app):
    server = app.state.server
    assert [loop.name for loop in background_loops(server, sweep_seconds=5)] == [
        "change feed",
        "lapsed-hold sweeper",
        "housekeeping",
    ]
    assert [loop.name for loop in background_loops(server, sweep_seconds=None)] == ["change feed"]


def test_the_lifespan_starts_the_loops_and_stops_them(settings, clock, database):
    app = create_app(settings, clock=clock, engine=database, sweep_seconds=60)

    async def running() -> list[asyncio.Task[object]]:
        wanted = {"signalbox-change-feed", "lapsed-hold sweeper"}
        return [task for task in asyncio.all_tasks() if task.get_name() in wanted]

    with TestClient(app) as client:
        tasks = client.portal.call(running)
        assert sorted(task.get_name() for task in tasks) == [
            "lapsed-hold sweeper",
            "signalbox-change-feed",
        ]
        assert app.state.server.feed.version("dev") >= 0
    assert all(task.done() for task in tasks)


def test_routers_are_registered_from_the_one_list_and_have_no_lifespan_of_their_own():
    for router, setting in ROUTERS:
        assert router.on_startup == [] and router.on_shutdown == []
        assert type(router.lifespan_context).__name__ == "_DefaultLifespan", router.tags
        assert setting is None or getattr(Settings(), setting) is False  # off by default


def test_the_api_does_not_import_storage():
    modules = sorted(API.rglob("*.py"))
    assert API / "routes" / "tfstate.py" in modules
    for path in modules:
        assert "signalbox.storage" not in path.read_text(encoding="utf-8"), path


@pytest.mark.parametrize("path", BENCH_ROUTES)
def test_the_benchmark_floors_are_off_by_default(client, path):
    answer = client.request("POST" if path.endswith("upload") else "GET", path, headers=ADMIN)
    assert answer.status_code == 404 and answer.json()["code"] == "not-found"
    assert path not in client.get("/openapi.json").json()["paths"]


def test_the_benchmark_floors_answer_an_admin_when_on(bench_client):
    noop = bench_client.get("/api/noop", headers=ADMIN)
    assert noop.status_code == 200 and noop.json() == {"ok": True, "caller": "bootstrap-admin"}
    upload = bench_client.post("/api/noop-upload", headers=ADMIN, content=b"x" * 100_000)
    assert upload.status_code == 200 and upload.json() == {"size": 100_000}  # past max_body
    download = bench_client.get("/api/noop-download?size=3000000", headers=ADMIN)
    assert download.status_code == 200 and download.content == bytes(3_000_000)
    assert set(BENCH_ROUTES) <= set(bench_client.get("/openapi.json").json()["paths"])


@pytest.mark.parametrize("grant", ["developer:*", "admin:dev"])
@pytest.mark.parametrize("path", BENCH_ROUTES)
def test_the_benchmark_floors_refuse_other_tokens_naming_the_admin_grant(bench_client, path, grant):
    created = bench_client.post(
        "/api/tokens", headers=ADMIN, json={"name": "eng", "grants": [grant]}
    )
    token = {"Authorization": f"Bearer {created.json()['token']}"}
    method = "POST" if path.endswith("upload") else "GET"
    answer = bench_client.request(method, path + "?size=1", headers=token, content=b"x")
    assert answer.status_code == 403 and answer.json()["code"] == "forbidden"
    assert "admin:*" in answer.json()["missing"] and "eng may not" in answer.json()["detail"]
    assert bench_client.request(method, path + "?size=1", content=b"x").status_code == 401


def test_the_benchmark_floors_declare_their_answers(bench_client):
    paths = bench_client.get("/openapi.json").json()["paths"]
    noop = paths["/api/noop"]["get"]["responses"]["200"]["content"]["application/json"]
    assert noop["schema"] == {"$ref": "#/components/schemas/NoopRead"}
    upload = paths["/api/noop-upload"]["post"]["responses"]["200"]["content"]
    assert upload["application/json"]["schema"] == {"$ref": "#/components/schemas/NoopUploadRead"}
    download = paths["/api/noop-download"]["get"]["responses"]["200"]["content"]
    assert download["application/octet-stream"]["schema"]["format"] == "binary"

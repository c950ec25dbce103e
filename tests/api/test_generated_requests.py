"""Generated requests against a real ``signalbox serve``, from its own ``/openapi.json``
(schemathesis): no answer is a 5xx (issue 8, "No input gets a 500").

Bounded so that it runs in the normal suite: a few examples per operation, derandomized (the
same requests on every run), one server on a SQLite file and one on PostgreSQL when it is
configured (its INTEGER columns are 32-bit), each seeded with a hold's history, a deploy, an
incident, a reservation and a Terraform state, so that generated ids and names reach real
rows. Every operation is sent as the admin; the ``environment`` and ``state`` of
a path are dev and network (a generated name would stop at 404 before reaching anything).
The event stream never ends by design and is left out: ``test_bad_input`` covers its input.
"""

from __future__ import annotations

import base64
import copy
import json
import os
from collections import Counter
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy import create_engine

from signalbox.api.app import create_app
from signalbox.settings import EnvironmentConfig, Settings
from signalbox.testing import POSTGRES_SKIP, PostgresDatabases, ServerProcess, postgres_url

ADMIN_TOKEN = "sbx_generated-requests-admin"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
EXAMPLES = int(os.environ.get("SIGNALBOX_GENERATED_EXAMPLES", "4"))
"""Generated examples per operation (besides the coverage phase's boundary cases); raise it
by hand to search harder."""

CONFIG = """
[server]
longpoll_seconds = 1

[environments.dev]
timezone = "Europe/Berlin"
expected_deploy = "17m"

[environments.prod]
timezone = "UTC"
"""

ROUTINE = Path(__file__).resolve().parents[2] / "examples/plans/routine-frontend-change.json"
STATE = {"version": 4, "serial": 1, "lineage": "4a5b6c", "terraform_version": "1.15.5"}
SENT: Counter[str] = Counter()
"""Requests sent per operation, for the summary line."""
STATUSES: Counter[int] = Counter()


def _seed(url: str) -> None:
    """One of each row a generated id may name: deploy 1, incident 1, reservation 1, a
    state dev/network, and a hold taken and released (history in the event log)."""
    with httpx.Client(base_url=url, headers=ADMIN, timeout=30) as client:
        steps = [
            client.post("/api/environments/dev/hold", json={"reason": "seed", "duration": "1h"}),
            client.delete("/api/environments/dev/hold"),
            client.post(
                "/api/deploys",
                json={
                    "environment": "dev",
                    "branch": "main",
                    "plan": base64.b64encode(ROUTINE.read_bytes()).decode(),
                },
            ),
            client.post(
                "/api/environments/prod/reservations",
                json={"starts": "23:00", "ends": "23:30", "reason": "seed"},
            ),
            client.post("/tf/dev/network", content=json.dumps(STATE).encode()),
            client.post("/api/incidents", json={"environment": "prod", "title": "seed"}),
        ]
        for answer in steps:
            assert answer.status_code < 300, answer.text


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def server_database(request, tmp_path_factory):
    """The URL of a database of the server's own: a SQLite file, and a new PostgreSQL
    database when one is configured (its INTEGER columns are 32-bit, SQLite's 64-bit)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('generated-db') / 'signalbox.db'}"
        return
    base = postgres_url()
    if not base:
        pytest.skip(POSTGRES_SKIP)
    databases = PostgresDatabases(base)
    yield databases.create()
    databases.drop_all()


@pytest.fixture(scope="module")
def server(server_database, tmp_path_factory):
    folder = tmp_path_factory.mktemp("generated")
    config = folder / "signalbox.toml"
    config.write_text(CONFIG)
    env = {"SIGNALBOX_DATABASE_URL": server_database, "SIGNALBOX_ADMIN_TOKEN": ADMIN_TOKEN}
    with ServerProcess(config=config, env=env, log=folder / "server.log") as running:
        _seed(running.url)
        yield running
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(STATUSES.items()))
    print(f"\ngenerated requests: {sum(SENT.values())} to {len(SENT)} operations ({statuses})")
    SENT.clear()
    STATUSES.clear()


def _spec() -> dict:
    """The OpenAPI schema of the app ``signalbox serve`` runs (the test below checks that
    the running server serves this very schema)."""
    settings = Settings(environments={"dev": EnvironmentConfig("dev")})
    return create_app(settings, engine=create_engine("sqlite://")).openapi()


SPEC = _spec()


def _schema(spec: dict) -> schemathesis.BaseSchema:
    loaded = schemathesis.openapi.from_dict(spec)

    @loaded.hook
    def map_path_parameters(context, path_parameters):  # type: ignore[no-untyped-def]
        if path_parameters and "environment" in path_parameters:
            path_parameters["environment"] = "dev"
        if path_parameters and "state" in path_parameters:
            path_parameters["state"] = "network"
        return path_parameters

    return loaded.exclude(path="/api/events/stream")


schema = _schema(copy.deepcopy(SPEC))


def test_the_server_serves_the_schema_the_requests_are_generated_from(server):
    served = httpx.get(server.url + "/openapi.json", timeout=30).json()
    assert served == SPEC


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize="SIGNALBOX_GENERATED_EXAMPLES" not in os.environ,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_generated_request_gets_a_5xx(case, server):
    response = case.call(base_url=server.url, headers=ADMIN, timeout=30)
    SENT[case.operation.label] += 1
    STATUSES[response.status_code] += 1
    case.validate_response(response, checks=[not_a_server_error], headers=ADMIN)

"""``GET /metrics``: Prometheus' text format, parsed back with prometheus_client's own parser;
figures read from the database at scrape time (two apps on one database agree); requests
by route template, never by path; an admin token, or ``metrics_public``."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from tests.api.conftest import ADMIN, ADMIN_TOKEN
from tests.support.receivers import HttpReceiver

from signalbox.api.app import create_app
from signalbox.notify_settings import NotifyTarget

PLANS = Path(__file__).resolve().parents[2] / "examples/plans"
ROUTINE = base64.b64encode((PLANS / "routine-frontend-change.json").read_bytes()).decode()
STATE = json.dumps({"version": 4, "serial": 1, "lineage": "l1", "terraform_version": "1.15.5"})

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: TestClient, headers: dict[str, str] | None = ADMIN) -> Samples:
    """Every sample of ``/metrics``, by (name, labels), parsed by prometheus_client."""
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def deploy(client: TestClient, headers: dict[str, str], branch: str) -> dict:
    body = {"environment": "dev", "branch": branch, "commit": "c0ffee", "plan": ROUTINE}
    answer = client.post("/api/deploys", headers=headers, json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture
def ci(token_for):
    return token_for("ci-dev", "developer:dev", ci=True)


def test_holds_deploys_the_queue_and_durations_by_environment_and_state(client, ci, clock):
    held = client.post("/api/environments/prod/hold", headers=ADMIN, json={"reason": "db move"})
    assert held.status_code == 200
    first, second = deploy(client, ci, "main"), deploy(client, ci, "feature")
    assert (first["decision"], second["decision"]) == ("go", "wait")
    before = scrape(client)
    assert value(before, "signalbox_holds", environment="prod", kind="work", state="held") == 1
    assert value(before, "signalbox_holds", environment="dev", kind="deploy", state="held") == 1
    assert value(before, "signalbox_deploys", environment="dev", state="running") == 1
    assert value(before, "signalbox_deploys", environment="dev", state="queued") == 1
    assert value(before, "signalbox_queue_length", environment="dev") == 1
    assert value(before, "signalbox_gates_waiting", environment="dev", waiting_for="turn") == 1
    assert value(before, "signalbox_gates_waiting", environment="prod", waiting_for="turn") == 0

    finished = client.post(
        f"/api/deploys/{first['deploy']['id']}/finish",
        headers=ci,
        json={"fencing_token": first["fencing_token"], "exit_code": 0, "duration_seconds": 61.5},
    )
    assert finished.status_code == 200, finished.text
    clock.advance(timedelta(hours=5))  # the prod hold's 4h lease ran out; nobody swept it
    after = scrape(client)
    assert value(after, "signalbox_holds", environment="prod", kind="work", state="lapsed") == 1
    assert value(after, "signalbox_holds", environment="prod", kind="work", state="held") is None
    assert value(after, "signalbox_deploys", environment="dev", state="succeeded") == 1
    histogram = {"environment": "dev", "outcome": "succeeded"}
    assert value(after, "signalbox_deploy_duration_seconds_count", **histogram) == 1
    assert value(after, "signalbox_deploy_duration_seconds_sum", **histogram) == 61.5
    assert value(after, "signalbox_deploy_duration_seconds_bucket", le="60.0", **histogram) == 0
    assert value(after, "signalbox_deploy_duration_seconds_bucket", le="120.0", **histogram) == 1
    assert value(after, "signalbox_deploy_duration_seconds_bucket", le="+Inf", **histogram) == 1


def test_requests_are_counted_by_route_template_and_status_never_by_path(client):
    for _ in range(2):
        assert client.get("/api/deploys/12345", headers=ADMIN).status_code == 404
    assert client.get("/api/no/such/route/987", headers=ADMIN).status_code == 404
    assert client.get("/api/events?before=999", headers=ADMIN).status_code == 200
    samples = scrape(client)
    requests = "signalbox_http_requests_total"
    assert value(samples, requests, method="GET", route="/api/deploys/{deploy_id}", status="404")
    assert (
        value(samples, requests, method="GET", route="/api/deploys/{deploy_id}", status="404") == 2
    )
    assert value(samples, requests, method="GET", route="unmatched", status="404") == 1
    assert value(samples, requests, method="GET", route="/api/events", status="200") == 1
    labels = {v for _name, pairs in samples for _k, v in pairs}
    assert not any("12345" in label or "987" in label or "999" in label for label in labels)
    timed = "signalbox_http_request_duration_seconds_count"
    assert value(samples, timed, method="GET", route="/api/deploys/{deploy_id}") == 2


def test_state_bytes_and_writes_by_environment(client):
    for serial in (1, 2):
        body = STATE.replace('"serial": 1', f'"serial": {serial}').encode()
        answer = client.post("/tf/dev/network", headers=ADMIN, content=body)
        assert answer.status_code == 200, answer.text
    samples = scrape(client)
    assert value(samples, "signalbox_state_writes_total", environment="dev") == 2
    assert value(samples, "signalbox_state_bytes_written_total", environment="dev") == 2 * len(
        STATE
    )


def test_servers_sharing_one_database_report_the_same_figures(settings, clock, database, ci):
    other = create_app(settings, clock=clock, engine=database, sweep_seconds=None)
    mine = create_app(settings, clock=clock, engine=database, sweep_seconds=None)
    with TestClient(mine) as first, TestClient(other) as second:
        held = first.post("/api/environments/dev/hold", headers=ADMIN, json={"reason": "x"})
        assert held.status_code == 200
        seen = scrape(second)
        assert value(seen, "signalbox_holds", environment="dev", kind="work", state="held") == 1
        mine_requests = scrape(first)
        route = "/api/environments/{environment}/hold"
        hold_requests = {"method": "POST", "route": route, "status": "200"}
        assert value(mine_requests, "signalbox_http_requests_total", **hold_requests) == 1
        assert value(seen, "signalbox_http_requests_total", **hold_requests) is None


def test_metrics_need_an_admin_token(client, token_for):
    anonymous = client.get("/metrics")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    developer = client.get("/metrics", headers=token_for("dev-person", "developer:*"))
    assert developer.status_code == 403
    assert "admin:*" in developer.json()["detail"]
    assert "metrics_public" in developer.json()["hint"]
    assert scrape(client, token_for("ops", "admin:*"))


@pytest.fixture
def public(settings):
    return replace(settings, metrics_public=True)


def test_metrics_public_lets_a_scraper_read_without_a_token(public, clock, database):
    app = create_app(public, clock=clock, engine=database, sweep_seconds=None)
    with TestClient(app) as client:
        samples = scrape(client, headers=None)
        assert value(samples, "signalbox_queue_length", environment="dev") == 0
        assert client.get("/api/events").status_code == 401  # only /metrics is public


@pytest.fixture
def pager() -> Iterator[HttpReceiver]:
    """A notification target that is down: connections refused."""
    with HttpReceiver() as receiver:
        receiver.refuse()
        yield receiver


def eventually(read: Callable[[], Samples], until: Callable[[Samples], bool]) -> Samples:
    deadline = time.monotonic() + 10
    while True:
        samples = read()
        if until(samples):
            return samples
        assert time.monotonic() < deadline, "the figures did not come within 10 s"
        time.sleep(0.05)  # polling the scrape for the notifier's work, with a deadline


def test_the_notification_backlog_by_target_and_state(settings, clock, database, pager):
    notifying = replace(
        settings, notify=(NotifyTarget("pager", urls=(pager.url("json", "/hooks/x"),)),)
    )
    app = create_app(notifying, clock=clock, engine=database, sweep_seconds=None)
    with TestClient(app) as client:
        held = client.post("/api/environments/dev/hold", headers=ADMIN, json={"reason": "x"})
        assert held.status_code == 200
        samples = eventually(
            lambda: scrape(client),
            lambda s: (
                value(s, "signalbox_notification_backlog", target="pager", state="failed") == 1
            ),
        )
        assert value(samples, "signalbox_notification_events_waiting") == 0
        assert ADMIN_TOKEN not in client.get("/metrics", headers=ADMIN).text

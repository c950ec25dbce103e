"""`signalbox status --json` and `GET /api/environments/dev` show the same picture, with a
reservation a deploy started now would overlap and every reason a deploy would not go; the
events read in words. A real `signalbox serve` process and the real CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from tests.support.servers import run_cli, story_server

ADMIN = "sbx_e2e-picture-admin"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with story_server(tmp_path_factory.mktemp("e2e-picture"), ADMIN) as running:
        yield running


def signalbox(server, *args, token=ADMIN):
    return run_cli(server.url, token, *args)


def test_the_cli_and_the_api_show_one_picture_with_every_blocking_reason(server):
    engineer = signalbox(
        server, "token", "create", "platform-eng", "--grant", "developer:dev"
    ).stdout.strip()
    coo = signalbox(server, "token", "create", "coo", "--grant", "stakeholder:dev").stdout.strip()
    held = signalbox(
        server, "hold", "dev", "--reason", "renaming cognito pool", "--for", "4h", token=engineer
    )
    assert held.returncode == 0, held.stderr
    demo = (datetime.now(UTC) + timedelta(minutes=10)).replace(second=0, microsecond=0)
    booked = signalbox(
        server,
        "reserve",
        "dev",
        "--from",
        demo.isoformat(),
        "--to",
        (demo + timedelta(hours=1)).isoformat(),
        "--reason",
        "investor demo",
        token=coo,
    )
    assert booked.returncode == 0, booked.stderr

    status = signalbox(server, "status", "--json")
    assert status.returncode == 0, status.stderr
    [from_cli] = [e for e in json.loads(status.stdout)["environments"] if e["name"] == "dev"]
    from_api = httpx.get(
        server.url + "/api/environments/dev", headers={"Authorization": f"Bearer {ADMIN}"}
    ).json()
    assert from_cli == from_api

    assert from_api["state"] == "held" and from_api["hold"]["owner"] == "platform-eng"
    assert from_api["next_reservation"]["reason"] == "investor demo"
    assert from_api["next_reservation_overlaps_deploy"] is True
    assert [(b["reason"], b["whom"]) for b in from_api["blocking"]] == [
        ("held", "platform-eng"),
        ("reserved", "coo"),
    ]

    table = signalbox(server, "status")
    assert table.returncode == 0, table.stderr
    assert "a deploy now would overlap" in table.stdout
    assert "  - dev is held by platform-eng" in table.stdout
    assert "coo's reservation begins" in table.stdout

    events = signalbox(server, "events", "--env", "dev")
    assert events.returncode == 0, events.stderr
    assert "platform-eng held dev for 4h (until" in events.stdout
    assert "coo reserved dev from" in events.stdout
    assert "?" not in events.stdout

"""The hold flow through the real CLI against a real `signalbox serve` process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from tests.support.servers import run_cli, story_server

ADMIN = "sbx_e2e-admin"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with story_server(tmp_path_factory.mktemp("e2e-holds"), ADMIN) as running:
        yield running


def signalbox(server, *args, token=ADMIN):
    return run_cli(server.url, token, *args)


def test_hold_refusal_release_and_events(server):
    created = signalbox(server, "token", "create", "platform-eng", "--grant", "developer:dev")
    assert created.returncode == 0, created.stderr
    engineer = created.stdout.strip()
    assert engineer.startswith("sbx_") and "\n" not in engineer
    ci = signalbox(
        server, "token", "create", "ci-dev", "--grant", "developer:dev", "--ci"
    ).stdout.strip()

    held = signalbox(
        server, "hold", "dev", "--reason", "renaming cognito pool", "--for", "4h", token=engineer
    )
    assert held.returncode == 0, held.stderr
    assert "You hold dev until" in held.stdout and "fencing token 1" in held.stdout

    refused = signalbox(server, "hold", "dev", "--reason", "deploy", token=ci)
    assert refused.returncode == 75
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith("Held: dev is held by platform-eng since ")
    assert "CET until " in line and "renaming cognito pool" in line

    not_holder = signalbox(server, "release", "dev", token=ci)
    assert not_holder.returncode == 75 and "platform-eng" in not_holder.stderr

    status = signalbox(server, "status", "--json")
    [dev] = [e for e in json.loads(status.stdout)["environments"] if e["name"] == "dev"]
    assert dev["state"] == "held" and dev["hold"]["owner"] == "platform-eng"

    assert signalbox(server, "release", "dev", token=engineer).returncode == 0
    events = signalbox(server, "events", "--env", "dev")
    assert events.returncode == 0
    assert "hold.released" in events.stdout and "hold.granted" in events.stdout


def test_renew_and_force_release(server):
    engineer = signalbox(
        server, "token", "create", "renewer", "--grant", "developer:prod"
    ).stdout.strip()
    assert (
        signalbox(server, "hold", "prod", "--reason", "r", "--for", "1h", token=engineer).returncode
        == 0
    )
    renewed = signalbox(
        server, "renew", "prod", "--for", "2h", "--fencing-token", "1", token=engineer
    )
    assert renewed.returncode == 0 and "You hold prod until" in renewed.stdout
    stale = signalbox(server, "renew", "prod", "--fencing-token", "9", token=engineer)
    assert stale.returncode == 75 and "StaleFencingToken" in stale.stderr
    denied = signalbox(server, "force-release", "prod", "--reason", "x", token=engineer)
    assert denied.returncode == 77 and "admin:prod" in denied.stderr
    forced = signalbox(server, "force-release", "prod", "--reason", "on holiday")
    assert forced.returncode == 0 and "Released renewer's hold on prod" in forced.stdout


def test_token_list_and_revoke(server):
    secret = signalbox(server, "token", "create", "short-lived", "--grant", "viewer:*").stdout
    listed = json.loads(signalbox(server, "token", "list", "--json").stdout)["tokens"]
    assert "short-lived" in [t["name"] for t in listed] and secret.strip() not in str(listed)
    assert signalbox(server, "status", token=secret.strip()).returncode == 0
    assert signalbox(server, "token", "revoke", "short-lived").returncode == 0
    assert signalbox(server, "status", token=secret.strip()).returncode == 1


def test_usage_errors_and_unknown_environments(server):
    unknown = signalbox(server, "hold", "staging", "--reason", "x")
    assert unknown.returncode == 2 and "Known environments: dev, prod" in unknown.stderr
    bad_duration = signalbox(server, "hold", "dev", "--reason", "x", "--for", "4x")
    assert bad_duration.returncode == 2 and "InvalidDuration" in bad_duration.stderr
    forbidden = signalbox(
        server, "token", "create", "x", "--grant", "viewer:dev", token="sbx_not-a-token"
    )
    assert forbidden.returncode == 1 and "Unauthenticated" in forbidden.stderr


def test_unreachable_server_exits_1_with_a_hint():
    result = subprocess.run(
        [sys.executable, "-m", "signalbox", "status", "--url", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "signalbox serve" in result.stderr

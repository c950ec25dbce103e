"""Incidents through the real CLI against a real `signalbox serve` process: open (the number
printed, the hold suspended), refusals with their exit codes, updates, the status line,
resolve (the hold back), reopen."""

from __future__ import annotations

import json

import pytest
from tests.support.servers import create_token, run_cli, story_server

ADMIN = "sbx_e2e-incidents-admin"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with story_server(tmp_path_factory.mktemp("e2e-incidents"), ADMIN) as running:
        yield running


def test_an_incident_from_open_to_reopen(server):
    alice = create_token(server.url, ADMIN, "alice", ["developer:dev"])
    bob = create_token(server.url, ADMIN, "bob", ["developer:dev"])
    coo = create_token(server.url, ADMIN, "coo", ["stakeholder:dev"])

    def signalbox(*args, token=alice):
        return run_cli(server.url, token, *args)

    assert signalbox("hold", "dev", "--reason", "renaming pool", token=bob).returncode == 0
    opened = signalbox(
        "incident", "open", "dev", "--title", "users cannot log in", "--severity", "sev1",
        "--eta", "30m", "--note", "pool gone",
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    lines = opened.stdout.splitlines()
    assert lines[0] == "Incident 1 opened on dev (sev1): users cannot log in"
    assert "dev is frozen: only `signalbox gate --env dev --hotfix 1` deploys." in lines[1]
    assert "Suspended bob's hold on dev; it returns when the incident is resolved." in opened.stdout

    again = signalbox("incident", "open", "dev", "--title", "still broken")
    assert again.returncode == 75
    assert again.stderr.startswith("IncidentAlreadyOpen: Incident 1 is already open on dev")
    not_allowed = signalbox("incident", "open", "dev", "--title", "x", token=coo)
    assert not_allowed.returncode == 77
    held = signalbox("hold", "dev", "--reason", "back to it", token=bob)
    assert held.returncode == 75 and "dev is frozen by incident 1" in held.stderr
    handover = signalbox("incident", "update", "1", "--commander", "bob", token=bob)
    assert handover.returncode == 77 and "alice" in handover.stderr
    bad_status = signalbox("incident", "update", "1", "--status", "resolved")
    assert bad_status.returncode == 2 and "incident resolve 1" in bad_status.stderr

    updated = signalbox(
        "incident", "update", "1", "--status", "identified", "--note", "fix pushed",
        "--responder", "bob",
    )  # fmt: skip
    assert updated.returncode == 0, updated.stderr
    assert updated.stdout.startswith("Updated incident 1 (sev1) users cannot log in - commander")

    status = signalbox("status")
    assert status.returncode == 0
    assert "dev: incident 1 (sev1) users cannot log in - commander alice, identified, ETA " in (
        status.stdout
    )
    assert "last update just now" in status.stdout and "frozen" in status.stdout
    listed = json.loads(signalbox("incidents", "--json").stdout)["incidents"]
    assert [(i["id"], i["team"]) for i in listed] == [(1, ["alice", "bob"])]
    shown = signalbox("incident", "show", "1")
    assert shown.returncode == 0 and "fix pushed" in shown.stdout and "opened" in shown.stdout

    resolved = signalbox("incident", "resolve", "1", "--note", "pool restored")
    assert resolved.returncode == 0, resolved.stderr
    assert "Resolved incident 1 on dev; dev is open again." in resolved.stdout
    assert "bob's hold on dev is back, with a new fencing token." in resolved.stdout
    assert signalbox("incidents").stdout.strip() == "No open incidents."
    late = signalbox("incident", "update", "1", "--note", "one more thing")
    assert late.returncode == 75 and "reopen" in late.stderr

    reopened = signalbox("incident", "reopen", "1", "--note", "not over", token=bob)
    assert reopened.returncode == 0 and "dev is frozen again." in reopened.stdout
    assert "Suspended bob's hold" not in reopened.stdout  # bob is a responder now
    every = signalbox("incidents", "--env", "dev", "--all")
    assert every.returncode == 0 and "users cannot log in" in every.stdout

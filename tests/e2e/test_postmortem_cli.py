"""`signalbox postmortem`, `action add|set` and `actions` through the real CLI against a real
`signalbox serve`: a gate applies the plan that destroys the Cognito pool (approved by the
lead), alice opens an incident, and the draft names the deploy and the pool."""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from tests.support.servers import create_token, run_cli, story_server

ROOT = Path(__file__).resolve().parents[2]
COGNITO_PLAN = ROOT / "examples/plans/cognito-renamed-without-moved.json"
POOL = "aws_cognito_user_pool.main"
ADMIN = "sbx_postmortem-admin"
GITHUB = {"GITHUB_ACTIONS": "true", "GITHUB_SHA": "b0a710c0ffee", "GITHUB_REF_NAME": "main"}
GITHUB |= {"GITHUB_ACTOR": "frontend-dev", "GITHUB_RUN_ID": "1444"}


def wait_for_line(lines: queue.Queue[str], pattern: str, timeout: float = 60) -> re.Match[str]:
    """The first line of the gate's stderr matching ``pattern`` (the gate says it)."""
    deadline, seen = time.monotonic() + timeout, []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        seen.append(line)
        if match := re.search(pattern, line):
            return match
    raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(seen)}")


def destroying_deploy(url: str, ci: str, lead: str) -> str:
    """Run a gate with the plan that destroys the pool, approve it as the lead; its id."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI_"))}
    env = {**clean, "SIGNALBOX_URL": url, "SIGNALBOX_TOKEN": ci, **GITHUB}
    command = [sys.executable, "-m", "signalbox", "gate", "--env", "dev", "--plan"]
    command += [str(COGNITO_PLAN), "--wait", "3m", "--", sys.executable, "-c", "pass"]
    gate = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    assert gate.stderr is not None
    threading.Thread(target=lambda: [lines.put(x) for x in gate.stderr], daemon=True).start()
    try:
        deploy_id = wait_for_line(lines, r"signalbox approve (\d+)").group(1)
        approved = run_cli(url, lead, "approve", deploy_id)
        assert approved.returncode == 0, approved.stderr
        assert gate.wait(timeout=60) == 0
    finally:
        if gate.poll() is None:
            gate.kill()
            gate.wait()
    return deploy_id


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    with story_server(tmp_path_factory.mktemp("e2e-postmortem"), ADMIN) as server:
        url = server.url
        ci = create_token(url, ADMIN, "ci-dev", ["developer:dev"], ci=True)
        lead = create_token(url, ADMIN, "lead", ["approver:dev"])
        alice = create_token(url, ADMIN, "alice", ["developer:dev"])
        coo = create_token(url, ADMIN, "coo", ["stakeholder:dev"])
        deploy_id = destroying_deploy(url, ci, lead)
        opened = run_cli(
            url, alice, "incident", "open", "dev", "--title", "users cannot log in",
            "--severity", "sev1", "--json",
        )  # fmt: skip
        assert opened.returncode == 0, opened.stderr
        yield url, {"alice": alice, "coo": coo}, json.loads(opened.stdout)["id"], deploy_id


def test_the_postmortem_markdown_names_the_deploy_and_the_destroyed_pool(story):
    url, tokens, incident_id, deploy_id = story
    drafted = run_cli(url, tokens["coo"], "postmortem", str(incident_id))
    assert drafted.returncode == 0, drafted.stderr
    markdown = drafted.stdout
    tokens_ = MarkdownIt("commonmark", {"html": False}).enable("table").parse(markdown)
    headings = [tokens_[i + 1].content for i, t in enumerate(tokens_) if t.type == "heading_open"]
    assert headings[0] == f"Postmortem: incident {incident_id} on dev: users cannot log in"
    assert "The changes before the break" in headings and "Where we got lucky" in headings
    assert "**The change taken as the one that broke it**" in markdown
    assert f"Deploy {deploy_id} (main @ b0a710c) by frontend-dev" in markdown
    assert f"`{POOL}`" in markdown and "(Europe/Berlin)" in markdown
    assert "hunter2" not in markdown  # never a plan value


def test_the_postmortem_as_json_and_its_errors(story):
    url, tokens, incident_id, deploy_id = story
    answer = run_cli(
        url, tokens["coo"], "postmortem", str(incident_id), "-f", "json", "--since", "1h"
    )
    assert answer.returncode == 0, answer.stderr
    drafted = json.loads(answer.stdout)
    assert drafted["breaking_change"]["deploy_id"] == int(deploy_id)
    assert POOL in drafted["destroyed"]
    missing = run_cli(url, tokens["coo"], "postmortem", "999")
    assert missing.returncode != 0 and "There is no incident 999" in missing.stderr
    bad = run_cli(url, tokens["coo"], "postmortem", str(incident_id), "--since", "soon")
    assert bad.returncode != 0 and "not a duration" in bad.stderr


def test_actions_are_added_set_and_listed_and_the_draft_lists_them(story):
    url, tokens, incident_id, _ = story
    alice, coo = tokens["alice"], tokens["coo"]
    added = run_cli(
        url, alice, "action", "add", str(incident_id), "deletion protection on the pool",
        "--owner", "bob", "--due", "2020-01-31",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "owned by bob, due 2020-01-31: proposed (overdue)" in added.stdout
    action_id = re.search(r"Added action (\d+)", added.stdout).group(1)
    refused = run_cli(url, coo, "action", "set", action_id, "--status", "done")
    assert refused.returncode == 77, refused.stderr  # a stakeholder may not
    started = run_cli(url, alice, "action", "set", action_id, "--status", "in-progress")
    assert started.returncode == 0 and "in-progress (overdue)" in started.stdout
    listed = run_cli(url, coo, "actions", "--open")
    assert listed.returncode == 0 and "in-progress (overdue)" in listed.stdout
    as_json = json.loads(
        run_cli(url, coo, "actions", "--incident", str(incident_id), "--json").stdout
    )
    assert [a["id"] for a in as_json["actions"]] == [int(action_id)]
    drafted = run_cli(url, coo, "postmortem", str(incident_id)).stdout
    row = f"| {action_id} | deletion protection on the pool | bob | 2020-01-31 |"
    assert f"{row} in-progress (**overdue**) |" in drafted
    done = run_cli(url, alice, "action", "set", action_id, "--status", "done", "--note", "merged")
    assert done.returncode == 0
    assert run_cli(url, coo, "actions", "--open").stdout.strip() == "No open actions."

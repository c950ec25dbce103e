"""When it breaks anyway: the incident half of the story against a real `signalbox serve`.

Every step goes through the real `signalbox` commands, each person with their own token
(``signalbox.demo.story.Cast``). A long frontend deploy runs and three CI gates queue behind
it; alice opens a sev1 incident and the three queued gates exit at once with 75, naming the
incident; preflight exits 75 while dev is frozen; the hotfix waits for the running deploy
(never beside it) and goes; after the resolve preflight exits 0; the postmortem's "changes
before the break" names the deploy that destroyed the user pool and the pool itself.

A second incident that does not freeze (sev3) shows the queue jump: a hotfix that arrives
after two queued deploys runs before both.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from signalbox.demo.story import COGNITO_PLAN, ROUTINE_GATE, Cast, demo_server, play

pytestmark = pytest.mark.slow


@pytest.fixture
def cast():
    lines: list[str] = []
    with demo_server(lines.append) as cast:
        cast.say = lines.append
        yield cast


def _events(cast: Cast, kind: str) -> list[dict]:
    listed = cast.run("alice", "events", "--env", "dev", "--json", show=False)
    return [event for event in json.loads(listed.stdout)["events"] if event["kind"] == kind]


def test_an_incident_freezes_dev_the_hotfix_goes_and_the_postmortem_names_the_break(
    cast: Cast, tmp_path: Path
) -> None:
    apply = ["--", sys.executable, "-m", "signalbox.demo.apply"]
    cast.run("ci", *ROUTINE_GATE, *apply, "before")
    # the plan that destroys the user pool, approved, applied: the break
    destroying = cast.start(
        "ci", "gate", "--env", "dev", "--plan", str(COGNITO_PLAN), "--wait", "2m",
        *apply, "after", branch="rename-pool",
    )  # fmt: skip
    asked = destroying.wait_for(r"approve with `signalbox approve (\d+)`")
    breaking_deploy = asked.group(1)
    cast.run("lead", "approve", breaking_deploy)
    assert destroying.finish() == 0, destroying.seen

    # a long deploy runs; three more queue behind it
    done = tmp_path / "frontend-done"
    running = cast.start(
        "ci", *ROUTINE_GATE, *apply, "after", "--until", str(done), branch="frontend"
    )
    running.wait_for(r"^go: ")
    queued = []
    for branch in ("feature-b", "feature-c", "feature-d"):
        gate = cast.start("ci", *ROUTINE_GATE, "--wait", "10m", *apply, "after", branch=branch)
        gate.wait_for(r"^waiting")
        queued.append(gate)

    opened = cast.run(
        "alice", "incident", "open", "dev", "--title", "users cannot log in", "--severity", "sev1"
    )
    incident = re.search(r"[Ii]ncident (\d+)", opened.stdout + opened.stderr)
    assert incident is not None, opened.stdout
    number = incident.group(1)

    # the queued gates exit at once (long before their 10-minute wait) with 75, naming it
    for gate in queued:
        assert gate.finish(timeout=30) == 75, gate.seen
        said = "\n".join(gate.seen)
        assert f"incident {number}" in said and "users cannot log in" in said, said
        assert "alice" in said, said
    assert running.process.poll() is None  # the running deploy is not killed

    frozen = cast.run("ci", "preflight", "--env", "dev", expect=75, show=False)
    assert "users cannot log in" in frozen.stdout + frozen.stderr

    # the hotfix waits for the running deploy, then goes
    hotfix = cast.start(
        "alice", *ROUTINE_GATE, "--hotfix", number, "--wait", "2m", *apply, "restored",
        branch="restore-pool",
    )  # fmt: skip
    waiting = hotfix.wait_for(r"^waiting")
    assert "frontend" in waiting.string or "ci" in waiting.string, hotfix.seen
    assert hotfix.process.poll() is None
    done.write_text("done")
    assert running.finish() == 0, running.seen
    hotfix.wait_for(r"^go: ")
    assert hotfix.finish() == 0, hotfix.seen

    cast.run("alice", "incident", "resolve", number, "--note", "pool restored")
    cast.run("ci", "preflight", "--env", "dev", expect=0, show=False)

    drafted = cast.run("alice", "postmortem", number, show=False).stdout
    before = drafted.split("hanges before the break", 1)[1]
    next_heading = re.search(r"\n#+ ", before)
    section = before[: next_heading.start()] if next_heading else before
    assert f"deploy {breaking_deploy}".lower() in section.lower(), section
    assert "aws_cognito_user_pool.main" in section, section


def test_a_hotfix_that_arrives_last_runs_first(cast: Cast, tmp_path: Path) -> None:
    apply = ["--", sys.executable, "-m", "signalbox.demo.apply"]
    done = tmp_path / "frontend-done"
    running = cast.start(
        "ci", *ROUTINE_GATE, *apply, "before", "--until", str(done), branch="frontend"
    )
    running.wait_for(r"^go: ")
    queued = []
    for branch in ("feature-b", "feature-c"):
        gate = cast.start("ci", *ROUTINE_GATE, "--wait", "5m", *apply, "before", branch=branch)
        gate.wait_for(r"^waiting")
        queued.append(gate)
    opened = cast.run(
        "alice", "incident", "open", "dev", "--title", "slow logins", "--severity", "sev3"
    )
    number = re.search(r"[Ii]ncident (\d+)", opened.stdout + opened.stderr).group(1)  # type: ignore[union-attr]
    hotfix = cast.start(
        "alice", *ROUTINE_GATE, "--hotfix", number, "--wait", "5m", *apply, "before",
        branch="fix-logins",
    )  # fmt: skip
    hotfix.wait_for(r"^waiting")
    done.write_text("done")
    for gate in (running, hotfix, *queued):
        assert gate.finish() == 0, gate.seen
    newest_first = [event["data"]["branch"] for event in _events(cast, "deploy.started")]
    assert newest_first[::-1] == ["frontend", "fix-logins", "feature-b", "feature-c"]


def test_the_demo_replays_the_story_and_leaves_nothing_behind() -> None:
    before = {p.name for p in Path(tempfile.gettempdir()).glob("signalbox-demo-*")}
    lines: list[str] = []
    with demo_server(lines.append) as cast:
        markdown = play(cast, say=lines.append)
        url = cast.url
    told = "\n".join(lines)
    assert "exit 75" in told and "users cannot log in" in told
    assert "aws_cognito_user_pool.main" in markdown
    after = {p.name for p in Path(tempfile.gettempdir()).glob("signalbox-demo-*")}
    assert after == before
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "/healthz", timeout=2)

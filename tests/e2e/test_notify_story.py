"""Nobody is left in silence: the story against a real `signalbox serve` with a [[notify]]
``json://`` target to a real loopback receiver. Every step goes through the real `signalbox`
commands, each person with their own token (``signalbox.demo.story.Cast``): the COO books the
investor demo; CI's gate brings the plan that destroys the user pool, lead2 approves it and it
is applied; alice opens an incident, posts an update with an ETA and resolves it. Each reaches
the receiver, in order, in words people read, with a link and the event id."""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.support.receivers import HttpReceiver, Post
from tests.support.servers import create_token

from signalbox.demo.story import CAST, COGNITO_PLAN, CONFIG, Cast
from signalbox.testing import ServerProcess

pytestmark = pytest.mark.slow

ADMIN = "sbx_notify-story-admin"
NOTIFY = """
[[notify]]
name = "dev-channel"
urls_env = "SIGNALBOX_NOTIFY_DEV"
environments = ["dev"]
"""
TIME = r"(?:\w{3} \d{1,2} \w{3} )?\d\d:\d\d CET"  # a day is named when not today


@contextlib.contextmanager
def story_server(folder: Path, receiver: HttpReceiver) -> Iterator[Cast]:
    """The demo's configuration with a notification target to ``receiver``, and its cast
    (with lead2, a second approver) holding their tokens."""
    config = folder / "signalbox.toml"
    config.write_text(CONFIG + NOTIFY)
    env = {
        "SIGNALBOX_DATABASE_URL": f"sqlite:///{folder / 'story.db'}",
        "SIGNALBOX_ADMIN_TOKEN": ADMIN,
        "SIGNALBOX_NOTIFY_DEV": receiver.url("json", "/hooks/dev-channel"),
    }
    lines: list[str] = []
    with ServerProcess(config=config, env=env, log=folder / "server.log") as server:
        cast = Cast(server.url, say=lines.append)
        for name, (grant, is_ci) in {**CAST, "lead2": ("approver:dev", False)}.items():
            cast.tokens[name] = create_token(server.url, ADMIN, name, [grant], ci=is_ci)
        yield cast


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def titled(title: str):  # type: ignore[no-untyped-def]
    return lambda post: post.title == title


def test_the_apply_the_demo_and_the_incident_reach_the_receiver(tmp_path: Path) -> None:
    with HttpReceiver() as receiver, story_server(tmp_path, receiver) as cast:
        now = datetime.now(UTC)
        cast.run(
            "coo", "reserve", "dev", "--from", iso(now + timedelta(minutes=45)),
            "--to", iso(now + timedelta(minutes=105)), "--reason", "investor demo",
        )  # fmt: skip
        destroying = cast.start(
            "ci", "gate", "--env", "dev", "--plan", str(COGNITO_PLAN), "--wait", "2m",
            "--", sys.executable, "-m", "signalbox.demo.apply", "after", branch="rename-pool",
        )  # fmt: skip
        asked = destroying.wait_for(r"approve with `signalbox approve (\d+)`")
        deploy = asked.group(1)
        waiting = receiver.wait_for_post(titled("dev: plan waits for approval"))
        cast.run("lead2", "approve", deploy)
        assert destroying.finish() == 0, destroying.seen

        opened = cast.run(
            "alice", "incident", "open", "dev", "--title", "users cannot log in",
            "--severity", "sev1",
        )  # fmt: skip
        found = re.search(r"[Ii]ncident (\d+)", opened.stdout + opened.stderr)
        assert found is not None, opened.stdout
        incident = found.group(1)
        cast.run(
            "alice", "incident", "update", incident, "--status", "identified", "--eta", "20m",
            "--note", "the pool was destroyed by a rename; restoring it",
        )  # fmt: skip
        cast.run("alice", "incident", "resolve", incident, "--note", "user pool restored")
        resolved = receiver.wait_for_post(titled("dev: incident resolved"), timeout=30)
        posts = list(receiver.posts)
        base = cast.url

    def one(title: str) -> Post:
        [post] = [post for post in posts if post.title == title]
        return post

    reserved = one("dev: reservation created")
    assert re.fullmatch(
        f"coo reserved dev from {TIME} to {TIME}: investor demo.", reserved.sentence
    )
    assert re.fullmatch(
        rf"Deploy {deploy} \(rename-pool @ [0-9a-f]{{7}}\) to dev has a plan that needs "
        rf"approval; it waits for an approver other than ci \(`signalbox approve {deploy}`\)\.",
        waiting.sentence,
    )
    assert (
        one("dev: plan approved").sentence == f"lead2 approved the plan of deploy {deploy} to dev."
    )
    started = one("dev: apply started")
    assert re.fullmatch(
        rf"Deploy {deploy} \(rename-pool @ [0-9a-f]{{7}}\) to dev started by ci: destroys "
        r"aws_cognito_user_pool\.main; replaces aws_cognito_user_pool_client\.web: approved by "
        r"lead2 \(fencing token \d+\)\.",
        started.sentence,
    ), started.sentence
    assert "destroys aws_cognito_user_pool.main" in started.sentence
    assert started.message.split("\n")[1] == f"{base}/deploys/{deploy}"
    finished = one("dev: apply succeeded")
    assert re.fullmatch(
        rf"Deploy {deploy} \(rename-pool @ [0-9a-f]{{7}}\) to dev succeeded \(exit code 0, "
        r"[0-9hms]+\); dev is free\.",
        finished.sentence,
    ), finished.sentence

    assert one("dev: incident opened").sentence == (
        f'alice opened incident {incident} (sev1) on dev: "users cannot log in", led by alice. '
        "dev is frozen: only its hotfixes deploy."
    )
    updated = one("dev: incident updated")
    assert re.fullmatch(
        rf"Incident {incident} on dev \(users cannot log in\), update by alice: identified, "
        rf"ETA {TIME}: the pool was destroyed by a rename; restoring it\.",
        updated.sentence,
    ), updated.sentence
    assert re.fullmatch(
        rf'alice resolved incident {incident} on dev \("users cannot log in"\) after [0-9hms]+: '
        r"user pool restored\. dev is open again\.",
        resolved.sentence,
    ), resolved.sentence
    assert resolved.message.split("\n")[1] == f"{base}/incidents/{incident}"

    at_risk = one("dev: reservation at risk")
    assert re.fullmatch(
        rf"coo's reservation of dev \(investor demo, {TIME} to {TIME}\) is at risk: incident "
        rf'{incident} \("users cannot log in"\) is open on dev\.',
        at_risk.sentence,
    ), at_risk.sentence

    # in order, each once, each with its event id
    assert [post.title for post in posts] == [
        "dev: reservation created",
        "dev: plan waits for approval",
        "dev: plan approved",
        "dev: apply started",
        "dev: apply succeeded",
        "dev: incident opened",
        "dev: reservation at risk",
        "dev: incident updated",
        "dev: incident resolved",
    ]
    ids = [post.event_id for post in posts]
    assert None not in ids and ids == sorted(set(ids))  # type: ignore[type-var]
    for post in posts:
        assert post.message.endswith(f"\nsignalbox event {post.event_id}")
        assert post.message.split("\n")[1].startswith(f"{base}/")
    assert {post.path for post in posts} == {"/hooks/dev-channel"}

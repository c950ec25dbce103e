"""The story of DESIGN.md, replayed against a temporary server and told step by step.

``play`` runs every step through the real `signalbox` commands, as each person would with
their own token: the engineer's hold refuses CI; the COO's demo window refuses a 17-minute
deploy; the plan that destroys the user pool waits for an approval; then the apply that
happened anyway breaks dev, an incident opens, the other CI jobs queued for dev are refused
at once, the hotfix jumps the queue, the incident is resolved and the postmortem is drafted.

``Demo`` starts a `signalbox serve` on a loopback port with a SQLite file in a temporary
directory and removes both when it ends: the demo leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import httpx

from signalbox.local_server import ServerProcess

__all__ = ["CONFIG", "Cast", "StoryFailed", "demo_server", "play"]

CONFIG = """
[environments.dev]
timezone = "Europe/Berlin"
expected_deploy = "17m"

[environments.dev.policy]
stateful-destroy = "needs-approval"
"""
"""dev as in the story: in Berlin, a 17-minute deploy, destroying stateful resources needs
an approval."""

CAST = {
    "platform-eng": ("developer:dev", False),
    "coo": ("stakeholder:dev", False),
    "ci": ("developer:dev", True),
    "lead": ("approver:dev", False),
    "alice": ("developer:dev", False),
}
"""Who plays: the engineer, the COO (may book, may not deploy), CI, an approver, and alice,
who is on call and leads the incident."""

Say = Callable[[str], None]


class StoryFailed(RuntimeError):
    """A step did not go as the story says (a bug in signalbox, or a broken set-up)."""


def _plan(name: str) -> Path:
    return Path(str(resources.files("signalbox") / "data" / "demo" / name))


ROUTINE_PLAN = _plan("routine-frontend-change.json")
COGNITO_PLAN = _plan("cognito-renamed-without-moved.json")
ROUTINE_GATE = ("gate", "--env", "dev", "--plan", str(ROUTINE_PLAN))


@dataclass
class Cast:
    """Runs `signalbox ...` as each person, with their own token, against ``url``."""

    url: str
    tokens: dict[str, str] = field(default_factory=dict)
    say: Say = print

    def env(self, who: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "CI_"))}
        return {
            **clean,
            "SIGNALBOX_URL": self.url,
            "SIGNALBOX_TOKEN": self.tokens[who],
            "COLUMNS": "200",
            **(extra or {}),
        }

    def run(
        self, who: str, *args: str, expect: int | None = 0, show: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a command to its end, show it and its output, check its exit code."""
        if show:
            self.say(f"  [{who}] $ signalbox {_shown(args)}")
        done = subprocess.run(
            [sys.executable, "-m", "signalbox", *args],
            env=self.env(who),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if show:
            for line in (done.stdout + done.stderr).splitlines():
                self.say(f"      {line}")
        if expect is not None and done.returncode != expect:
            raise StoryFailed(
                f"`signalbox {_shown(args)}` as {who} exited {done.returncode}, not {expect}:\n"
                f"{done.stdout}{done.stderr}"
            )
        return done

    def terraform(self, who: str, version: str) -> None:
        """``who`` runs Terraform from a laptop: it writes dev's state through signalbox."""
        self.say(f"  [{who}] $ terraform apply      (writes dev's state through signalbox)")
        done = subprocess.run(
            [sys.executable, "-m", "signalbox.demo.apply", version],
            env=self.env(who),
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise StoryFailed(f"{who}'s state write failed: {done.stderr}")

    def start(self, who: str, *args: str, branch: str = "main", show: bool = True) -> Gate:
        """Start a command (a gate) in the background; its stderr is read line by line."""
        if show:
            self.say(f"  [{who}, branch {branch}] $ signalbox {_shown(args)} &")
        ci = {
            "GITHUB_ACTIONS": "true",
            "GITHUB_SHA": secrets.token_hex(20),
            "GITHUB_REF_NAME": branch,
            "GITHUB_ACTOR": who,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "signalbox", *args],
            env=self.env(who, ci),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        gate = Gate(who, branch, process)
        gate.reader.start()
        return gate


@dataclass
class Gate:
    """A gate running in the background, its stderr lines as they come."""

    who: str
    branch: str
    process: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)
    seen: list[str] = field(default_factory=list)
    reader: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self.reader = threading.Thread(target=self.read, daemon=True)

    def read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found
        said = "\n".join(self.seen)
        raise StoryFailed(f"{self.who}'s gate on {self.branch} never said {pattern!r}:\n{said}")

    def finish(self, timeout: float = 60) -> int:
        """Wait for the gate to end; its remaining lines are then in ``seen``."""
        code = self.process.wait(timeout=timeout)
        self.reader.join(timeout=timeout)
        while not self.lines.empty():
            self.seen.append(self.lines.get_nowait())
        return code


def _shown(args: Sequence[str]) -> str:
    """The command as people would type it: the demo's paths shortened."""
    shown = []
    for arg in args:
        if arg == sys.executable:
            shown.append("python")
        elif arg.endswith(".json") and os.sep in arg:
            shown.append(Path(arg).name)
        else:
            shown.append(f'"{arg}"' if " " in arg else arg)
    return " ".join(shown)


def _apply(version: str, *extra: str) -> list[str]:
    """The deploy command: the demo's stand-in for terraform apply (signalbox.demo.apply)."""
    return ["--", sys.executable, "-m", "signalbox.demo.apply", version, *extra]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@contextlib.contextmanager
def demo_server(say: Say = print) -> Iterator[Cast]:
    """A temporary server on loopback with the story's people; everything removed after."""
    admin = "sbx_demo-" + secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="signalbox-demo-") as folder:
        config = Path(folder) / "signalbox.toml"
        config.write_text(CONFIG)
        env = {
            "SIGNALBOX_DATABASE_URL": f"sqlite:///{Path(folder) / 'demo.db'}",
            "SIGNALBOX_ADMIN_TOKEN": admin,
        }
        with ServerProcess(config=config, env=env, log=Path(folder) / "server.log") as server:
            cast = Cast(server.url, say=say)
            for name, (grant, is_ci) in CAST.items():
                answer = httpx.post(
                    f"{server.url}/api/tokens",
                    headers={"Authorization": f"Bearer {admin}"},
                    json={"name": name, "grants": [grant], "ci": is_ci},
                    timeout=30,
                )
                answer.raise_for_status()
                cast.tokens[name] = str(answer.json()["token"])
            yield cast


def play(cast: Cast, *, say: Say = print, pause: Callable[[], None] = lambda: None) -> str:
    """The whole story; returns the postmortem's Markdown."""
    folder = Path(tempfile.mkdtemp(prefix="signalbox-demo-run-"))
    try:
        return _play(cast, say, pause, folder)
    finally:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


def _step(say: Say, pause: Callable[[], None], title: str, *lines: str) -> None:
    pause()
    say("")
    say(f"== {title}")
    for line in lines:
        say(f"   {line}")


def _play(cast: Cast, say: Say, pause: Callable[[], None], folder: Path) -> str:
    _step(
        say,
        pause,
        "The engineer holds dev while he renames resources from his laptop.",
        "From now on CI (and Terraform itself) is refused, and told by whom and why.",
    )
    cast.run("platform-eng", "hold", "dev", "--reason", "renaming cognito pool", "--for", "4h")
    cast.terraform("platform-eng", "before")
    cast.run(
        "ci", "gate", "--env", "dev", "--plan", str(ROUTINE_PLAN), *_apply("before"), expect=75
    )

    _step(
        say,
        pause,
        "The COO books the investor demo on dev. The engineer releases dev.",
        "A deploy takes about 17 minutes here: one started now would still run when the demo",
        "begins, so the gate refuses it and says when it could go.",
    )
    now = datetime.now(UTC)
    cast.run(
        "coo", "reserve", "dev", "--from", _iso(now + timedelta(minutes=10)),
        "--to", _iso(now + timedelta(minutes=70)), "--reason", "investor demo",
    )  # fmt: skip
    cast.run("platform-eng", "release", "dev")
    cast.run(
        "ci", "gate", "--env", "dev", "--plan", str(ROUTINE_PLAN), *_apply("before"), expect=75
    )
    _step(say, pause, "The COO moves the demo to later that afternoon.")
    demo = cast.run("coo", "reservations", "--env", "dev", "--json", show=False)
    ident = re.search(r'"id":\s*(\d+)', demo.stdout)
    if ident is None:
        raise StoryFailed(f"no reservation in: {demo.stdout}")
    cast.run("coo", "cancel-reservation", ident.group(1))
    cast.run(
        "coo", "reserve", "dev", "--from", _iso(now + timedelta(minutes=45)),
        "--to", _iso(now + timedelta(minutes=105)), "--reason", "investor demo",
    )  # fmt: skip

    _step(
        say,
        pause,
        "CI's next plan destroys the user pool (a rename without a `moved` block).",
        "It does not go by itself: it waits for an approver, naming what it destroys.",
    )
    destroying = cast.start(
        "ci", "gate", "--env", "dev", "--plan", str(COGNITO_PLAN), "--wait", "5m",
        *_apply("after"), branch="rename-pool",
    )  # fmt: skip
    asked = destroying.wait_for(r"approve with `signalbox approve (\d+)`")
    for line in destroying.seen:
        say(f"      {line}")
    _step(
        say,
        pause,
        "And yet it happened anyway: an approver, in a hurry, approves it. The pool is gone.",
    )
    cast.run("lead", "approve", asked.group(1), "--reason", "looks like a rename")
    if destroying.finish() != 0:
        raise StoryFailed("the approved deploy did not run:\n" + "\n".join(destroying.seen))

    _step(
        say,
        pause,
        "Other CI jobs keep coming: a long frontend deploy runs, three more queue behind it.",
    )
    done_marker = folder / "frontend-deploy-done"
    running = cast.start(
        "ci", "gate", "--env", "dev", "--plan", str(ROUTINE_PLAN),
        *_apply("after", "--until", str(done_marker)), branch="frontend",
    )  # fmt: skip
    running.wait_for(r"^go: ")
    queued = []
    for branch in ("feature-b", "feature-c", "feature-d"):
        gate = cast.start(
            "ci", "gate", "--env", "dev", "--plan", str(ROUTINE_PLAN), "--wait", "10m",
            *_apply("after"), branch=branch,
        )  # fmt: skip
        gate.wait_for(r"^waiting")
        queued.append(gate)
    say(f"      {len(queued)} gates wait in the queue for dev, behind the frontend deploy.")

    _step(
        say,
        pause,
        "Users cannot log in. alice, on call, opens an incident: dev freezes.",
        "The queued CI jobs are refused at once and free the runner for the fix.",
    )
    opened = cast.run(
        "alice", "incident", "open", "dev", "--title", "users cannot log in", "--severity", "sev1"
    )
    number = re.search(r"[Ii]ncident (\d+)", opened.stdout + opened.stderr)
    if number is None:
        raise StoryFailed(f"no incident number in: {opened.stdout}{opened.stderr}")
    incident = number.group(1)
    for gate in queued:
        code = gate.finish()
        refusal = next((line for line in gate.seen if line.startswith("refused")), "")
        say(f"      [{gate.branch}] exit {code}: {refusal}")
        if code != 75:
            raise StoryFailed(f"the queued gate on {gate.branch} exited {code}, not 75")
    say("")
    say("   A pipeline's first step, preflight, now ends a job before it builds anything:")
    cast.run("ci", "preflight", "--env", "dev", "--plan", str(ROUTINE_PLAN), expect=75)

    _step(say, pause, "alice posts what is known, with an ETA; people stop asking.")
    cast.run(
        "alice", "incident", "update", incident, "--status", "identified", "--eta", "20m",
        "--note", "the pool was destroyed by a rename; restoring it",
    )  # fmt: skip

    _step(
        say,
        pause,
        f"The fix jumps the queue: `gate --hotfix {incident}`, allowed for the incident's team.",
        "It still never runs beside another deploy: it waits for the frontend deploy.",
    )
    hotfix = cast.start(
        "alice", "gate", "--env", "dev", "--hotfix", incident, "--plan", str(ROUTINE_PLAN),
        "--wait", "5m", *_apply("restored"), branch="restore-pool",
    )  # fmt: skip
    hotfix.wait_for(r"^waiting")
    for line in hotfix.seen:
        say(f"      {line}")
    done_marker.write_text("done")
    if running.finish() != 0:
        raise StoryFailed("the frontend deploy failed:\n" + "\n".join(running.seen))
    shown = len(hotfix.seen)
    code = hotfix.finish()
    for line in hotfix.seen[shown:]:
        say(f"      [restore-pool] {line}")
    if code != 0:
        raise StoryFailed("the hotfix failed:\n" + "\n".join(hotfix.seen))

    _step(say, pause, "The pool is back. alice resolves the incident: dev is open again.")
    cast.run("alice", "incident", "resolve", incident, "--note", "user pool restored")
    cast.run("ci", "preflight", "--env", "dev", "--plan", str(ROUTINE_PLAN))

    _step(say, pause, "The postmortem, drafted from what happened:")
    drafted = cast.run("alice", "postmortem", incident, show=False)
    say(drafted.stdout)
    return drafted.stdout

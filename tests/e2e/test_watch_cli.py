"""`signalbox watch` as a real process against real `signalbox serve` processes: a line per
new event in the environment's zone (only that environment's), --json lines, the errors of a
bad start, Ctrl-C ends it quietly with 0, and when its server goes away and comes back it
carries on from the last event it printed, so an event written meanwhile (through a second
server on the same database) is printed, once."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import pytest
from tests.support.servers import STORY_CONFIG, create_token, run_cli, story_server

from signalbox.local_server import free_port
from signalbox.testing import ServerProcess

ADMIN = "sbx_e2e-watch-admin"
DEADLINE = 20.0


class Watch:
    """`signalbox watch ARGS` as a process; its stdout and stderr lines read in threads, so
    a test waits for a line with a deadline (never a sleep)."""

    def __init__(self, url: str, *args: str, token: str = ADMIN) -> None:
        env = {**os.environ, "SIGNALBOX_URL": url, "SIGNALBOX_TOKEN": token}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "signalbox", "watch", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.out: queue.Queue[str | None] = queue.Queue()
        self.err: queue.Queue[str | None] = queue.Queue()
        self.stderr_seen: list[str] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        for pipe, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=self._pump, args=(pipe, lines), daemon=True).start()

    @staticmethod
    def _pump(pipe: IO[str], lines: queue.Queue[str | None]) -> None:
        for line in pipe:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    @staticmethod
    def _next(lines: queue.Queue[str | None], what: str) -> str:
        try:
            line = lines.get(timeout=DEADLINE)
        except queue.Empty:
            raise AssertionError(f"no {what} line within {DEADLINE}s") from None
        assert line is not None, f"the watch ended before a {what} line"
        return line

    def line(self) -> str:
        """The next line on standard output."""
        return self._next(self.out, "stdout")

    def said(self, text: str) -> str:
        """Wait for a standard error line containing ``text``."""
        while True:
            line = self._next(self.err, "stderr")
            self.stderr_seen.append(line)
            if text in line:
                return line

    def interrupt(self) -> tuple[int, str]:
        """Ctrl-C; the exit code and what else it wrote on standard error."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(DEADLINE)
        rest: list[str] = []
        while (line := self.err.get(timeout=DEADLINE)) is not None:
            rest.append(line)
        return code, "\n".join(rest)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(DEADLINE)


@pytest.fixture
def watching() -> Iterator[list[Watch]]:
    started: list[Watch] = []
    yield started
    for watch in started:
        watch.kill()


def start(watching: list[Watch], url: str, *args: str, token: str = ADMIN) -> Watch:
    watch = Watch(url, *args, token=token)
    watching.append(watch)
    return watch


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with story_server(tmp_path_factory.mktemp("e2e-watch"), ADMIN) as running:
        yield running


def signalbox(server: ServerProcess, *args: str) -> None:
    done = run_cli(server.url, ADMIN, *args)
    assert done.returncode == 0, done.stderr


LINE = re.compile(r"^(\d\d):(\d\d) (\S+) (\S+) (.*)$")


def test_a_line_per_new_event_of_the_environment_in_its_zone_and_ctrl_c_exits_0(server, watching):
    watch = start(watching, server.url, "dev")
    assert watch.said("Watching dev") == "Watching dev (Ctrl-C to stop)."
    signalbox(server, "hold", "dev", "--reason", "renaming the pool", "--for", "2h")
    signalbox(server, "hold", "prod", "--reason", "not this one", "--for", "1h")
    signalbox(server, "release", "dev")

    granted = LINE.match(watch.line())
    assert granted, "not HH:MM ENV KIND MESSAGE"
    hour, minute, environment, kind, message = granted.groups()
    assert (environment, kind) == ("dev", "hold.granted")
    assert message.startswith("bootstrap-admin held dev for 2h (until ")
    assert message.endswith("): renaming the pool.")
    berlin = datetime.now(UTC).astimezone(ZoneInfo("Europe/Berlin"))
    shown = berlin.replace(hour=int(hour), minute=int(minute))
    assert abs((berlin - shown).total_seconds()) < 120  # told in dev's zone, now
    released = watch.line()  # prod's hold is not in this watch
    assert " dev hold.released " in released

    code, rest = watch.interrupt()
    assert code == 0 and "Traceback" not in rest and "Abort" not in rest
    signalbox(server, "release", "prod")


def test_json_prints_each_event_as_one_line(server, watching):
    watch = start(watching, server.url, "--json")
    watch.said("Watching every environment you may read")
    signalbox(server, "hold", "prod", "--reason", "maintenance", "--for", "1h")
    event = json.loads(watch.line())
    assert (event["kind"], event["environment"], event["timezone"]) == (
        "hold.granted",
        "prod",
        "UTC",
    )
    assert event["message"].startswith("bootstrap-admin held prod for 1h")
    signalbox(server, "release", "prod")
    assert json.loads(watch.line())["kind"] == "hold.released"
    assert watch.interrupt()[0] == 0


def test_a_bad_start_says_why_with_the_documented_exit_code(server, watching, tmp_path):
    unknown = run_cli(server.url, ADMIN, "watch", "nope")
    assert unknown.returncode == 2 and "UnknownEnvironment" in unknown.stderr
    prod_viewer = create_token(server.url, ADMIN, "watch-prod-viewer", ["viewer:prod"])
    refused = run_cli(server.url, prod_viewer, "watch", "dev")
    assert refused.returncode == 77 and "viewer:dev" in refused.stderr
    nobody = run_cli(f"http://127.0.0.1:{free_port()}", ADMIN, "watch")
    assert nobody.returncode == 1 and "ServerUnreachable" in nobody.stderr


def test_it_carries_on_after_its_server_comes_back_without_missing_an_event(
    tmp_path: Path, watching
):
    config = tmp_path / "signalbox.toml"
    config.write_text(STORY_CONFIG)
    env = {
        "SIGNALBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'signalbox.db'}",
        "SIGNALBOX_ADMIN_TOKEN": ADMIN,
    }
    first = ServerProcess(config=config, env=env, log=tmp_path / "a.log").start()
    other = ServerProcess(config=config, env=env, log=tmp_path / "b.log").start()
    try:
        watch = start(watching, first.url, "dev")
        watch.said("Watching dev")
        signalbox(first, "hold", "dev", "--reason", "before", "--for", "1h")
        assert " dev hold.granted " in watch.line()

        first.stop()
        watch.said("connecting again")  # lost, or ended by the server as it stopped
        signalbox(other, "release", "dev")  # written while the watch is away
        first.start()  # the same port
        watch.said("Watching again dev")
        assert " dev hold.released " in watch.line()  # resumed after the last one printed
        signalbox(first, "hold", "dev", "--reason", "after", "--for", "1h")
        after = watch.line()
        assert " dev hold.granted " in after and after.endswith("): after.")
        assert watch.interrupt()[0] == 0
    finally:
        other.stop()
        first.stop()

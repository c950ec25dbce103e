"""The CLI's words against a real `signalbox serve`: tokens told in the CLI's terms,
durations as typed, and tables printed whole into a pipe (a CI log)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from tests.support.servers import story_server

ADMIN = "sbx_words-admin"
LONG_HOLDER = "platform-engineering-" + "x" * 99  # 120 characters, a valid token name
LONG_REASON = "rotating the database credentials of every service, " * 3


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with story_server(tmp_path_factory.mktemp("cli-words"), ADMIN) as running:
        yield running


def signalbox(server, *args: str, token: str | None = ADMIN) -> subprocess.CompletedProcess[str]:
    """The real command, its output a pipe, in an 80-column CI job."""
    env = {k: v for k, v in os.environ.items() if k not in ("SIGNALBOX_TOKEN", "SIGNALBOX_URL")}
    env.update(SIGNALBOX_URL=server.url, COLUMNS="80")
    if token is not None:
        env["SIGNALBOX_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "signalbox", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def token_for(server, name: str, *grants: str) -> str:
    created = signalbox(server, "token", "create", name, *(f"--grant={g}" for g in grants))
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


# ------------------------------------------------------------------------------ tokens


def test_without_a_token_the_cli_says_which_variable_and_flag_to_set(server) -> None:
    refused = signalbox(server, "status", token=None)
    assert refused.returncode != 0
    assert refused.stderr.strip() == (
        "Unauthenticated: No token: set SIGNALBOX_TOKEN or pass --token (ask an admin for "
        "one: `signalbox token create`)."
    )


def test_a_token_the_server_does_not_know_is_told_as_such(server) -> None:
    refused = signalbox(server, "status", token="sbx_not-a-token-of-this-server")
    assert refused.returncode != 0
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith(
        f"Unauthenticated: The server at {server.url} does not accept your token "
        "(SIGNALBOX_TOKEN or --token): it is unknown there, revoked or expired."
    )
    assert "Bearer" not in line and "Authorization" not in line


def test_a_revoked_token_is_told_in_the_same_words(server) -> None:
    viewer = token_for(server, "soon-revoked", "viewer:dev")
    assert signalbox(server, "status", token=viewer).returncode == 0
    assert signalbox(server, "token", "revoke", "soon-revoked").returncode == 0
    refused = signalbox(server, "status", token=viewer)
    assert "does not accept your token" in refused.stderr and "Bearer" not in refused.stderr


# ------------------------------------------------------------------------------ durations


def test_a_hold_too_long_is_told_as_typed(server) -> None:
    refused = signalbox(server, "hold", "dev", "--reason", "long", "--for", "15d")
    assert refused.returncode == 2, refused.stderr
    assert "at most 14d, not 15d." in refused.stderr
    assert "0:00:00" not in refused.stderr and "days," not in refused.stderr


@pytest.mark.parametrize(
    ("typed", "why"), [("1h1h", "Write each unit once"), ("30m1h", "largest first")]
)
def test_a_duration_with_repeated_or_misordered_units_is_refused(server, typed, why) -> None:
    refused = signalbox(server, "hold", "prod", "--reason", "x", "--for", typed)
    assert refused.returncode == 2, refused.stderr
    assert f"'{typed}' is not a duration." in refused.stderr and why in refused.stderr


# ------------------------------------------------------------------------------ tables


def _whole_lines(output: str) -> list[str]:
    lines = output.splitlines()
    assert [line for line in lines if line != line.rstrip()] == [], "trailing spaces"
    return lines


def test_tables_in_a_pipe_show_whole_names_on_one_line(server) -> None:
    holder = token_for(server, LONG_HOLDER, "developer:prod")
    held = signalbox(server, "hold", "prod", "--reason", LONG_REASON, "--for", "1h", token=holder)
    assert held.returncode == 0, held.stderr
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    reserved = signalbox(
        server, "reserve", "dev", "--from", starts.isoformat(),
        "--to", (starts + timedelta(hours=1)).isoformat(), "--reason", LONG_REASON,
    )  # fmt: skip
    assert reserved.returncode == 0, reserved.stderr

    status = _whole_lines(signalbox(server, "status").stdout)
    [prod] = [line for line in status if line.split()[:1] == ["prod"]]
    assert LONG_HOLDER in prod and LONG_REASON.strip() in prod

    tokens = _whole_lines(signalbox(server, "token", "list").stdout)
    assert any(line.split()[:1] == [LONG_HOLDER] for line in tokens)

    events = _whole_lines(signalbox(server, "events", "--env", "prod").stdout)
    assert any(LONG_HOLDER in line and "hold.granted" in line for line in events)

    reservations = _whole_lines(signalbox(server, "reservations").stdout)
    assert any(LONG_REASON.strip() in line for line in reservations)

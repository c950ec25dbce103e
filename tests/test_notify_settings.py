"""The ``[[notify]]`` tables: what a good one gives, and every bad one stops the load (and a
real `signalbox serve`) with the key named, never with a URL, since URLs carry secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from signalbox.core.errors import ConfigError
from signalbox.core.notify import DEFAULT_EVENTS
from signalbox.local_server import free_port
from signalbox.notify_settings import NotifyTarget
from signalbox.services.notify.targets import build_targets
from signalbox.settings import Settings, load_settings

SECRET = "hunter2-Zq81-webhook"
GOOD_URL = f"json://signalbox:{SECRET}@127.0.0.1:9/hooks/{SECRET}-path"
BAD_URL = f"notaservice://{SECRET}@hooks.example.com/{SECRET}-path?token={SECRET}-query"

ENVIRONMENTS = """
[environments.dev]
timezone = "Europe/Berlin"

[environments.prod]
"""


def write(tmp_path: Path, notify: str) -> Path:
    path = tmp_path / "signalbox.toml"
    path.write_text(notify + ENVIRONMENTS, encoding="utf-8")
    return path


def load(tmp_path: Path, notify: str, environ: dict[str, str] | None = None):
    return load_settings(write(tmp_path, notify), environ=environ or {})


def said(error: ConfigError) -> str:
    return f"{error.message} {error.hint}"


def test_a_target_from_the_environment_and_the_file_with_its_scope(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        f"""
[[notify]]
name = "dev-channel"
urls_env = "SIGNALBOX_NOTIFY_DEV"
urls = ["{GOOD_URL}"]
environments = ["dev"]
events = ["deploy.*", "incident.*"]

[[notify]]
name = "everyone"
urls = ["form://127.0.0.1:9/all"]
""",
        {
            "SIGNALBOX_NOTIFY_DEV": "json://127.0.0.1:9/a  mailto://127.0.0.1:25?from=sb@example.com&to=x@example.com"
        },
    )
    dev, everyone = settings.notify
    assert dev.name == "dev-channel" and dev.urls_env == "SIGNALBOX_NOTIFY_DEV"
    assert dev.urls == (
        GOOD_URL,
        "json://127.0.0.1:9/a",
        "mailto://127.0.0.1:25?from=sb@example.com&to=x@example.com",
    )
    assert dev.environments == ("dev",) and dev.events == ("deploy.*", "incident.*")
    assert everyone.environments is None and everyone.events == DEFAULT_EVENTS
    targets = build_targets(settings)
    assert list(targets) == ["dev-channel", "everyone"]
    assert targets["dev-channel"].wants("deploy.started", "dev")
    assert not targets["dev-channel"].wants("deploy.started", "prod")
    assert not targets["dev-channel"].wants("hold.granted", "dev")
    assert targets["everyone"].wants("hold.granted", None)
    assert not targets["everyone"].wants("state.written", "dev")


def test_the_urls_are_never_in_a_targets_repr(tmp_path: Path) -> None:
    settings = load(tmp_path, f'[[notify]]\nname = "x"\nurls = ["{GOOD_URL}"]\n')
    shown = repr(settings.notify[0]) + repr(build_targets(settings))
    assert SECRET not in shown and "<1 hidden>" in shown


@pytest.mark.parametrize(
    ("notify", "environ", "says"),
    [
        pytest.param(
            f'[[notify]]\nname = "dev-channel"\nurls = ["{GOOD_URL}"]\n'
            'events = ["deploy.*", "holds.*"]\n',
            {}, ["notify.dev-channel.events", "holds.*"], id="unknown-kind-glob",
        ),
        pytest.param(
            f'[[notify]]\nname = "dev-channel"\nurl = "{GOOD_URL}"\n',
            {}, ["notify.dev-channel", "url"], id="unknown-key",
        ),
        pytest.param(
            f'[[notify]]\nname = "dev-channel"\nurls = ["{GOOD_URL}"]\nenvironments = ["stagin"]\n',
            {}, ["notify.dev-channel.environments", "stagin", "dev, prod"], id="unknown-env",
        ),
        pytest.param(
            '[[notify]]\nname = "dev-channel"\nurls_env = "SIGNALBOX_NOTIFY_DEV"\n',
            {}, ["notify.dev-channel.urls_env", "SIGNALBOX_NOTIFY_DEV", "not set"],
            id="unset-urls-env",
        ),
        pytest.param(
            f'[[notify]]\nname = "dev-channel"\nurls = ["{GOOD_URL}"]\n'
            f'[[notify]]\nname = "dev-channel"\nurls = ["{GOOD_URL}"]\n',
            {}, ["dev-channel", "Two [[notify]] targets"], id="duplicate-names",
        ),
        pytest.param(
            f'[notify]\nname = "dev-channel"\nurls = ["{GOOD_URL}"]\n',
            {}, ["notify must be an array", "[[notify]]"], id="not-an-array",
        ),
        pytest.param(
            '[[notify]]\nname = "dev-channel"\nurls_env = "SIGNALBOX_NOTIFY_DEV"\n',
            {"SIGNALBOX_NOTIFY_DEV": "  "}, ["notify.dev-channel has no URL"], id="no-url",
        ),
        pytest.param(
            f'[[notify]]\nurls = ["{GOOD_URL}"]\n', {}, ["notify[0].name"], id="no-name",
        ),
        pytest.param(
            f'[[notify]]\nname = "Dev Channel"\nurls = ["{GOOD_URL}"]\n',
            {}, ["notify[0].name", "'Dev Channel'"], id="bad-name",
        ),
        pytest.param(
            f'[[notify]]\nname = "dev-channel"\nurls = "{GOOD_URL}"\n',
            {}, ["notify.dev-channel.urls", "list of strings"], id="urls-not-a-list",
        ),
        pytest.param(
            f'[[notify]]\nname = "dev-channel"\nurls = ["{GOOD_URL}"]\nenvironments = "dev"\n',
            {}, ["notify.dev-channel.environments"], id="environments-not-a-list",
        ),
        pytest.param(
            f'[[notify]]\nname = "dev-channel"\nurls = ["{GOOD_URL}"]\nurls_env = 3\n',
            {}, ["notify.dev-channel.urls_env"], id="urls-env-not-a-name",
        ),
        pytest.param(
            'notify = ["json://x"]\n', {}, ["[[notify]] number 1 must be a table"],
            id="not-a-table",
        ),
        pytest.param(
            f'[[notify]]\nname = "dev-channel"\nurls = ["{GOOD_URL}"]\nenvironments = []\n',
            {}, ["notify.dev-channel.environments is empty"], id="no-environments",
        ),
        pytest.param(
            f'[[notify]]\nname = "dev-channel"\nurls = ["{GOOD_URL}"]\nevents = []\n',
            {}, ["notify.dev-channel.events is empty"], id="no-events",
        ),
    ],
)  # fmt: skip
def test_a_bad_configuration_stops_the_load_with_the_key_named_and_no_url(
    tmp_path: Path, notify: str, environ: dict[str, str], says: list[str]
) -> None:
    with pytest.raises(ConfigError) as stopped:
        load(tmp_path, notify, environ)
    for words in says:
        assert words in said(stopped.value)
    assert SECRET not in said(stopped.value)


@pytest.mark.parametrize("where", ["urls", "urls_env"])
def test_a_url_apprise_cannot_read_stops_build_targets_naming_the_target_not_the_url(
    tmp_path: Path, where: str
) -> None:
    if where == "urls":
        notify = f'[[notify]]\nname = "dev-channel"\nurls = ["{GOOD_URL}", "{BAD_URL}"]\n'
        environ = {}
    else:
        notify = (
            f'[[notify]]\nname = "dev-channel"\nurls = ["{GOOD_URL}"]\n'
            'urls_env = "SIGNALBOX_NOTIFY_DEV"\n'
        )
        environ = {"SIGNALBOX_NOTIFY_DEV": BAD_URL}
    settings = load(tmp_path, notify, environ)  # the URLs' syntax is Apprise's to judge
    with pytest.raises(ConfigError) as stopped:
        build_targets(settings)
    message = said(stopped.value)
    assert "notify.dev-channel: URL 2 of" in message and "notaservice://" in message
    if where == "urls_env":
        assert "urls_env SIGNALBOX_NOTIFY_DEV" in message
    assert SECRET not in message and "hooks.example.com" not in message


def test_every_url_of_a_target_is_checked_not_only_the_first() -> None:
    target = NotifyTarget(
        name="mail", urls=("mailto://127.0.0.1:25?from=sb@example.com&to=x@example.com", "slack://")
    )
    with pytest.raises(ConfigError, match=r"notify\.mail: URL 2 of urls"):
        build_targets(Settings(notify=(target,)))


def serve(tmp_path: Path, notify: str, environ: dict[str, str]) -> subprocess.CompletedProcess:
    """A real `signalbox serve` with this configuration, to its end (it should not start)."""
    config = write(tmp_path, notify)
    env = {
        **os.environ,
        "SIGNALBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'signalbox.db'}",
        **environ,
    }
    command = [sys.executable, "-m", "signalbox", "serve", "--config", str(config)]
    return subprocess.run(
        [*command, "--host", "127.0.0.1", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_does_not_start_with_a_url_apprise_cannot_read_and_never_prints_it(
    tmp_path: Path,
) -> None:
    notify = '[[notify]]\nname = "dev-channel"\nurls_env = "SIGNALBOX_NOTIFY_DEV"\n'
    done = serve(tmp_path, notify, {"SIGNALBOX_NOTIFY_DEV": f"{GOOD_URL} {BAD_URL}"})
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "notify.dev-channel: URL 2 of urls_env SIGNALBOX_NOTIFY_DEV" in output, output
    assert SECRET not in output and "hooks.example.com" not in output, output


def test_serve_does_not_start_with_an_unknown_kind_glob(tmp_path: Path) -> None:
    notify = (
        f'[[notify]]\nname = "dev-channel"\nurls = ["{GOOD_URL}"]\nevents = ["deploy.strated"]\n'
    )
    done = serve(tmp_path, notify, {})
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "notify.dev-channel.events: deploy.strated matches no event kind" in output, output
    assert SECRET not in output, output

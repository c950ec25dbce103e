"""Settings: defaults, [server] in the file, SIGNALBOX_* overrides, environments checked at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from signalbox.core.errors import ConfigError, InvalidDuration, PolicyError
from signalbox.settings import SETTINGS, load_settings

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "signalbox.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file_are_the_declared_defaults() -> None:
    settings = load_settings(None, environ={})
    for spec in SETTINGS:
        assert getattr(settings, spec.name) == spec.default, spec.name
    assert settings.environments == {}


def test_the_file_sets_and_the_environment_variable_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, '[server]\nport = 9000\ntimezone = "Europe/Berlin"\n')
    settings = load_settings(path, environ={"SIGNALBOX_PORT": "9100"})
    assert settings.port == 9100
    assert settings.timezone == "Europe/Berlin"
    assert settings.base_url == "http://127.0.0.1:9100"


def test_signalbox_config_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nport = 9001\n")
    assert load_settings(None, environ={"SIGNALBOX_CONFIG": str(path)}).port == 9001


def test_the_example_configuration_loads() -> None:
    settings = load_settings(ROOT / "examples" / "signalbox.toml", environ={})
    assert set(settings.environments) == {"dev", "prod"}
    assert settings.environments["dev"].expected_deploy_seconds == 17 * 60
    assert settings.environments["prod"].timezone == "Europe/Berlin"


@pytest.mark.parametrize(
    ("text", "environ", "error", "says"),
    [
        ("[server]\nprot = 1\n", {}, ConfigError, "prot"),
        ('[server]\nport = "eighty"\n', {}, ConfigError, "whole number"),
        ("[server]\n", {"SIGNALBOX_PORT": "x"}, ConfigError, "SIGNALBOX_PORT"),
        ('[server]\ntimezone = "Mars/Olympus"\n', {}, ConfigError, "Mars/Olympus"),
        ("[server\n", {}, ConfigError, "line 1"),
        ("environments = 3\n", {}, ConfigError, "[environments]"),
        ('[environments.dev]\ntimezone = "Europe/Berlni"\n', {}, ConfigError, "Europe/Berlni"),
        ('[environments.dev]\nexpected = "17m"\n', {}, ConfigError, "expected"),
        ('[environments.dev]\nexpected_deploy = "17x"\n', {}, InvalidDuration, "17x"),
        (
            '[environments.dev]\nfreeze = [{ cron = "0 99 * * FRI", duration = "2h" }]\n',
            {},
            ConfigError,
            "environments.dev.freeze",
        ),
        (
            '[environments.dev.policy]\nstateful-destroy = "maybe"\n',
            {},
            PolicyError,
            "maybe",
        ),
    ],
)
def test_bad_configuration_is_refused_at_load_naming_what_is_wrong(
    tmp_path: Path, text: str, environ: dict[str, str], error: type, says: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(error) as raised:
        load_settings(path, environ=environ)
    assert says in str(raised.value)
    assert raised.value.hint  # and says what to do


def test_a_missing_file_says_how_to_name_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as raised:
        load_settings(tmp_path / "nope.toml", environ={})
    assert "--config" in raised.value.hint


def test_the_settings_printed_show_no_secret(tmp_path: Path) -> None:
    """A Settings object in a log line or a traceback shows neither the admin token, the
    state keys nor a notification URL (the raw document holds the [[notify]] URLs)."""
    config = tmp_path / "signalbox.toml"
    config.write_text(
        '[server]\nadmin_token = "sbx_admin-secret-1"\n'
        'state_keys = "k1:c2VjcmV0LWtleS1tYXRlcmlhbC0xMjM0NTY3ODkwMTI="\n'
        "[environments.dev]\n"
        '[[notify]]\nname = "ops"\nurls = ["json://user:hook-secret-2@127.0.0.1:9/x"]\n'
    )
    settings = load_settings(config, environ={})
    shown = repr(settings)
    assert "ops" in shown  # the target by name
    for secret in (
        "sbx_admin-secret-1",
        "c2VjcmV0LWtleS1tYXRlcmlhbC0xMjM0NTY3ODkwMTI=",
        "hook-secret-2",
    ):
        assert secret not in shown

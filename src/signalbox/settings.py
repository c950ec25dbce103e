"""One Settings object, built once at start from signalbox.toml and SIGNALBOX_* variables.

Settings are declared as data (``SETTINGS``): name, type, default and help. The
``[server]`` table of signalbox.toml sets them; ``SIGNALBOX_<NAME>`` (upper case)
overrides the file. docs/settings.md documents every one, and a test checks it.
The ``[environments.NAME]`` tables declare environments (see ``EnvironmentConfig``), the
``[[notify]]`` tables where notifications go (``notify_settings``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from typing import Any

from signalbox.core.errors import ConfigError
from signalbox.notify_settings import NotifyTarget, parse_notify


@dataclass(frozen=True)
class SettingSpec:
    name: str
    kind: type
    default: Any
    help: str
    secret: bool = False

    @property
    def env_var(self) -> str:
        return f"SIGNALBOX_{self.name.upper()}"


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "database_url",
        str,
        "sqlite:///signalbox.db",
        "SQLAlchemy URL of the database: a SQLite file (default) or PostgreSQL "
        "(postgresql+psycopg://user@host/db) for several servers sharing one database.",
    ),
    SettingSpec("host", str, "127.0.0.1", "Address `signalbox serve` listens on."),
    SettingSpec("port", int, 8787, "Port `signalbox serve` listens on."),
    SettingSpec(
        "public_url",
        str,
        "",
        "The URL people and CI use to reach the server, for links in answers "
        "(default: http://HOST:PORT).",
    ),
    SettingSpec(
        "admin_token",
        str,
        "",
        "Bootstrap admin token, accepted at start-up with the admin role on every "
        "environment. Use it to create the real tokens, then unset it.",
        secret=True,
    ),
    SettingSpec(
        "timezone",
        str,
        "UTC",
        "Default time zone for showing and reading times (an IANA name such as "
        "Europe/Berlin); each environment may set its own.",
    ),
    SettingSpec(
        "max_plan_bytes",
        int,
        512 * 1024 * 1024,
        "Largest plan JSON the server accepts; larger bodies get payload-too-large.",
    ),
    SettingSpec(
        "max_body_bytes",
        int,
        1024 * 1024,
        "Largest JSON request body (other than plans and states) the server accepts.",
    ),
    SettingSpec(
        "deploy_lease_seconds",
        int,
        60,
        "Lease of a running deploy: `signalbox gate` renews it every third of it; "
        "when its runner dies the environment frees itself after at most this long.",
    ),
    SettingSpec(
        "longpoll_seconds",
        int,
        25,
        "Longest time the server holds a waiting gate's request before answering "
        '"no change" (keep it below your proxy\'s read timeout).',
    ),
    SettingSpec(
        "allow_self_approval",
        bool,
        False,
        "Whether whoever requested a deploy may approve its plan themselves "
        "(default: no, another approver must).",
    ),
    SettingSpec(
        "state_keys",
        str,
        "",
        "Keys that encrypt Terraform states at rest (AES-256-GCM): comma-separated "
        "ID:BASE64 entries of 32-byte keys, from `signalbox state new-key ID`. The first "
        "encrypts, all decrypt; to rotate, put a new key first and run `signalbox state "
        "rotate-key`. Empty: states are stored in clear (the server says so at start).",
        secret=True,
    ),
    SettingSpec(
        "state_retention",
        int,
        100,
        "Versions of each Terraform state whose bodies are kept; older ones keep their "
        "row (who, when, serial) but lose their body. The newest is never pruned.",
    ),
    SettingSpec(
        "state_auto_hold",
        str,
        "2h",
        "How long a person's state write while nobody holds the environment holds it "
        'for them (the out-of-band rule); "off" turns the rule off.',
    ),
    SettingSpec(
        "max_state_bytes",
        int,
        1024 * 1024 * 1024,
        "Largest Terraform state body the server accepts; larger ones get 413.",
    ),
    SettingSpec(
        "notify_give_up",
        str,
        "6h",
        "How long the notifier keeps trying to deliver a message to a failing target "
        "(retries 10 s after the first failure, doubling, at most 5 min apart) before it "
        "gives up; events older than this when the notifier first sees them are not sent.",
    ),
    SettingSpec(
        "notify_claim_seconds",
        int,
        120,
        "How long a server's claim on the messages it is sending lasts: a server killed "
        "mid-delivery leaves them to another server, or to itself after a restart, after "
        "this long (they are then sent again: delivery is at least once).",
    ),
    SettingSpec(
        "remind_before",
        str,
        "15m",
        "How long before a reservation starts its owner and the environment's targets are "
        'reminded of it (reservation.starting-soon); "off" sends no reminder.',
    ),
    SettingSpec(
        "incident_update_every",
        str,
        "30m",
        "How long an open incident may go without an update before its commander is "
        'reminded to post one (incident.update-due, again each period); "off" never reminds.',
    ),
    SettingSpec(
        "board_public",
        bool,
        False,
        "Whether anyone who can reach the server may see the board at `/` without signing "
        "in (read-only: states, holders and times, never a reason). Off: every page needs a "
        "sign-in.",
    ),
    SettingSpec(
        "session_lifetime",
        str,
        "12h",
        "How long a sign-in to the web pages lasts (a duration such as 12h). A session also "
        "ends at sign-out and when its token is revoked.",
    ),
    SettingSpec(
        "bench_endpoints",
        bool,
        False,
        "Serve the benchmark floors `/api/noop`, `/api/noop-upload` and `/api/noop-download` "
        "(admin tokens only), which the benchmarks in bench/ turn on. Off: they answer 404 "
        "and are not in /openapi.json.",
    ),
    SettingSpec(
        "sqlite_synchronous",
        str,
        "full",
        "SQLite only: `full` (default) syncs every commit to disk before it is acknowledged, "
        "so holds, approvals and state writes survive a power loss; `normal` is faster and "
        "safe against a crash of the server, not of the machine (the last commits before a "
        "power loss can be lost). For benchmarks and throw-away servers.",
    ),
    SettingSpec(
        "metrics_public",
        bool,
        False,
        "Whether `GET /metrics` (Prometheus text format) answers without a token, for a "
        "scraper that cannot send one. Off: it needs a token with the grant `admin:*`. The "
        "figures carry environment and target names and counts, never a reason or a token.",
    ),
)


@dataclass(frozen=True)
class EnvironmentConfig:
    """One ``[environments.NAME]`` table. ``policy`` is handed to core/plan/policy as is."""

    name: str
    timezone: str = "UTC"
    expected_deploy_seconds: int = 600
    policy: Mapping[str, Any] = field(default_factory=dict)
    freeze_windows: tuple[Mapping[str, Any], ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///signalbox.db"
    host: str = "127.0.0.1"
    port: int = 8787
    public_url: str = ""
    admin_token: str = field(default="", repr=False)
    timezone: str = "UTC"
    max_plan_bytes: int = 512 * 1024 * 1024
    max_body_bytes: int = 1024 * 1024
    deploy_lease_seconds: int = 60
    longpoll_seconds: int = 25
    allow_self_approval: bool = False
    state_keys: str = field(default="", repr=False)
    state_retention: int = 100
    state_auto_hold: str = "2h"
    max_state_bytes: int = 1024 * 1024 * 1024
    notify_give_up: str = "6h"
    notify_claim_seconds: int = 120
    remind_before: str = "15m"
    incident_update_every: str = "30m"
    board_public: bool = False
    session_lifetime: str = "12h"
    bench_endpoints: bool = False
    sqlite_synchronous: str = "full"
    metrics_public: bool = False
    environments: Mapping[str, EnvironmentConfig] = field(default_factory=dict)
    notify: tuple[NotifyTarget, ...] = ()
    config_path: str = ""
    document: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"

    @property
    def give_up_after(self) -> timedelta:
        """``notify_give_up`` as a duration (checked when the settings load)."""
        return _duration_setting("notify_give_up", self.notify_give_up)

    @property
    def reminder_lead(self) -> timedelta | None:
        """``remind_before`` as a duration, None when "off"."""
        return _optional_duration("remind_before", self.remind_before)

    @property
    def update_reminder_every(self) -> timedelta | None:
        """``incident_update_every`` as a duration, None when "off"."""
        return _optional_duration("incident_update_every", self.incident_update_every)

    @property
    def web_session_lifetime(self) -> timedelta:
        """``session_lifetime`` as a duration (checked when the settings load)."""
        return _duration_setting("session_lifetime", self.session_lifetime)


def _duration_setting(name: str, value: str) -> timedelta:
    from signalbox.core.durations import parse_duration
    from signalbox.core.errors import InvalidDuration

    try:
        return parse_duration(value)
    except InvalidDuration as error:
        raise ConfigError(
            f"{name}: {error.message}", hint=f"Set {name} to a duration. {error.hint}"
        ) from None


def _optional_duration(name: str, value: str) -> timedelta | None:
    if value.strip().lower() == "off":
        return None
    return _duration_setting(name, value)


_BOOL_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _coerce(spec: SettingSpec, value: Any, source: str) -> Any:
    if spec.kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _BOOL_WORDS:
            return _BOOL_WORDS[value.strip().lower()]
        raise ConfigError(
            f"{source}: {spec.name} must be true or false, not {value!r}.",
            hint=f"Set {spec.name} to true or false.",
        )
    if spec.kind is int:
        if isinstance(value, bool):
            raise ConfigError(
                f"{source}: {spec.name} must be a whole number, not {value!r}.",
                hint=f"Set {spec.name} to a number such as {spec.default}.",
            )
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{source}: {spec.name} must be a whole number, not {value!r}.",
                hint=f"Set {spec.name} to a number such as {spec.default}.",
            ) from None
    if not isinstance(value, str):
        raise ConfigError(
            f"{source}: {spec.name} must be a string, not {value!r}.",
            hint=f"Quote the value of {spec.name}.",
        )
    return value


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read signalbox.toml; a missing or malformed file is a ConfigError with the position."""
    file = Path(path)
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(
            f"The configuration file {file} does not exist.",
            hint="Pass --config with the path of your signalbox.toml.",
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            f"{file} is not valid TOML: {error}.", hint="Fix the file at the position shown."
        ) from None


ENVIRONMENT_KEYS = ("timezone", "expected_deploy", "policy", "freeze")


def _validate_environment(
    name: str, table: Mapping[str, Any], document: Mapping[str, Any], default_tz: str
) -> None:
    """Everything an environment table says is checked at load, so a typo stops the start
    (or the command) with a message naming it, not a later gate or check."""
    from signalbox.core.freeze import parse_freeze_windows
    from signalbox.core.plan import parse_policy
    from signalbox.core.times import load_zone

    unknown = sorted(set(table) - set(ENVIRONMENT_KEYS))
    if unknown:
        raise ConfigError(
            f"Unknown key(s) in [environments.{name}]: {', '.join(unknown)}.",
            hint=f"An environment takes {', '.join(ENVIRONMENT_KEYS)} (docs/server.md).",
        )
    timezone = str(table.get("timezone", default_tz))
    load_zone(timezone)
    parse_freeze_windows(
        table.get("freeze", []), where=f"environments.{name}.freeze", default_timezone=timezone
    )
    parse_policy(name, document)


def _environments(document: Mapping[str, Any], default_tz: str) -> dict[str, EnvironmentConfig]:
    from signalbox.core.durations import parse_duration

    tables = document.get("environments", {})
    if not isinstance(tables, dict):
        raise ConfigError(
            "[environments] must be a table of environments.",
            hint="Write one [environments.NAME] table per environment.",
        )
    found: dict[str, EnvironmentConfig] = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError(
                f"[environments.{name}] must be a table.",
                hint=f"Write [environments.{name}] followed by its keys.",
            )
        _validate_environment(name, table, document, default_tz)
        expected = table.get("expected_deploy", "10m")
        seconds = int(parse_duration(str(expected)).total_seconds())
        windows = table.get("freeze", [])
        found[name] = EnvironmentConfig(
            name=name,
            timezone=str(table.get("timezone", default_tz)),
            expected_deploy_seconds=seconds,
            policy=table.get("policy", {}),
            freeze_windows=tuple(windows) if isinstance(windows, list) else (),
            raw=table,
        )
    return found


def load_settings(
    config: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build the Settings: defaults, then the file's [server] table, then SIGNALBOX_* vars."""
    env = os.environ if environ is None else environ
    path = config or env.get("SIGNALBOX_CONFIG") or ""
    document: dict[str, Any] = read_config_file(path) if path else {}
    server = document.get("server", {})
    if not isinstance(server, dict):
        raise ConfigError("[server] must be a table.", hint="Write [server] followed by its keys.")
    known = {spec.name: spec for spec in SETTINGS}
    unknown = sorted(set(server) - set(known))
    if unknown:
        raise ConfigError(
            f"Unknown setting(s) in [server]: {', '.join(unknown)}.",
            hint="See docs/settings.md for the settings signalbox knows.",
        )
    values: dict[str, Any] = {}
    for spec in SETTINGS:
        if spec.name in server:
            values[spec.name] = _coerce(spec, server[spec.name], f"{path} [server]")
        if spec.env_var in env:
            values[spec.name] = _coerce(spec, env[spec.env_var], spec.env_var)
    settings_fields = {f.name for f in fields(Settings)}
    assert set(known) <= settings_fields, "every SettingSpec needs a Settings field"
    from signalbox.core.times import load_zone

    timezone = values.get("timezone", "UTC")
    load_zone(timezone)
    environments = _environments(document, timezone)
    settings = Settings(
        **values,
        environments=environments,
        notify=parse_notify(document, environments, env),
        config_path=str(path),
        document=document,
    )
    _duration_setting("notify_give_up", settings.notify_give_up)  # a typo stops the start
    _optional_duration("remind_before", settings.remind_before)
    _optional_duration("incident_update_every", settings.incident_update_every)
    _duration_setting("session_lifetime", settings.session_lifetime)
    return settings

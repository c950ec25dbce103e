"""The ``[[notify]]`` tables of signalbox.toml: where notifications go.

::

    [[notify]]
    name = "dev-channel"              # shown in events, logs and answers instead of the URL
    urls_env = "SIGNALBOX_NOTIFY_DEV"  # Apprise URLs, space separated, from the environment
    urls = ["json://127.0.0.1:9000"]   # or in the file (either or both)
    environments = ["dev"]             # default: every environment, and global events
    events = ["deploy.*", "incident.*"]  # globs over the event catalogue (default: DEFAULT_EVENTS)

URLs carry secrets (webhook tokens, passwords): they live in ``NotifyTarget.urls`` only,
which is never printed (its ``repr`` hides them), logged, stored or answered. Everything else
is checked when the settings load, so a typo stops the start with the key named; whether
Apprise can read each URL is checked when the server builds its notifier
(``services.notify.targets``), so that the command line never imports Apprise.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from signalbox.core.errors import ConfigError
from signalbox.core.notify import DEFAULT_EVENTS, unknown_globs

__all__ = ["NOTIFY_KEYS", "NotifyTarget", "parse_notify"]

NOTIFY_KEYS = ("name", "urls", "urls_env", "environments", "events")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class NotifyTarget:
    """One ``[[notify]]`` table. ``urls`` are secret: ``repr`` shows how many, not which."""

    name: str
    urls: tuple[str, ...] = field(repr=False)
    urls_env: str = ""
    environments: tuple[str, ...] | None = None
    events: tuple[str, ...] = DEFAULT_EVENTS

    def __repr__(self) -> str:
        return (
            f"NotifyTarget(name={self.name!r}, urls=<{len(self.urls)} hidden>, "
            f"environments={self.environments!r}, events={self.events!r})"
        )


def _strings(value: Any, where: str, example: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(
            f"{where} must be a list of strings.", hint=f"Write {where.split('.')[-1]} = {example}."
        )
    return tuple(value)


def _target(
    index: int, table: Any, environments: Mapping[str, Any], env: Mapping[str, str]
) -> NotifyTarget:
    where = f"notify[{index}]"
    if not isinstance(table, dict):
        raise ConfigError(
            f"[[notify]] number {index + 1} must be a table.",
            hint="Write [[notify]] followed by its keys (docs/notifications.md).",
        )
    name = table.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"{where}.name must be a short name of lower-case letters, digits, '-', '_' or "
            f"'.', not {name!r}.",
            hint='Name each [[notify]] target, e.g. name = "dev-channel".',
        )
    where = f"notify.{name}"
    unknown = sorted(set(table) - set(NOTIFY_KEYS))
    if unknown:
        raise ConfigError(
            f"Unknown key(s) in {where}: {', '.join(unknown)}.",
            hint=f"A [[notify]] target takes {', '.join(NOTIFY_KEYS)} (docs/notifications.md).",
        )
    urls = list(_strings(table.get("urls", []), f"{where}.urls", '["json://host/path"]'))
    urls_env = table.get("urls_env", "")
    if not isinstance(urls_env, str):
        raise ConfigError(
            f"{where}.urls_env must be the name of an environment variable.",
            hint='Write urls_env = "SIGNALBOX_NOTIFY_DEV".',
        )
    if urls_env:
        if urls_env not in env:
            raise ConfigError(
                f"{where}.urls_env names {urls_env}, which is not set.",
                hint=f"Set {urls_env} to the target's Apprise URLs (space separated) before "
                "starting the server.",
            )
        urls.extend(env[urls_env].split())
    if not urls:
        raise ConfigError(
            f"{where} has no URL: urls is empty and urls_env is not given or empty.",
            hint="Give the target's Apprise URLs in urls_env (an environment variable) or urls.",
        )
    scope: tuple[str, ...] | None = None
    if "environments" in table:
        scope = _strings(table["environments"], f"{where}.environments", '["dev"]')
        if not scope:
            raise ConfigError(
                f"{where}.environments is empty: the target would hear of nothing.",
                hint="Name the environments it hears of, or leave environments out for all.",
            )
        strangers = [name for name in scope if name not in environments]
        if strangers:
            raise ConfigError(
                f"{where}.environments names {', '.join(strangers)}, which "
                f"{'is' if len(strangers) == 1 else 'are'} not configured.",
                hint=f"Configured environments: {', '.join(sorted(environments)) or 'none'}; "
                "leave environments out for all of them.",
            )
    events = DEFAULT_EVENTS
    if "events" in table:
        events = _strings(table["events"], f"{where}.events", '["deploy.*", "incident.*"]')
        if not events:
            raise ConfigError(
                f"{where}.events is empty: the target would hear of nothing.",
                hint="Name the kinds it hears of (globs such as deploy.*), or leave events out "
                "for the default set (docs/notifications.md).",
            )
        unmatched = unknown_globs(events)
        if unmatched:
            raise ConfigError(
                f"{where}.events: {', '.join(unmatched)} matches no event kind.",
                hint="Use kinds or globs from docs/events.md, such as deploy.* or hold.lapsed.",
            )
    return NotifyTarget(
        name=name, urls=tuple(urls), urls_env=urls_env, environments=scope, events=events
    )


def parse_notify(
    document: Mapping[str, Any],
    environments: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
) -> tuple[NotifyTarget, ...]:
    """The ``[[notify]]`` targets of ``document``; ConfigError naming the key otherwise."""
    tables = document.get("notify", [])
    if not isinstance(tables, list):
        raise ConfigError(
            "notify must be an array of tables: write [[notify]], not [notify].",
            hint="Write one [[notify]] table per target (docs/notifications.md).",
        )
    environ = os.environ if env is None else env
    targets = [_target(i, table, environments, environ) for i, table in enumerate(tables)]
    seen: set[str] = set()
    for target in targets:
        if target.name in seen:
            raise ConfigError(
                f"Two [[notify]] targets are named {target.name}.",
                hint="Give each target its own name.",
            )
        seen.add(target.name)
    return tuple(targets)

"""Notification targets as the server uses them: each ``[[notify]]`` table with its Apprise
URLs loaded, what it hears of, and a way to send one message that answers what happened
without ever saying the URL.

``build_targets(settings)`` checks that Apprise reads every URL (ConfigError naming the
target and the URL's position, never the URL) and is called when the server starts, so a
typo stops the start.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit

from signalbox.core.errors import ConfigError
from signalbox.core.notify import Message, Subscription
from signalbox.notify_settings import NotifyTarget
from signalbox.settings import Settings

if TYPE_CHECKING:
    import apprise

__all__ = ["Sent", "Target", "build_targets", "redact", "secrets_of"]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_NOT_SECRET = frozenset({"json", "form", "xml", "mailto", "mailtos", "http", "https", "", "post"})


@dataclass(frozen=True, slots=True)
class Sent:
    """What sending one message came to: ``ok``, and ``answer`` (Apprise's own words, the
    target's URL and secrets left out)."""

    ok: bool
    answer: str


def secrets_of(url: str) -> list[str]:
    """Everything in ``url`` that may be secret: the URL itself, its user and password, its
    path segments and query values (webhook tokens live in either)."""
    found = [url]
    try:
        parts = urlsplit(url)
    except ValueError:
        return found
    candidates = [parts.username, parts.password, parts.netloc]
    candidates += parts.path.split("/")
    candidates += [value for _, value in parse_qsl(parts.query)]
    for candidate in candidates:
        if candidate and len(candidate) >= 4 and candidate.lower() not in _NOT_SECRET:
            found.extend({candidate, unquote(candidate)})
    return found


def redact(text: str, secrets: list[str]) -> str:
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


@dataclass(frozen=True)
class Target:
    """One target, ready to send (``urls`` secret; ``secrets`` what to redact)."""

    name: str
    subscription: Subscription
    environments: tuple[str, ...] | None
    events: tuple[str, ...]
    urls: tuple[str, ...] = field(repr=False)
    secrets: tuple[str, ...] = field(repr=False)

    def wants(self, kind: str, environment: str | None) -> bool:
        return self.subscription.wants(kind, environment)

    _kept: list[apprise.Apprise] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    def _apprise(self, fresh: bool) -> apprise.Apprise:
        if self._kept and not fresh:
            return self._kept[0]
        import apprise

        notifier = apprise.Apprise(asset=_asset())
        for url in self.urls:
            notifier.add(url)
        if not fresh:
            self._kept.append(notifier)
        return notifier

    def send(self, message: Message, *, fresh: bool = False) -> Sent:
        """Send ``message`` to every URL of the target; ``ok`` only when every URL took it.

        The notifier sends to one target from one thread at a time, through an Apprise
        object kept for it (its URLs read once); ``fresh`` makes a new one, for a send that
        may run beside the notifier's (a test message). Apprise's own per-URL timeouts
        apply (no overall timeout: that would run each send in one more thread)."""
        import apprise

        notifier = self._apprise(fresh)
        said: list[str] = []

        def heard(entry: apprise.NotifyLogEntry, _plugin: object) -> None:
            if entry.level in ("WARNING", "ERROR", "CRITICAL"):
                said.append(str(entry.message))

        try:
            result = notifier.notify(
                body=message.body,
                title=message.title,
                body_format=apprise.NotifyFormat.TEXT,
                log_callback=heard,
            )
        except Exception as error:  # a plugin's own bug must not stop the notifier
            return Sent(False, redact(f"{type(error).__name__}: {error}", list(self.secrets)))
        ok = bool(result)
        sent = getattr(result, "success_count", None)
        total = len(self.urls)
        if ok:
            answer = f"sent to {total} URL{'s' if total != 1 else ''}"
        else:
            took = f"{sent} of {total} URLs took it" if isinstance(sent, int) else "not sent"
            answer = "; ".join([took, *dict.fromkeys(said)]) or "not sent"
        return Sent(ok, redact(answer, list(self.secrets)))


@cache
def _asset() -> apprise.AppriseAsset:
    """Apprise's settings for every object: it writes nothing to disk. Apprise is imported
    when the first target is built, not by a server without [[notify]] tables."""
    import apprise

    return apprise.AppriseAsset(storage_mode="memory")


def _checked_urls(config: NotifyTarget) -> None:
    import apprise

    for position, url in enumerate(config.urls, start=1):
        if apprise.Apprise.instantiate(url, asset=_asset(), suppress_exceptions=True) is None:
            scheme = _SCHEME.match(url)
            shown = f" (scheme {scheme.group(1)}://)" if scheme else " (no scheme://)"
            source = f"urls_env {config.urls_env} or urls" if config.urls_env else "urls"
            raise ConfigError(
                f"notify.{config.name}: URL {position} of {source} is not a URL Apprise can "
                f"send to{shown}.",
                hint="Check the URL against Apprise's list of services "
                "(https://github.com/caronc/apprise/wiki); the URL is not shown because it "
                "may hold a secret.",
            )


def build_targets(settings: Settings) -> Mapping[str, Target]:
    """The configured targets by name, each URL checked with Apprise."""
    targets: dict[str, Target] = {}
    for config in settings.notify:
        _checked_urls(config)
        targets[config.name] = Target(
            name=config.name,
            subscription=Subscription.of(config.environments, config.events),
            environments=config.environments,
            events=config.events,
            urls=config.urls,
            secrets=tuple(secret for url in config.urls for secret in secrets_of(url)),
        )
    return targets

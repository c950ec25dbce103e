"""What every route needs, each built once by ``create_app`` and held here for the app's life:
settings, engine, clock, the Terraform state store, the pictures of the environments, the
long-poll's change feed, decision batches and caches, the notification targets and their
notifier, and the metrics. Nothing here is built on first use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from fastapi import Request
from sqlalchemy import Engine

from signalbox.api.change_feed import ChangeFeed
from signalbox.api.models.environments import PictureJson
from signalbox.core.errors import unknown_environment
from signalbox.core.roles import Action
from signalbox.services.clock import Clock
from signalbox.services.status import PictureCache
from signalbox.services.tfstate import StateStore
from signalbox.services.tokens import Caller
from signalbox.settings import Settings

if TYPE_CHECKING:
    from signalbox.api.longpoll import Batches
    from signalbox.api.metrics import ServerMetrics
    from signalbox.services.notify.targets import Target
    from signalbox.services.notify.worker import Notifier

__all__ = ["Server", "server", "server_of"]


@dataclass(frozen=True)
class Server:
    settings: Settings
    engine: Engine
    clock: Clock
    state_store: StateStore
    feed: ChangeFeed
    """Wakes the long-polls of an environment when it changes (``api.change_feed``)."""
    batches: Batches
    """Coalesces the waiting gates woken by one change onto one decision."""
    deploy_environments: dict[int, str]
    """deploy id -> its environment (which never changes), so a re-poll needs no query."""
    pictures: PictureCache
    """Each environment's picture, kept until it changes (``services.status``)."""
    picture_json: PictureJson
    """The JSON of each kept picture, made once."""
    targets: Mapping[str, Target] = field(default_factory=dict)
    """The notification targets by name (``services.notify.targets``; URLs never leave)."""
    notifier: Notifier | None = None
    """The loop that delivers notifications; None when no target is configured."""
    metrics: ServerMetrics | None = None
    """What ``GET /metrics`` answers from (``api.metrics``)."""

    def now(self) -> datetime:
        return self.clock.now()

    def configured(self, environment: str) -> str:
        """``environment`` if configured, else UnknownEnvironment (checked before grants, so
        a typo reads as a typo, not as a missing grant)."""
        if environment not in self.settings.environments:
            raise unknown_environment(environment, sorted(self.settings.environments))
        return environment

    def readable(self, caller: Caller, environment: str | None = None) -> list[str]:
        """``[environment]`` once it is known configured and readable by ``caller``; without
        one, every configured environment ``caller`` may read."""
        if environment is not None:
            caller.require(Action.READ, self.configured(environment))
            return [environment]
        return [name for name in self.settings.environments if caller.may(Action.READ, name)]

    def timezone(self, environment: str) -> str:
        config = self.settings.environments.get(environment)
        return config.timezone if config else self.settings.timezone


def server_of(request: Request) -> Server:
    """The ``Server`` of the app that answers ``request``."""
    context: Server = request.app.state.server
    return context


async def server(request: Request) -> Server:
    """FastAPI dependency: the app's ``Server`` (async: no thread hop for a lookup)."""
    return server_of(request)

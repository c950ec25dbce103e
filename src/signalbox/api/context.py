"""What every route needs, built once by ``create_app``: settings, engine, clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import Request
from sqlalchemy import Engine

from signalbox.core.roles import Action
from signalbox.services.clock import Clock
from signalbox.services.tokens import Caller
from signalbox.settings import Settings
from signalbox.storage.repositories.environments import unknown_environment

__all__ = ["Server", "server"]


@dataclass(frozen=True)
class Server:
    settings: Settings
    engine: Engine
    clock: Clock

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


async def server(request: Request) -> Server:
    """FastAPI dependency: the app's ``Server`` (async: no thread hop for a lookup)."""
    context: Server = request.app.state.server
    return context

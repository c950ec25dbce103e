"""What every route needs, built once by ``create_app``: settings, engine, clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import Request
from sqlalchemy import Engine

from signalbox.services.clock import Clock
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

    def timezone(self, environment: str) -> str:
        config = self.settings.environments.get(environment)
        return config.timezone if config else self.settings.timezone


async def server(request: Request) -> Server:
    """FastAPI dependency: the app's ``Server`` (async: no thread hop for a lookup)."""
    context: Server = request.app.state.server
    return context

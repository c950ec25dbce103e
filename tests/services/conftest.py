import pytest

from signalbox.services.environments import sync_environments
from signalbox.settings import EnvironmentConfig, Settings
from signalbox.testing import (  # noqa: F401  (fixtures)
    clock,
    database,
    database_url,
    postgres_database_url,
    postgres_engine,
    sqlite_template,
)


@pytest.fixture
def settings() -> Settings:
    return Settings(
        environments={
            "dev": EnvironmentConfig("dev", timezone="Europe/Berlin", expected_deploy_seconds=1020),
            "prod": EnvironmentConfig("prod", timezone="UTC"),
        }
    )


@pytest.fixture
def engine(database, settings, clock):  # noqa: F811  (pytest fixtures)
    """A database with dev and prod configured."""
    sync_environments(database, settings, now=clock.now())
    return database

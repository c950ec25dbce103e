"""An in-process API (TestClient, no socket) on a real database, with a fake clock."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from signalbox.api.app import create_app
from signalbox.settings import EnvironmentConfig, Settings
from signalbox.testing import (  # noqa: F401  (fixtures)
    clock,
    database,
    postgres_database_url,
    postgres_engine,
    sqlite_template,
)

ADMIN_TOKEN = "sbx_test-admin-token"


@pytest.fixture
def settings() -> Settings:
    return Settings(
        admin_token=ADMIN_TOKEN,
        max_body_bytes=4096,
        environments={
            "dev": EnvironmentConfig("dev", timezone="Europe/Berlin", expected_deploy_seconds=1020),
            "prod": EnvironmentConfig("prod", timezone="UTC"),
        },
    )


@pytest.fixture
def app(settings, clock, database):  # noqa: F811  (pytest fixtures)
    return create_app(settings, clock=clock, engine=database, sweep_seconds=None)


@pytest.fixture
def client(app):
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ADMIN = bearer(ADMIN_TOKEN)


@pytest.fixture
def token_for(client):
    """``token_for("platform-eng", "developer:dev")`` -> headers of a new token."""

    def make(name: str, *grants: str, ci: bool = False) -> dict[str, str]:
        answer = client.post(
            "/api/tokens", headers=ADMIN, json={"name": name, "grants": list(grants), "ci": ci}
        )
        assert answer.status_code == 201, answer.text
        return bearer(answer.json()["token"])

    return make

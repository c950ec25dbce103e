"""Fixtures for the state backend's API tests: tokens of the story's people and helpers
that speak to ``/tf/...`` the way Terraform does."""

from __future__ import annotations

import base64

import pytest
from tests.api.conftest import ADMIN_TOKEN
from tests.api.tfstate.states import content_md5, lock_json

from signalbox.settings import EnvironmentConfig, Settings
from signalbox.storage.state_crypto import new_key_text

MAX_STATE_BYTES = 3_000_000


@pytest.fixture
def settings(request) -> Settings:
    """dev (Europe/Berlin) and prod; states in clear unless parametrized with "encrypted"."""
    encrypted = getattr(request, "param", "clear") == "encrypted"
    return Settings(
        admin_token=ADMIN_TOKEN,
        max_body_bytes=4096,
        max_state_bytes=MAX_STATE_BYTES,
        state_keys=new_key_text("k1") if encrypted else "",
        environments={
            "dev": EnvironmentConfig("dev", timezone="Europe/Berlin"),
            "prod": EnvironmentConfig("prod", timezone="UTC"),
        },
    )


def basic(headers: dict[str, str]) -> dict[str, str]:
    """Terraform's way: HTTP Basic with any user name and the token as password."""
    token = headers["Authorization"].removeprefix("Bearer ")
    return {"Authorization": "Basic " + base64.b64encode(f"tf:{token}".encode()).decode()}


@pytest.fixture
def engineer(token_for):
    return basic(token_for("platform-eng", "developer:dev"))


@pytest.fixture
def colleague(token_for):
    return basic(token_for("front-end", "developer:dev"))


@pytest.fixture
def ci(token_for):
    return basic(token_for("ci-dev", "developer:dev", ci=True))


@pytest.fixture
def admin(token_for):
    return basic(token_for("root", "admin:*"))


class Terraform:
    """What Terraform's http backend sends, as calls on the test client."""

    def __init__(self, client, path: str = "/tf/dev/network") -> None:
        self.client, self.path = client, path

    def lock(self, headers, lock_id: str, operation: str = "OperationTypeApply"):
        return self.client.request(
            "LOCK", self.path, headers=headers, content=lock_json(lock_id, operation)
        )

    def unlock(self, headers, lock_id: str | None):
        body = lock_json(lock_id) if lock_id else b""
        return self.client.request("UNLOCK", self.path, headers=headers, content=body)

    def write(self, headers, body: bytes, lock_id: str | None = None, md5: str | None = None):
        params = {"ID": lock_id} if lock_id else None
        extra = {"Content-MD5": md5 or content_md5(body), "Content-Type": "application/json"}
        return self.client.post(
            self.path, headers={**headers, **extra}, params=params, content=body
        )

    def read(self, headers):
        return self.client.get(self.path, headers=headers)


@pytest.fixture
def terraform(client):
    return Terraform(client)

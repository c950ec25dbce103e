"""A real `signalbox serve` process and real Terraform (1.15.5 and 1.0.3) using it as the
``http`` state backend. One server per module; every test gets its own environment, so
holds and locks of one test never meet another's."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.support.servers import create_token

from signalbox.testing import ServerProcess

ADMIN = "sbx_tfstate-e2e-admin"
ENVIRONMENTS = [f"env{n}" for n in range(40)]
VERSIONS = ["1.15.5", "1.0.3"]


@dataclass
class Backend:
    """The running server, its people's tokens, and one environment for this test."""

    url: str
    env: str
    tokens: dict[str, str]

    def api(self, who: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {self.tokens[who]}"}
        )

    def hold(self, who: str, reason: str, duration: str = "4h") -> None:
        with self.api(who) as api:
            answer = api.post(
                f"/api/environments/{self.env}/hold", json={"reason": reason, "duration": duration}
            )
            assert answer.status_code == 200, answer.text

    def status(self) -> dict:
        with self.api("root") as api:
            return api.get(f"/api/environments/{self.env}").json()

    def events(self) -> list[str]:
        with self.api("root") as api:
            answer = api.get("/api/events", params={"env": self.env, "limit": 100})
            return [event["message"] for event in answer.json()["events"]]

    def state_path(self, state: str = "main") -> str:
        return f"/tf/{self.env}/{state}"

    def stored(self, state: str = "main") -> bytes | None:
        with self.api("root") as api:
            answer = api.get(self.state_path(state))
            return answer.content if answer.status_code == 200 else None

    def lock_as(self, who: str, lock_id: str, state: str = "main") -> httpx.Response:
        body = json.dumps(
            {
                "ID": lock_id,
                "Operation": "OperationTypeApply",
                "Info": "",
                "Who": f"{who}@runner",
                "Version": "1.15.5",
                "Created": "2026-11-26T13:44:00Z",
                "Path": "",
            }
        )
        with self.api(who) as api:
            return api.request("LOCK", self.state_path(state), content=body)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, dict[str, str]]]:
    root = tmp_path_factory.mktemp("tfstate-server")
    config = root / "signalbox.toml"
    tables = "".join(f'[environments.{name}]\ntimezone = "UTC"\n' for name in ENVIRONMENTS)
    config.write_text(tables, encoding="utf-8")
    env = {
        "SIGNALBOX_DATABASE_URL": f"sqlite:///{root / 'signalbox.db'}",
        "SIGNALBOX_ADMIN_TOKEN": ADMIN,
        "SIGNALBOX_STATE_KEYS": _key(),
    }
    with ServerProcess(config=config, env=env, log=root / "server.log") as process:
        tokens = {
            name: create_token(process.url, ADMIN, name, [grant], ci=ci)
            for name, grant, ci in (
                ("platform-eng", "developer:*", False),
                ("front-end", "developer:*", False),
                ("ci-dev", "developer:*", True),
                ("root", "admin:*", False),
            )
        }
        yield process.url, tokens


def _key() -> str:
    from signalbox.storage.state_crypto import new_key_text

    return new_key_text("e2e")


_next_environment = itertools.count()


@pytest.fixture
def backend(server) -> Backend:
    url, tokens = server
    return Backend(url, ENVIRONMENTS[next(_next_environment)], tokens)


def configuration(version: str, url: str, env: str, state: str, *names: str) -> str:
    """A Terraform configuration with the backend block ``signalbox tf-config`` prints and one
    resource per name (terraform_data on 1.15.5, null_resource on 1.0.3)."""
    from signalbox.cli.state import backend_block

    block = backend_block(url, env, state)
    if version == "1.0.3":
        block = block.replace(
            "terraform {",
            'terraform {\n  required_providers {\n    null = { source = "hashicorp/null", '
            'version = "2.1.2" }\n  }',
        )
    kind = resource_type(version)
    resources = "".join(f'resource "{kind}" "{name}" {{}}\n' for name in names)
    return f'{block}\n{resources}output "environment" {{ value = "{env}" }}\n'


def resource_type(version: str) -> str:
    return "null_resource" if version == "1.0.3" else "terraform_data"


@pytest.fixture(params=VERSIONS)
def terraform_for(request, terraform_workdir, backend):
    """``terraform_for("platform-eng", "pool", ...)``: a workdir of this test's Terraform
    version, configured for this test's environment, running with that person's token."""
    version = request.param

    def make(who: str, *names: str, state: str = "main", name: str = "tf"):
        workdir = terraform_workdir(
            version,
            null_provider=version == "1.0.3",
            name=name,
            extra_env={"TF_HTTP_USERNAME": who, "TF_HTTP_PASSWORD": backend.tokens[who]},
        )
        workdir.write("main.tf", configuration(version, backend.url, backend.env, state, *names))
        workdir.version = version  # type: ignore[attr-defined]
        return workdir

    return make


def output(run) -> str:
    """stdout and stderr of a Terraform run, with its line wrapping undone."""
    return " ".join((run.stdout + run.stderr).split())


__all__ = ["Backend", "Path", "output", "resource_type"]

"""Two real `signalbox serve` processes share one PostgreSQL database; clients race through
both for the same hold. Exactly one wins each round; fencing tokens go 1, 2, 3, ..."""

from __future__ import annotations

import threading

import httpx
import pytest
from tests.support.servers import create_token, two_servers

from signalbox.testing import PostgresDatabases, postgres_url

ADMIN = "sbx_two-servers-admin"
ROUNDS = 10
CLIENTS = 8
CONFIG = '[environments.dev]\ntimezone = "Europe/Berlin"\n'

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    base = postgres_url()
    if not base:
        pytest.skip("needs SIGNALBOX_TEST_DATABASE_URL (PostgreSQL); .ci/run sets it")
    databases = PostgresDatabases(base)
    url = databases.create()
    folder = tmp_path_factory.mktemp("two-servers")
    env = {"SIGNALBOX_DATABASE_URL": url, "SIGNALBOX_ADMIN_TOKEN": ADMIN}
    try:
        with two_servers(folder, CONFIG, env) as running:
            yield running
    finally:
        databases.drop_all()


def test_clients_racing_through_two_servers_get_one_hold_per_round(servers):
    first, second = servers
    tokens = [
        create_token(first.url, ADMIN, f"dev-{index}", ["developer:dev"])
        for index in range(CLIENTS)
    ]
    barrier = threading.Barrier(CLIENTS)
    outcomes: list[tuple[int, int, int | None]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        mine, other = (first, second) if index % 2 else (second, first)
        headers = {"Authorization": f"Bearer {tokens[index]}"}
        try:
            with httpx.Client(headers=headers, timeout=60) as http:
                for round_number in range(ROUNDS):
                    barrier.wait(timeout=120)
                    answer = http.post(
                        mine.url + "/api/environments/dev/hold",
                        json={"reason": f"round {round_number}"},
                    )
                    assert answer.status_code in (200, 409), answer.text
                    token = answer.json()["hold"]["fencing_token"] if answer.is_success else None
                    if not answer.is_success:
                        assert answer.json()["code"] == "held"
                    with lock:
                        outcomes.append((round_number, answer.status_code, token))
                    barrier.wait(timeout=120)
                    if token is not None:  # release through the other server
                        released = http.delete(other.url + "/api/environments/dev/hold")
                        assert released.status_code == 200, released.text
        except BaseException as failure:
            failures.append(failure)
            barrier.abort()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    assert not failures, failures[0]
    winners = sorted((r, t) for r, status, t in outcomes if status == 200)
    assert [r for r, _ in winners] == list(range(ROUNDS)), "each round exactly one winner"
    assert [t for _, t in winners] == list(range(1, ROUNDS + 1))
    assert len(outcomes) == CLIENTS * ROUNDS

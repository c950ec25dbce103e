"""The http backend over HTTP, in process: what Terraform sends, what it gets back."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.api.conftest import ADMIN
from tests.api.tfstate.states import content_md5, state_body

from signalbox.storage.tfstate_tables import TfStateChunkRow


def test_a_new_state_is_404_and_an_unknown_environment_is_not(terraform, client, ci):
    assert terraform.read(ci).status_code == 404
    answer = client.get("/tf/nope/network", headers=ci)
    assert answer.status_code == 400
    assert answer.json()["code"] == "unknown-environment"


def test_without_a_token_401_and_without_a_grant_403(client, token_for):
    assert client.get("/tf/dev/network").status_code == 401
    viewer = token_for("coo", "stakeholder:dev")
    assert client.get("/tf/dev/network", headers=viewer).status_code == 403


def test_lock_write_read_unlock(terraform, ci):
    body = state_body(1, "pool")
    assert terraform.lock(ci, "L1").status_code == 200
    assert terraform.write(ci, body, lock_id="L1").status_code == 200
    answer = terraform.read(ci)
    assert answer.status_code == 200 and answer.content == body
    assert answer.headers["content-md5"] == content_md5(body)
    assert terraform.unlock(ci, "L1").status_code == 200
    assert terraform.lock(ci, "L2").status_code == 200


def test_a_second_lock_is_423_naming_the_holder(terraform, ci, engineer):
    assert terraform.lock(ci, "L1").status_code == 200
    refused = terraform.lock(engineer, "L2")
    assert refused.status_code == 423
    info = refused.json()
    assert set(info) == {"ID", "Operation", "Info", "Who", "Version", "Created", "Path"}
    assert info["ID"].startswith("locked by ci-dev: OperationTypeApply since ")
    assert "L1" in info["ID"]


def test_a_hold_refuses_the_lock_with_the_reason_in_the_id(client, terraform, ci, token_for):
    holder = token_for("platform-eng", "developer:dev")
    held = client.post(
        "/api/environments/dev/hold",
        headers=holder,
        json={"reason": "renaming cognito pool", "duration": "4h"},
    )
    assert held.status_code == 200
    refused = terraform.lock(ci, "L1", operation="OperationTypePlan")
    assert refused.status_code == 423
    assert refused.json()["ID"] == (
        "held by platform-eng: renaming cognito pool (until 17:00) - signalbox release dev"
    )


def test_writes_without_the_lock_id_are_refused_and_nothing_is_stored(terraform, ci, engineer):
    assert terraform.lock(ci, "L1").status_code == 200
    assert terraform.write(ci, state_body(1, "a"), lock_id="L1").status_code == 200
    for lock_id in (None, "L9"):
        refused = terraform.write(engineer, state_body(2, "b"), lock_id=lock_id)
        assert refused.status_code == 423
        assert refused.json()["code"] == "state-locked"
        assert refused.json()["cause"] == "lock-mismatch"
    assert terraform.read(ci).content == state_body(1, "a")


def test_a_corrupted_checksum_is_refused(terraform, ci):
    assert terraform.write(ci, state_body(1, "a")).status_code == 200
    refused = terraform.write(ci, state_body(2, "b"), md5=content_md5(b"other"))
    assert refused.status_code == 422 and refused.json()["cause"] == "checksum"
    assert terraform.read(ci).content == state_body(1, "a")


@pytest.mark.parametrize(
    ("body", "cause"),
    [
        (state_body(1, "x"), "serial"),
        (state_body(3, "x", lineage="other"), "lineage"),
        (b"not a state", "not-a-state"),
    ],
)
def test_history_rules(terraform, ci, body, cause):
    assert terraform.write(ci, state_body(2, "a")).status_code == 200
    refused = terraform.write(ci, body)
    assert refused.status_code in (409, 422)
    assert refused.json()["cause"] == cause
    assert terraform.read(ci).content == state_body(2, "a")


def test_the_same_write_again_is_accepted_once(terraform, ci, client):
    body = state_body(1, "a")
    assert terraform.write(ci, body).status_code == 200
    assert terraform.write(ci, body).status_code == 200
    versions = client.get("/api/states/dev/network", headers=ADMIN)
    assert [v["serial"] for v in versions.json()["versions"]] == [1]


def test_unlock_rules(terraform, ci, engineer, admin):
    assert terraform.lock(ci, "L1").status_code == 200
    assert terraform.unlock(engineer, None).status_code == 409
    assert terraform.unlock(engineer, "L1").status_code == 409
    assert terraform.unlock(ci, None).status_code == 200  # force-unlock by the owner
    assert terraform.lock(ci, "L2").status_code == 200
    assert terraform.unlock(admin, None).status_code == 200  # force-unlock by an admin
    assert terraform.lock(engineer, "L3").status_code == 200


def test_lock_routes_for_clients_without_custom_methods(client, ci, engineer):
    from tests.api.tfstate.states import lock_json

    assert client.post("/tf/dev/app/lock", headers=ci, content=lock_json("L1")).status_code == 200
    refused = client.post("/tf/dev/app/lock", headers=engineer, content=lock_json("L2"))
    assert refused.status_code == 423
    assert (
        client.request(
            "DELETE", "/tf/dev/app/lock", headers=ci, content=lock_json("L1")
        ).status_code
        == 200
    )


def test_a_persons_write_on_a_free_environment_holds_it_for_them(terraform, client, engineer):
    assert terraform.write(engineer, state_body(1, "pool")).status_code == 200
    status = client.get("/api/environments/dev", headers=ADMIN).json()
    assert status["state"] == "held" and status["hold"]["owner"] == "platform-eng"
    events = client.get("/api/events?env=dev", headers=ADMIN).json()
    messages = [event["message"] for event in events["events"]]
    assert (
        "platform-eng wrote dev/network (serial 1) from outside a deploy: dev is now held for "
        "them until 15:00 CET." in messages
    )


def test_a_ci_write_places_no_hold(terraform, client, ci):
    assert terraform.write(ci, state_body(1, "pool")).status_code == 200
    assert client.get("/api/environments/dev", headers=ADMIN).json()["state"] == "free"


def test_a_write_by_someone_else_while_held_is_refused(terraform, engineer, colleague, clock):
    assert terraform.write(engineer, state_body(1, "a")).status_code == 200  # auto hold
    clock.advance(timedelta(minutes=5))
    refused = terraform.write(colleague, state_body(2, "b"))
    assert refused.status_code == 423 and refused.json()["cause"] == "held"
    assert "platform-eng" in refused.json()["detail"]


def test_a_state_larger_than_the_limit_is_413(terraform, ci):
    from tests.api.tfstate.conftest import MAX_STATE_BYTES

    big = b'{"serial": 1, "lineage": "x", "pad": "' + b"x" * MAX_STATE_BYTES + b'"}'
    answer = terraform.write(ci, big)
    assert answer.status_code == 413 and answer.json()["code"] == "payload-too-large"
    assert terraform.read(ci).status_code == 404


def test_delete_keeps_history_and_reads_as_no_state(terraform, client, ci):
    assert terraform.write(ci, state_body(1, "a")).status_code == 200
    assert client.delete("/tf/dev/network", headers=ci).status_code == 200
    assert terraform.read(ci).status_code == 404
    assert terraform.write(ci, state_body(1, "a", lineage="fresh")).status_code == 200


@pytest.mark.parametrize("settings", ["clear", "encrypted"], indirect=True)
def test_bodies_are_encrypted_at_rest_with_a_key(client, database, settings, ci):
    from tests.api.tfstate.states import LINEAGE

    body = state_body(1, "pool", secret="hunter2-very-secret") + b" " * 3_000_00
    assert client.post("/tf/dev/network", headers=ci, content=body).status_code == 200
    assert client.get("/tf/dev/network", headers=ci).content == body
    with database.connect() as connection:
        stored = b"".join(bytes(row) for row in connection.scalars(select(TfStateChunkRow.data)))
    encrypted = bool(settings.state_keys)
    assert (b"hunter2-very-secret" in stored) is not encrypted
    assert (LINEAGE.encode() in stored) is not encrypted
    assert json.loads(client.get("/tf/dev/network", headers=ci).content)["serial"] == 1


def test_refused_and_repeated_writes_leave_no_staged_body(terraform, ci, database, clock):
    from sqlalchemy import func

    from signalbox.services.housekeeping import tidy
    from signalbox.storage.repositories.tfstate import create_blob
    from signalbox.storage.tfstate_tables import TfStateBlobRow

    abandoned = create_blob(database, now=clock.now())  # a client that went away
    assert terraform.write(ci, state_body(1, "a")).status_code == 200
    assert terraform.write(ci, state_body(1, "a")).status_code == 200  # the same again
    assert terraform.write(ci, state_body(0, "b")).status_code == 409
    clock.advance(timedelta(hours=2))
    assert terraform.write(ci, state_body(2, "c")).status_code == 200
    tidy(database, now=clock.now())  # the server's housekeeping: the silent upload goes
    with database.connect() as connection:
        blobs = connection.execute(select(TfStateBlobRow.id, TfStateBlobRow.done)).all()
        chunks = connection.execute(select(func.count()).select_from(TfStateChunkRow)).scalar()
    assert abandoned not in {blob_id for blob_id, _ in blobs}
    assert len(blobs) == 2 and all(done for _, done in blobs) and chunks == 2


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("LOCK", b"not json"),
        ("LOCK", b"[1]"),
        ("LOCK", b'{"Operation": "OperationTypeApply"}'),  # no ID
        ("UNLOCK", b"not json"),
        ("UNLOCK", b"[1]"),
    ],
)
def test_a_lock_body_that_is_not_lock_json_is_422(client, ci, method, body):
    answer = client.request(method, "/tf/dev/network", headers=ci, content=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "invalid-input"

"""Versions, what a version changed, restore, retention and key rotation."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from tests.api.tfstate.states import state_body

from signalbox.core.tfstate import StateKey
from signalbox.services.tfstate import StateStore, read_state, rotate_keys
from signalbox.storage.state_crypto import new_key_text


def versions(client, headers, path="dev/network"):
    answer = client.get(f"/api/states/{path}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["versions"]


def test_every_accepted_write_is_a_version_with_its_author(terraform, client, ci, clock):
    for serial in (1, 2, 3):
        assert terraform.write(ci, state_body(serial, "a")).status_code == 200
        clock.advance(timedelta(minutes=1))
    listed = versions(client, ci)
    assert [v["serial"] for v in listed] == [3, 2, 1]
    assert {v["author"] for v in listed} == {"ci-dev"} and all(v["author_is_ci"] for v in listed)
    assert datetime.fromisoformat(listed[0]["at"]) == datetime(2026, 11, 26, 12, 2, tzinfo=UTC)
    assert versions(client, ci, "dev")[0]["state"] == "network"


def test_show_lists_the_addresses_removed_and_added(terraform, client, ci):
    assert terraform.write(ci, state_body(1, "pool", "site")).status_code == 200
    assert terraform.write(ci, state_body(2, "users", "site")).status_code == 200
    shown = client.get("/api/states/dev/network/show", headers=ci).json()
    assert shown["removed"] == ["terraform_data.pool"]
    assert shown["added"] == ["terraform_data.users"]
    assert shown["version"]["serial"] == 2 and shown["previous"]["serial"] == 1
    first = client.get("/api/states/dev/network/show?serial=1", headers=ci).json()
    assert first["added"] == ["terraform_data.pool", "terraform_data.site"]


def test_unknown_state_or_serial_is_404(client, ci, terraform):
    assert client.get("/api/states/dev/nope", headers=ci).status_code == 404
    assert terraform.write(ci, state_body(1, "a")).status_code == 200
    answer = client.get("/api/states/dev/network/show?serial=9", headers=ci)
    assert answer.status_code == 404 and answer.json()["code"] == "unknown-state"


def test_restore_needs_the_admin_grant_and_a_hold(terraform, client, ci, admin):
    assert terraform.write(ci, state_body(1, "pool")).status_code == 200
    assert terraform.write(ci, state_body(2)).status_code == 200
    denied = client.post("/api/states/dev/network/restore", headers=ci, json={"serial": 1})
    assert denied.status_code == 403
    no_hold = client.post("/api/states/dev/network/restore", headers=admin, json={"serial": 1})
    assert no_hold.status_code == 409 and no_hold.json()["code"] == "not-holder"
    held = client.post(
        "/api/environments/dev/hold",
        headers=admin,
        json={"reason": "restore network", "duration": "1h"},
    )
    assert held.status_code == 200
    restored = client.post("/api/states/dev/network/restore", headers=admin, json={"serial": 1})
    assert restored.status_code == 200, restored.text
    assert restored.json()["version"]["serial"] == 3
    assert restored.json()["version"]["restored_from"] == 1
    body = json.loads(terraform.read(admin).content)
    assert body["serial"] == 3 and [r["name"] for r in body["resources"]] == ["pool"]
    assert [v["serial"] for v in versions(client, admin)] == [3, 2, 1]
    # Terraform continues from the restored version: serial 4 is accepted
    assert terraform.write(admin, state_body(4, "pool")).status_code == 200


@pytest.mark.parametrize("settings", ["encrypted"], indirect=True)
def test_retention_prunes_bodies_but_keeps_rows_and_the_newest(app, client, ci, settings, database):
    small = replace(settings, state_retention=2)
    state_store = StateStore.from_settings(database, small)
    client.app.state.server = replace(client.app.state.server, state_store=state_store)
    for serial in range(1, 5):
        assert (
            client.post("/tf/dev/network", headers=ci, content=state_body(serial, "a")).status_code
            == 200
        )
    listed = versions(client, ci)
    assert [(v["serial"], v["pruned"]) for v in listed] == [
        (4, False),
        (3, False),
        (2, True),
        (1, True),
    ]
    stored = read_state(state_store, key=StateKey("dev", "network"))
    assert stored is not None and json.loads(b"".join(stored.body))["serial"] == 4
    note = client.get("/api/states/dev/network/show?serial=2", headers=ci).json()["note"]
    assert "pruned" in note


def test_rotate_keys_reencrypts_clear_and_old_bodies(client, ci, settings, database, clock):
    assert client.post("/tf/dev/network", headers=ci, content=state_body(1, "a")).status_code == 200
    old_key = new_key_text("old")
    old = StateStore.from_settings(database, replace(settings, state_keys=old_key))
    client.app.state.server = replace(client.app.state.server, state_store=old)
    assert client.post("/tf/dev/network", headers=ci, content=state_body(2, "b")).status_code == 200
    rotated = StateStore.from_settings(
        database, replace(settings, state_keys=f"{new_key_text('new')},{old_key}")
    )
    assert rotate_keys(rotated, now=clock.now()) == 2
    assert rotate_keys(rotated, now=clock.now()) == 0
    only_new = StateStore.from_settings(
        database, replace(settings, state_keys=rotated.settings.state_keys.split(",")[0])
    )
    stored = read_state(only_new, key=StateKey("dev", "network"))
    assert stored is not None and json.loads(b"".join(stored.body))["serial"] == 2
    client.app.state.server = replace(client.app.state.server, state_store=only_new)
    assert versions(client, ci)[1]["encrypted"] is True

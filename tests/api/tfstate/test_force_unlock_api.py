"""`terraform force-unlock` (UNLOCK with an empty body) answers what is true: a hold is not
a Terraform lock, so it is refused naming the holder and the signalbox command that ends it;
nothing locked is "nothing to unlock". Nothing changes either way, and the refusal is in the
event log."""

from __future__ import annotations


def hold(client, headers, reason: str = "renaming cognito pool"):
    answer = client.post(
        "/api/environments/dev/hold", headers=headers, json={"reason": reason, "duration": "4h"}
    )
    assert answer.status_code == 200, answer.text


def test_force_unlock_of_a_held_environment_is_423_naming_the_hold(
    terraform, client, engineer, admin
):
    hold(client, engineer)
    refused = terraform.unlock(admin, None)
    assert refused.status_code == 423
    problem = refused.json()
    assert problem["code"] == "state-locked" and problem["cause"] == "held"
    assert problem["detail"].startswith(
        "dev is held by platform-eng (renaming cognito pool, until "
    )
    assert (
        "not locked by Terraform: `terraform force-unlock` cannot end a hold" in problem["detail"]
    )
    assert '`signalbox force-release dev --reason "..."`' in problem["detail"]
    assert problem["whom"] == "platform-eng"
    status = client.get("/api/environments/dev", headers=engineer).json()
    assert status["state"] == "held" and status["hold"]["owner"] == "platform-eng"
    events = client.get("/api/events", params={"env": "dev"}, headers=admin).json()["events"]
    assert events[0]["kind"] == "state.unlock-refused" and events[0]["data"]["cause"] == "held"


def test_force_unlock_by_the_holder_points_to_release(terraform, client, engineer):
    hold(client, engineer)
    refused = terraform.unlock(engineer, None)
    assert refused.status_code == 423
    assert refused.json()["detail"].endswith("End your hold with `signalbox release dev`.")


def test_force_unlock_of_nothing_is_409_nothing_to_unlock(terraform, admin):
    refused = terraform.unlock(admin, None)
    assert refused.status_code == 409
    assert refused.json()["cause"] == "not-locked"
    assert "there is nothing to unlock" in refused.json()["detail"]


def test_a_real_lock_under_a_hold_is_still_force_unlocked(terraform, client, engineer, admin):
    assert terraform.lock(engineer, "eng-lock").status_code == 200
    hold(client, engineer)
    assert terraform.unlock(admin, None).status_code == 200
    assert terraform.lock(engineer, "eng-lock-2").status_code == 200  # the lock is gone


def test_a_runs_unlock_after_its_lock_was_force_unlocked_still_succeeds(terraform, engineer, admin):
    assert terraform.lock(engineer, "eng-lock").status_code == 200
    assert terraform.unlock(admin, None).status_code == 200
    assert terraform.unlock(engineer, "eng-lock").status_code == 200

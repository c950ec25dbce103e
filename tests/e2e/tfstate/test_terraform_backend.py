"""Terraform 1.15.5 and 1.0.3 against a real `signalbox serve` as their http backend."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys

import httpx
from tests.e2e.tfstate.conftest import output, resource_type


def test_init_apply_plan(terraform_for, backend):
    tf = terraform_for("ci-dev", "pool")
    tf.init().check("init")
    tf.apply().check("apply")
    assert tf.run("plan", "-detailed-exitcode").exit_code == 0  # no changes: state was read
    stored = json.loads(backend.stored())
    assert [r["name"] for r in stored["resources"]] == ["pool"]
    with backend.api("ci-dev") as api:
        versions = api.get(f"/api/states/{backend.env}/main").json()["versions"]
    assert versions[0]["author"] == "ci-dev" and versions[0]["encrypted"] is True


def test_an_apply_while_another_run_holds_the_lock_names_the_holder(terraform_for, backend):
    tf = terraform_for("platform-eng", "pool")
    tf.init().check("init")
    assert backend.lock_as("ci-dev", "ci-lock-1").status_code == 200
    refused = tf.apply()
    assert refused.exit_code != 0
    assert "Error acquiring the state lock" in output(refused)
    assert "locked by ci-dev: OperationTypeApply" in output(refused)
    assert backend.stored() is None


def test_an_apply_while_someone_holds_the_environment_says_who_and_why(terraform_for, backend):
    tf = terraform_for("ci-dev", "pool")
    tf.init().check("init")
    held = signalbox(
        backend,
        "platform-eng",
        "hold",
        backend.env,
        "--reason",
        "renaming cognito pool",
        "--for",
        "4h",
    )
    assert held.returncode == 0, held.stderr
    refused = tf.apply()
    assert refused.exit_code != 0
    assert "held by platform-eng: renaming cognito pool (until " in output(refused)
    assert f"signalbox release {backend.env}" in output(refused)
    assert "Resources: 1 added" not in output(refused)


def test_lock_false_cannot_overwrite_a_locked_state(terraform_for, backend):
    tf = terraform_for("ci-dev", "pool")
    tf.init().check("init")
    tf.apply().check("first apply")
    before = backend.stored()
    assert backend.lock_as("platform-eng", "eng-lock").status_code == 200
    tf.write(
        "main.tf",
        tf.directory.joinpath("main.tf")
        .read_text()
        .replace('"pool" {}', '"pool" {}\nresource "' + resource_type(tf.version) + '" "extra" {}'),
    )
    forced = tf.apply(lock=False)
    assert forced.exit_code != 0
    assert "HTTP error: 423" in output(forced)
    assert backend.stored() == before


def test_force_unlock_by_the_owner_works_and_by_a_stranger_does_not(terraform_for, backend):
    owner = terraform_for("platform-eng", "pool", name="owner")
    stranger = terraform_for("front-end", "pool", name="stranger")
    owner.init().check("init")
    stranger.init().check("init")
    assert backend.lock_as("platform-eng", "eng-lock").status_code == 200
    refused = stranger.run("force-unlock", "-force", "eng-lock")
    assert refused.exit_code != 0
    assert backend.lock_as("ci-dev", "ci-lock").status_code == 423  # still locked
    owner.run("force-unlock", "-force", "eng-lock").check("force-unlock by the owner")
    assert backend.lock_as("ci-dev", "ci-lock").status_code == 200


def test_force_unlock_against_a_hold_fails_and_the_hold_stays(terraform_for, backend):
    """No Terraform lock, only a signalbox hold: force-unlock must not report success."""
    admin = terraform_for("root", "pool")
    admin.init().check("init")
    backend.hold("platform-eng", "renaming cognito pool")
    refused = admin.run("force-unlock", "-force", "whatever-id")
    assert refused.exit_code != 0, output(refused)
    assert "successfully unlocked" not in output(refused)
    assert "423" in output(refused)  # all Terraform prints of a refused UNLOCK
    status = backend.status()
    assert status["state"] == "held" and status["hold"]["owner"] == "platform-eng"
    assert any(
        "not locked by Terraform: `terraform force-unlock` cannot end a hold" in message
        for message in backend.events()
    )


def test_a_restore_brings_back_the_previous_resources(terraform_for, backend, tmp_path):
    tf = terraform_for("ci-dev", "pool", "site")
    tf.init().check("init")
    tf.apply().check("apply")
    before = json.loads(backend.stored())["serial"]
    tf.write(
        "main.tf",
        tf.directory.joinpath("main.tf")
        .read_text()
        .replace(f'resource "{resource_type(tf.version)}" "pool" {{}}\n', ""),
    )
    tf.apply().check("apply that destroys the pool")
    pool = f"{resource_type(tf.version)}.pool"
    assert pool not in tf.run("state", "list").stdout
    shown = signalbox(backend, "root", "state", "show", backend.env, "main")
    assert f"{pool} removed at " in shown.stdout and "by ci-dev" in shown.stdout
    backend.hold("root", "restore the pool")
    restored = signalbox(
        backend, "root", "state", "restore", backend.env, "main", "--serial", str(before)
    )
    assert restored.returncode == 0, restored.stderr
    assert pool in tf.run("state", "list").stdout
    versions = signalbox(backend, "root", "state", "versions", backend.env, "main").stdout
    assert f"restored from {before}" in versions


def test_a_corrupted_content_md5_is_refused_and_nothing_changes(terraform_for, backend):
    tf = terraform_for("ci-dev", "pool")
    tf.init().check("init")
    tf.apply().check("apply")
    before = backend.stored()
    state = json.loads(before)
    state["serial"] += 1
    body = json.dumps(state).encode()
    wrong = base64.b64encode(hashlib.md5(body + b" ").digest()).decode()
    answer = httpx.post(
        backend.url + backend.state_path(),
        content=body,
        auth=("ci-dev", backend.tokens["ci-dev"]),
        headers={"Content-MD5": wrong},
    )
    assert answer.status_code == 422 and answer.json()["cause"] == "checksum"
    assert backend.stored() == before


def test_a_persons_write_holds_the_environment_and_ci_does_not(terraform_for, backend):
    ci = terraform_for("ci-dev", "pool", name="ci", state="ci")
    ci.init().check("init")
    ci.apply().check("apply by CI")
    assert backend.status()["state"] == "free"
    laptop = terraform_for("platform-eng", "pool", name="laptop")
    laptop.init().check("init")
    laptop.apply().check("apply from a workstation")
    status = backend.status()
    assert status["state"] == "held" and status["hold"]["owner"] == "platform-eng"
    assert any(
        message.startswith(f"platform-eng wrote {backend.env}/")
        and f"from outside a deploy: {backend.env} is now held for them until " in message
        for message in backend.events()
    )
    blocked = ci.apply()  # CI now meets the automatic hold
    assert "held by platform-eng" in output(blocked)


def signalbox(backend, who: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "SIGNALBOX_URL": backend.url,
        "SIGNALBOX_TOKEN": backend.tokens[who],
        "PATH": "/usr/bin:/bin",
    }
    return subprocess.run(
        [sys.executable, "-m", "signalbox", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )

"""`signalbox tf-config`, `state new-key` and `state rotate-key` (the commands that talk to
the server, versions/show/restore, run against a real server in tests/e2e/tfstate)."""

from __future__ import annotations

import json

import pytest
from tests.support.states import write

from signalbox.cli.main import main
from signalbox.core.tfstate import StateKey
from signalbox.core.views import Principal
from signalbox.services.environments import sync_environments
from signalbox.services.tfstate import StateStore, list_versions, read_state
from signalbox.settings import load_settings
from signalbox.storage import build_engine, upgrade
from signalbox.storage.state_crypto import Keyring, new_key_text
from signalbox.testing import FakeClock


def run(*args):
    with pytest.raises(SystemExit) as done:
        main(list(args))
    return done.value.code


def test_tf_config_prints_the_backend_block_and_a_placeholder(capsys, monkeypatch):
    monkeypatch.setenv("SIGNALBOX_TOKEN", "sbx_secret")
    assert run("tf-config", "dev", "network", "--url", "https://sb.example.com/") == 0
    out = capsys.readouterr().out
    assert 'address        = "https://sb.example.com/tf/dev/network"' in out
    assert 'lock_method    = "LOCK"' in out and 'unlock_method  = "UNLOCK"' in out
    assert "export TF_HTTP_PASSWORD='<your signalbox token>'" in out
    assert "sbx_secret" not in out
    assert run("tf-config", "dev", "network", "--show-token") == 0
    assert "export TF_HTTP_PASSWORD='sbx_secret'" in capsys.readouterr().out


def test_new_key_is_a_usable_state_keys_entry(capsys):
    assert run("state", "new-key", "2026-11") == 0
    entry = capsys.readouterr().out.strip()
    ring = Keyring.from_setting(entry)
    assert ring.primary is not None and ring.primary.id == "2026-11"


def test_rotate_key_reencrypts_what_is_stored(tmp_path, capsys, monkeypatch):
    old, new = new_key_text("old"), new_key_text("new")
    config = tmp_path / "signalbox.toml"
    config.write_text(
        f'[server]\ndatabase_url = "sqlite:///{tmp_path / "x.db"}"\n'
        f'state_keys = "{old}"\n[environments.dev]\n'
    )
    monkeypatch.delenv("SIGNALBOX_DATABASE_URL", raising=False)
    monkeypatch.delenv("SIGNALBOX_STATE_KEYS", raising=False)
    settings = load_settings(config)
    engine = build_engine(settings.database_url)
    upgrade(engine)
    now = FakeClock().now()
    sync_environments(engine, settings, now=now)
    store = StateStore.from_settings(engine, settings)
    body = json.dumps({"version": 4, "serial": 1, "lineage": "L", "resources": []}).encode()

    write(store, StateKey("dev", "main"), body, principal=Principal("ci", True), now=now)
    monkeypatch.setenv("SIGNALBOX_STATE_KEYS", f"{new},{old}")
    assert run("state", "rotate-key", "--config", str(config)) == 0
    assert "Re-encrypted 1 stored state version(s)." in capsys.readouterr().out
    only_new = StateStore(engine, settings, Keyring.from_setting(new))
    stored = read_state(only_new, key=StateKey("dev", "main"))
    assert stored is not None and b"".join(stored.body) == body
    assert [v.encrypted for v in list_versions(only_new, environment="dev")] == [True]
    engine.dispose()


def test_the_readme_shows_what_tf_config_prints(capsys, monkeypatch):
    from pathlib import Path

    monkeypatch.delenv("SIGNALBOX_TOKEN", raising=False)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert run("tf-config", "dev", "network", "--url", "https://signalbox.example.com") == 0
    assert capsys.readouterr().out.strip() in readme

"""`signalbox db upgrade` and `db current` on a SQLite file named by the config."""

from __future__ import annotations

import pytest

from signalbox.cli.main import main
from signalbox.storage import head_revision


def run(*args):
    with pytest.raises(SystemExit) as done:
        main(list(args))
    return done.value.code


def test_upgrade_then_current(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SIGNALBOX_DATABASE_URL", raising=False)
    config = tmp_path / "signalbox.toml"
    config.write_text(f'[server]\ndatabase_url = "sqlite:///{tmp_path / "x.db"}"\n')
    assert run("db", "current", "--config", str(config)) == 0
    assert "(empty)" in capsys.readouterr().out
    assert run("db", "upgrade", "--config", str(config)) == 0
    assert f"revision {head_revision()} (head)" in capsys.readouterr().out
    assert run("db", "current", "--config", str(config)) == 0
    assert capsys.readouterr().out.strip() == f"{head_revision()} (up to date)"


def test_database_url_variable_overrides_the_file(tmp_path, capsys, monkeypatch):
    config = tmp_path / "signalbox.toml"
    config.write_text(f'[server]\ndatabase_url = "sqlite:///{tmp_path / "file.db"}"\n')
    monkeypatch.setenv("SIGNALBOX_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    assert run("db", "upgrade", "--config", str(config)) == 0
    assert (tmp_path / "env.db").exists() and not (tmp_path / "file.db").exists()


# --- db backup and db check, against a real server that writes meanwhile ---

import sqlite3  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402

from signalbox.testing import ServerProcess  # noqa: E402

ADMIN = "sbx_db-admin"


class HoldWriter(threading.Thread):
    """Takes and releases holds on ``dev`` until stopped; remembers every fencing token the
    server acknowledged (2xx) and when."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.acknowledged: list[int] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {ADMIN}"}
        with httpx.Client(base_url=self.url, headers=headers, timeout=30) as http:
            while not self.stopping.is_set():
                taken = http.post("/api/environments/dev/hold", json={"reason": "backup test"})
                taken.raise_for_status()
                self.acknowledged.append(taken.json()["hold"]["fencing_token"])
                http.delete("/api/environments/dev/hold").raise_for_status()


def holds_in(path: Path) -> set[int]:
    with sqlite3.connect(path) as copy:
        return {token for (token,) in copy.execute("SELECT fencing_token FROM holds")}


def serving(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    config = tmp_path / "signalbox.toml"
    database = tmp_path / "live.db"
    config.write_text(f'[server]\ndatabase_url = "sqlite:///{database}"\n[environments.dev]\n')
    return config, database, {"SIGNALBOX_ADMIN_TOKEN": ADMIN}


def test_backup_is_a_consistent_copy_while_the_server_writes(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SIGNALBOX_DATABASE_URL", raising=False)
    config, database, env = serving(tmp_path)
    with ServerProcess(config=config, env=env, log=tmp_path / "server.log") as server:
        writer = HoldWriter(server.url)
        writer.start()
        try:
            while len(writer.acknowledged) < 20:  # the server is busy writing
                assert writer.is_alive()
                writer.stopping.wait(0.01)
            before = list(writer.acknowledged)
            assert run("db", "backup", str(tmp_path / "copy.db"), "--config", str(config)) == 0
            after = list(writer.acknowledged)
        finally:
            writer.stopping.set()
            writer.join(timeout=30)
        told = capsys.readouterr().out
        assert f"to {tmp_path / 'copy.db'}" in told and f"revision {head_revision()}" in told
        copied = holds_in(tmp_path / "copy.db")
        assert set(before) <= copied  # every hold acknowledged before the backup is in it
        assert copied <= set(after) | {max(after) + 1}  # and nothing that never was
        assert copied == set(range(1, max(copied) + 1))  # one moment: no gap
        assert not (tmp_path / "copy.db-wal").exists()  # one self-contained file
        with sqlite3.connect(tmp_path / "copy.db") as copy:
            assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

        assert run("db", "check", "--config", str(config)) == 0  # the live one, while serving
        told = capsys.readouterr().out
        assert "integrity_check: ok" in told and "PROBLEM" not in told

    # Restore as docs/server.md says: server stopped, copy back, -wal/-shm removed, start.
    for leftover in (Path(f"{database}-wal"), Path(f"{database}-shm")):
        leftover.unlink(missing_ok=True)
    database.write_bytes((tmp_path / "copy.db").read_bytes())
    with ServerProcess(config=config, env=env, log=tmp_path / "restored.log") as server:
        headers = {"Authorization": f"Bearer {ADMIN}"}
        taken = httpx.post(
            server.url + "/api/environments/dev/hold", headers=headers, json={"reason": "back"}
        )
        # the copy's last hold (still held in it: the same holder gets it back) or the next
        assert taken.json()["hold"]["fencing_token"] in {max(copied), max(copied) + 1}


def test_backup_never_replaces_a_file_and_refuses_postgresql(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SIGNALBOX_DATABASE_URL", raising=False)
    config, _, _ = serving(tmp_path)
    assert run("db", "upgrade", "--config", str(config)) == 0
    (tmp_path / "taken.db").write_text("keep me")
    assert run("db", "backup", str(tmp_path / "taken.db"), "--config", str(config)) == 2
    assert "already exists" in capsys.readouterr().err
    assert (tmp_path / "taken.db").read_text() == "keep me"

    monkeypatch.setenv("SIGNALBOX_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/x")
    assert run("db", "backup", str(tmp_path / "pg.db"), "--config", str(config)) == 2
    assert "pg_dump" in capsys.readouterr().err
    assert not (tmp_path / "pg.db").exists()


def test_check_finds_broken_references_and_missing_state_segments(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SIGNALBOX_DATABASE_URL", raising=False)
    config, database, _ = serving(tmp_path)
    assert run("db", "upgrade", "--config", str(config)) == 0
    with sqlite3.connect(database) as raw:  # foreign keys are off on a plain connection
        raw.execute(
            "INSERT INTO tf_states (id, environment, name, created_at) "
            "VALUES (7, 'nowhere', 'network', '2026-01-01 00:00:00')"
        )
        raw.execute("INSERT INTO tf_state_blobs (id, created_at, done) VALUES (3, '2026-01-01', 1)")
        raw.execute(
            "INSERT INTO tf_state_versions (state_id, serial, lineage, md5, size, author, "
            "author_is_ci, at, stream_id, segments, blob_id, deleted) VALUES "
            "(7, 4, 'l', 'x', 10, 'a', 0, '2026-01-01 00:00:00', x'00', 2, 3, 0)"
        )
        raw.execute("INSERT INTO tf_state_chunks (blob_id, seq, data) VALUES (3, 0, x'00')")
    capsys.readouterr()
    assert run("db", "check", "--config", str(config)) == 1
    told = capsys.readouterr().out
    assert "foreign_key_check: tf_states row 7 points at a missing environments row" in told
    assert "state bodies: nowhere/network serial 4 has 1 of its 2 segments" in told


def test_check_and_backup_of_a_database_that_is_not_there_make_no_file(
    tmp_path, capsys, monkeypatch
):
    missing = tmp_path / "typo.db"
    monkeypatch.setenv("SIGNALBOX_DATABASE_URL", f"sqlite:///{missing}")
    assert run("db", "check") == 2
    assert run("db", "backup", str(tmp_path / "copy.db")) == 2
    assert f"There is no SQLite database at {missing}" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # neither the database nor a copy

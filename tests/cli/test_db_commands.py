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

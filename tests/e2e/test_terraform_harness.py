"""The real-Terraform harness itself: isolation that the end-to-end tests rely on."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.terraform import TerraformWorkdir, path_with

pytestmark = pytest.mark.terraform


def test_inherited_tf_variables_do_not_reach_terraform_so_the_plugin_cache_stays_off(
    terraform_workdir: Callable[..., TerraformWorkdir],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    cache = tmp_path / "plugin-cache"
    cache.mkdir()
    monkeypatch.setenv("TF_PLUGIN_CACHE_DIR", str(cache))
    workdir = terraform_workdir("1.0.3", null_provider=True)
    workdir.write("main.tf", 'resource "null_resource" "one" {}\n')

    workdir.init().check("terraform init")

    assert "TF_PLUGIN_CACHE_DIR" not in workdir.env
    assert list(cache.iterdir()) == []
    assert (workdir.directory / ".terraform.lock.hcl").read_text().count("hashicorp/null") == 1


@pytest.mark.parametrize("version", ["1.15.5", "1.0.3"])
def test_the_shim_on_path_runs_the_harness_terraform(
    terraform_workdir: Callable[..., TerraformWorkdir], version: str
) -> None:
    workdir = terraform_workdir(version)
    shims = workdir.root / "bin"
    workdir.command.write_shim(shims)

    shown = subprocess.run(
        ["terraform", "version"],
        env={**workdir.env, "PATH": path_with([shims], workdir.env)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert shown.stdout.startswith(f"Terraform v{version}\n")

"""Fixtures shared by every test folder. Append yours; keep each one small and documented."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.support.terraform import (
    TerraformUnavailable,
    TerraformWorkdir,
    null_provider_mirror,
    terraform,
)


@pytest.fixture
def terraform_workdir(tmp_path: Path) -> Callable[..., TerraformWorkdir]:
    """Make an isolated real-Terraform working directory under this test's tmp_path.

    ``terraform_workdir("1.15.5")`` or ``terraform_workdir("1.0.3", null_provider=True)``;
    other keyword arguments go to :class:`TerraformWorkdir` (``extra_env``,
    ``cli_config_extra``, ``timeout``). Skips, saying why, when that Terraform or the
    null provider mirror is not installed.
    """

    def make(
        version: str = "1.15.5", *, null_provider: bool = False, name: str = "tf", **options: Any
    ) -> TerraformWorkdir:
        try:
            command = terraform(version)
            mirror = null_provider_mirror() if null_provider else None
        except TerraformUnavailable as missing:
            pytest.skip(str(missing))
        return TerraformWorkdir(tmp_path / name, command, mirror=mirror, **options)

    return make

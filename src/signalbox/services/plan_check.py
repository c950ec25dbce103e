"""Check Terraform plans against the catalog and a policy: one code path for CLI and server.

    load_catalog(document)             the shipped catalog + the user's [[catalog]] tables
    read_policy_file(path)             signalbox.toml as a dict (ConfigError with the position)
    read_plan_source(path)             the bytes of a plan: a file, "-" (stdin), or a binary
                                       plan file shown as JSON by terraform/tofu on PATH
    check_plan_bytes(data, ...)        read, analyse, decide: a CheckResult
    check_plan_sources(sources, ...)   the same for several plans, one report covering all
    policy_used(file, env, document)   which policy a check applies: the file and its sections
                                       for the environment, or the built-in defaults

This module stays light to import: `signalbox check` must start fast on big plans.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from signalbox.core.errors import (
    ConfigError,
    PlanNotJson,
    PlanUnreadable,
    UnknownEnvironment,
    UsageError,
)
from signalbox.core.plan import (
    Analysis,
    Verdict,
    analyse,
    check_document,
    parse_policy,
    read_plans,
)
from signalbox.core.plan.catalog import Catalog, parse_catalog

__all__ = [
    "STDIN",
    "CheckResult",
    "PolicyUsed",
    "check_plan_bytes",
    "check_plan_sources",
    "choose_environment",
    "load_catalog",
    "policy_used",
    "read_plan_source",
    "read_policy_file",
    "shipped_catalog",
]

STDIN = "-"
ZIP_MAGIC = b"PK\x03\x04"  # a binary plan file written by `terraform plan -out` is a zip
SHOW_TIMEOUT_SECONDS = 300
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class CheckResult:
    """What a check found: the analyses, the JSON document (schema signalbox.check/1) and
    the overall verdict (the worst plan verdict)."""

    analyses: list[Analysis]
    document: dict[str, Any]
    verdict: Verdict


@cache
def shipped_catalog() -> Catalog:
    """The catalog shipped in ``signalbox/data/catalog.toml``, parsed once per process."""
    text = resources.files("signalbox").joinpath("data/catalog.toml").read_text("utf-8")
    return parse_catalog(tomllib.loads(text).get("type", []), where="shipped catalog")


def load_catalog(document: Mapping[str, Any]) -> Catalog:
    """The shipped catalog extended (or overridden, type by type) by ``[[catalog]]`` tables."""
    extra = document.get("catalog", [])
    if not isinstance(extra, list):
        raise ConfigError(
            "catalog in signalbox.toml must be a list of tables.",
            hint="Write each stateful type as its own [[catalog]] table with type and loses.",
        )
    if not extra:
        return shipped_catalog()
    user = parse_catalog(extra, where="[[catalog]]")
    return shipped_catalog().extended(user.types.values())


def read_policy_file(path: str | Path) -> dict[str, Any]:
    """Read a signalbox.toml; a missing or malformed file is a ConfigError with the position."""
    file = Path(path)
    try:
        return tomllib.loads(file.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"The policy file {file} does not exist.",
            hint="Pass --policy with the path of your signalbox.toml, or leave it out to use "
            "the default policy.",
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            f"The policy file {file} cannot be read: {error}.",
            hint="Check the path and its permissions.",
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            f"{file} is not valid TOML: {error}.", hint="Fix the file at the position shown."
        ) from None


def read_plan_source(path: str, *, terraform: str | None = None) -> bytes:
    """The bytes of the plan named by ``path``; ``"-"`` reads standard input.

    A binary plan file (``terraform plan -out``) is turned into JSON by running
    ``<terraform> show -json FILE`` in the file's directory, with ``terraform`` or, if it is
    not given, ``terraform`` or ``tofu`` from PATH. Without one: PlanNotJson, whose hint is
    the exact command to run.
    """
    if path == STDIN:
        if sys.stdin.isatty():
            raise UsageError(
                "- reads the plan from standard input, but nothing is piped in.",
                hint="Pipe the plan in: terraform show -json tfplan | signalbox check - ...",
            )
        data = sys.stdin.buffer.read()
        if data.startswith(ZIP_MAGIC):
            raise PlanNotJson(
                "Standard input holds a binary plan file, not plan JSON.",
                hint="Pipe the JSON instead: terraform show -json tfplan | signalbox check - ...",
            )
        return data
    file = Path(path)
    try:
        with file.open("rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise UsageError(
            f"The plan file {path} does not exist.",
            hint="Check the path. Write a plan as JSON with: terraform plan -out tfplan && "
            "terraform show -json tfplan > plan.json",
        ) from None
    except IsADirectoryError:
        raise UsageError(
            f"{path} is a directory, not a plan file.",
            hint="Pass the plan JSON file (terraform show -json tfplan > plan.json).",
        ) from None
    except OSError as error:
        raise PlanUnreadable(
            f"The plan file {path} cannot be read: {error.strerror}.",
            hint="Check the file's permissions.",
        ) from None
    if data.startswith(ZIP_MAGIC):
        return _show_binary_plan(file, path, terraform)
    return data


def _find_terraform(terraform: str | None) -> str | None:
    if terraform:
        return shutil.which(terraform) or (terraform if Path(terraform).is_file() else None)
    return shutil.which("terraform") or shutil.which("tofu")


def _show_binary_plan(file: Path, shown_name: str, terraform: str | None) -> bytes:
    command = f"terraform show -json {shown_name} > plan.json"
    binary = _find_terraform(terraform)
    if binary is None:
        where = f"{terraform} was not found" if terraform else "no terraform or tofu on PATH"
        raise PlanNotJson(
            f"{shown_name} is a binary plan file, and {where} to turn it into JSON.",
            hint=f"Run this in the Terraform directory, then check plan.json: {command}",
        )
    directory = file.resolve().parent
    try:
        shown = subprocess.run(
            [binary, "show", "-no-color", "-json", file.name],
            cwd=directory,
            capture_output=True,
            timeout=SHOW_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PlanNotJson(
            f"Running {binary} show -json on {shown_name} failed: {error}.",
            hint=f"Run it yourself, then check plan.json: {command}",
        ) from None
    if shown.returncode != 0:
        # stdout only for its Error: lines: anything else on it may be part of the plan
        said = (
            _terraform_error(shown.stderr)
            or _terraform_error(shown.stdout, errors_only=True)
            or "no output"
        )
        made_by = VERSION_MISMATCH.search(said)
        if made_by is not None:
            tool, version = made_by.group(1), made_by.group(2)
            hint = (
                f"Show it with {tool} {version}, the version that made it: run `{command}` "
                f"with {tool} {version}, or pass --terraform with the path of {tool} {version}."
            )
        else:
            hint = (
                f"Run it in the directory where terraform init ran, then check plan.json: {command}"
            )
        raise PlanNotJson(
            f"{binary} show -json {file.name} (in {directory}) failed with exit code "
            f"{shown.returncode}: {said.rstrip('.')}.",
            hint=hint,
        )
    return shown.stdout


VERSION_MISMATCH = re.compile(
    r"created by (Terraform|OpenTofu) v?([0-9][0-9A-Za-z.+-]*?),? but this is"
)
"""Terraform's (and OpenTofu's) reason for refusing a plan file another version made."""
_DIAGNOSTIC_LIMIT = 600


def _terraform_error(output: bytes, *, errors_only: bool = False) -> str:
    """Terraform's first error as one line: its summary and the paragraph that explains it
    (``Error: Invalid plan file: ... created by Terraform 1.15.5, but this is 1.0.3 ...``),
    or the last line said when there is no ``Error:`` (unless ``errors_only``). Colours,
    boxes and control characters are removed; the text is cut at a few hundred characters."""
    text = ANSI_ESCAPE.sub("", output.decode("utf-8", "replace"))
    lines = [line.strip().lstrip("╷│╵").strip() for line in text.splitlines()]
    start = next((i for i, line in enumerate(lines) if line.startswith("Error:")), None)
    if start is None:
        if errors_only:
            return ""
        nonblank = [line for line in lines if line]
        return _printable(nonblank[-1]) if nonblank else ""
    summary = lines[start].removeprefix("Error:").strip()
    detail: list[str] = []
    for line in lines[start + 1 :]:
        if line.startswith(("Error:", "Warning:")) or (not line and detail):
            break
        if line:
            detail.append(line)
    said = f"{summary.rstrip('.')}: {' '.join(detail)}" if detail else summary
    return _printable(said)


def _printable(text: str) -> str:
    shown = "".join(c if c.isprintable() else " " for c in text)
    return shown if len(shown) <= _DIAGNOSTIC_LIMIT else shown[: _DIAGNOSTIC_LIMIT - 3] + "..."


def check_plan_sources(
    sources: Sequence[tuple[str, bytes]],
    *,
    environment: str,
    document: Mapping[str, Any],
) -> CheckResult:
    """Analyse every plan in ``sources`` ((name, bytes) pairs) into one report.

    The policy and catalog are read first, so a bad policy file fails before a big plan is
    parsed. A file holding several JSON documents (terragrunt run-all) gives one plan each.
    """
    policy = parse_policy(environment, document)
    catalog = load_catalog(document)
    analyses = [
        analyse(plan, catalog=catalog, policy=policy)
        for source, data in sources
        for plan in read_plans(data, source=source)
    ]
    report = check_document(analyses, environment=environment)
    return CheckResult(analyses=analyses, document=report, verdict=Verdict(report["verdict"]))


def check_plan_bytes(
    data: bytes, *, source: str, environment: str, document: Mapping[str, Any]
) -> CheckResult:
    """Read, analyse and decide one plan source (which may hold several plan documents)."""
    return check_plan_sources([(source, data)], environment=environment, document=document)


def choose_environment(requested: str | None, document: Mapping[str, Any]) -> str:
    """The environment to check for: ``requested``, or the only one the policy file declares.

    When the file declares environments, ``requested`` must be one of them: a typo must not
    silently fall back to the defaults (a ``--env prdo`` would lose prod's stricter policy).
    """
    tables = document.get("environments", {})
    if not isinstance(tables, Mapping):
        raise ConfigError(
            "[environments] must be a table of environments.",
            hint="Write one [environments.NAME] table per environment.",
        )
    declared = sorted(str(name) for name in tables)
    if requested:
        if declared and requested not in declared:
            raise UnknownEnvironment(
                f"The environment {requested!r} is not declared in the policy file "
                f"(it declares {', '.join(declared)}).",
                hint="Pass one of those with --env, or add an [environments."
                f"{requested}] table to the policy file.",
            )
        return requested
    if len(declared) == 1:
        return declared[0]
    if declared:
        raise UsageError(
            f"No environment given, and the policy file declares {len(declared)}: "
            f"{', '.join(declared)}.",
            hint="Pass the one this plan is for with --env, e.g. --env " + declared[0] + ".",
        )
    raise UsageError(
        "No environment given.",
        hint="Pass the environment this plan is for with --env, e.g. --env dev.",
    )


BUILT_IN_POLICY = "destroying or replacing a stateful resource needs approval"


@dataclass(frozen=True)
class PolicyUsed:
    """Which policy a check applied: the policy file (None: there was none) and its
    sections that apply to the environment, in the order they apply."""

    file: str | None
    environment: str
    sections: tuple[str, ...]
    declared: tuple[str, ...]
    catalog_types: int = 0

    def sentence(self) -> str:
        """``Policy: signalbox.toml, [policy] and [environments.prod.policy].``"""
        if self.file is None:
            return f"Policy: the built-in defaults ({BUILT_IN_POLICY}); no policy file."
        if not self.sections:
            said = (
                f"Policy: the built-in defaults ({BUILT_IN_POLICY}); {self.file} has no "
                f"[policy] nor [environments.{self.environment}.policy] section."
            )
        else:
            names = " and ".join(f"[{name}]" for name in self.sections)
            said = f"Policy: {self.file}, {names}."
        if self.catalog_types:
            plural = "s" if self.catalog_types != 1 else ""
            said += f" Its [[catalog]] adds {self.catalog_types} stateful type{plural}."
        return said

    def warning(self) -> str | None:
        """A warning when the environment is not declared in the policy file (a typo there
        would silently give the checks of every environment, not its own)."""
        if self.file is None or self.environment in self.declared:
            return None
        return (
            f"warning: {self.file} does not declare the environment {self.environment!r} "
            f"(no [environments.{self.environment}] table): only what applies to every "
            "environment was checked. Add the table, or check the spelling of --env."
        )

    def to_plain(self) -> dict[str, Any]:
        return {"file": self.file, "sections": list(self.sections), "text": self.sentence()}


def policy_used(file: str | None, environment: str, document: Mapping[str, Any]) -> PolicyUsed:
    """The policy ``check_plan_sources`` applies for ``environment``, read from ``document``
    (the parsed ``file``; None and an empty document: the built-in defaults)."""
    tables = document.get("environments")
    tables = tables if isinstance(tables, Mapping) else {}
    sections = []
    if isinstance(document.get("policy"), Mapping):
        sections.append("policy")
    table = tables.get(environment)
    if isinstance(table, Mapping) and isinstance(table.get("policy"), Mapping):
        sections.append(f"environments.{environment}.policy")
    return PolicyUsed(
        file=file,
        environment=environment,
        sections=tuple(sections),
        declared=tuple(sorted(str(name) for name in tables)),
        catalog_types=len(catalog) if isinstance(catalog := document.get("catalog"), list) else 0,
    )

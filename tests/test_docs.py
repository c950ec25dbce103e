"""Docs grow with the code: every command, setting, error code and exit code is documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from signalbox.cli.exit_codes import ExitCode
from signalbox.core.errors import all_error_classes
from signalbox.settings import SETTINGS

ROOT = Path(__file__).resolve().parent.parent


def _read(relative: str) -> str:
    return (ROOT / relative).read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    match = re.search(rf"^#+ {re.escape(heading)}\s*$(.*?)(?=^#+ |\Z)", text, re.M | re.S)
    assert match, f"README.md has no '{heading}' section"
    return match.group(1)


@pytest.mark.parametrize("code", list(ExitCode), ids=lambda c: c.name)
def test_every_exit_code_is_in_the_readme(code: ExitCode) -> None:
    table = _section(_read("README.md"), "Exit codes")
    assert re.search(rf"^\|\s*`?{int(code)}`?\s*\|", table, re.M), f"exit code {int(code)}"


@pytest.mark.parametrize("error", all_error_classes(), ids=lambda e: e.code)
def test_every_error_code_is_documented(error: type) -> None:
    assert f"`{error.code}`" in _read("docs/errors.md")


@pytest.mark.parametrize("spec", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_documented(spec) -> None:  # type: ignore[no-untyped-def]
    text = _read("docs/settings.md")
    assert f"`{spec.name}`" in text and f"`{spec.env_var}`" in text


def test_readme_starts_with_what_it_is_and_the_two_commands() -> None:
    head = _read("README.md")[:2500]
    assert "make run" in head and "make test" in head


def test_every_doc_page_is_linked_from_the_readme() -> None:
    readme = _read("README.md")
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"docs/{page.name}" in readme, f"README.md does not link docs/{page.name}"


def _route_paths() -> list[str]:
    from signalbox.api.app import ROUTERS

    return sorted(
        {route.path for router, setting in ROUTERS if setting is None for route in router.routes}
    )


@pytest.mark.parametrize("path", _route_paths())
def test_every_route_is_in_the_api_reference(path: str) -> None:
    """docs/api.md's "Routes" table names every path of the API (parameter names aside:
    ``{env}`` there is ``{environment}`` in the code)."""

    def shape(text: str) -> str:
        return re.sub(r"\{[^}]*\}", "{}", text)

    assert shape(path) in shape(_section(_read("docs/api.md"), "Routes")), path

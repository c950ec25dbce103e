"""docs/cli.md, docs/settings.md, docs/errors.md and docs/events.md are generated; these fail
when they drift."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("tool", "page"),
    [
        ("tools/gen_cli_docs.py", "docs/cli.md"),
        ("tools/gen_settings_doc.py", "docs/settings.md"),
        ("tools/gen_errors_doc.py", "docs/errors.md"),
        ("tools/gen_events_doc.py", "docs/events.md"),
    ],
)
def test_generated_page_matches_the_code(tool, page):
    generated = subprocess.run(
        [sys.executable, str(ROOT / tool)], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert (ROOT / page).read_text(encoding="utf-8") == generated, (
        f"{page} is stale: run `make docs`"
    )


def test_every_error_row_has_an_http_status_and_exit_code():
    rows = [
        line
        for line in (ROOT / "docs/errors.md").read_text().splitlines()
        if line.startswith("| `")
    ]
    from signalbox.core.errors import all_error_classes

    assert len(rows) == len(all_error_classes())
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split(" | ")]
        assert cells[1] and cells[2] and cells[3] and cells[4], row

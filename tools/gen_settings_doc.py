"""Print docs/settings.md: every server setting, generated from ``signalbox.settings.SETTINGS``.

    .venv/bin/python tools/gen_settings_doc.py > docs/settings.md

tests/tools/test_generated_docs.py fails when the committed file drifts from this output.
"""

from __future__ import annotations

import sys

from signalbox.settings import SETTINGS, SettingSpec

HEADER = """# Settings

Generated from `signalbox.settings.SETTINGS` by `tools/gen_settings_doc.py`; a test fails when
this file and the code disagree.

Each setting is read, in order of precedence, from its `SIGNALBOX_*` environment variable,
then from the `[server]` table of `signalbox.toml` (`signalbox serve --config FILE`, or
`SIGNALBOX_CONFIG`, or `./signalbox.toml`), then its default. An unknown key in `[server]` stops
the server with a message naming it. Environments are configured in `[environments.NAME]`
tables: see [server.md](server.md#environments).

| Setting | Environment variable | Default | What it does |
|---|---|---|---|
"""


def _default(spec: SettingSpec) -> str:
    if spec.secret or spec.default in ("", None):
        return "(empty)"
    return f"`{spec.default}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render() -> str:
    rows = [
        f"| `{spec.name}` | `{spec.env_var}` | {_default(spec)} | "
        f"{_cell(spec.help)}{' (secret: never printed)' if spec.secret else ''} |"
        for spec in SETTINGS
    ]
    return HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())

"""`make run`: the main job on embedded defaults. Until the server lands: check the examples.

It runs ``signalbox check`` on examples/plans/*.json for the dev environment of
examples/signalbox.toml, then says what the exit code would do in CI. `make run` itself
succeeds whatever the verdict: a verdict is the report, not a failure of the demo.
"""

from __future__ import annotations

import glob

from signalbox.cli.main import main

MEANINGS = {
    0: "routine: CI would apply",
    3: "needs approval: CI would stop here until someone approves",
    4: "blocked: CI would stop here",
}


def run() -> int:
    plans = sorted(glob.glob("examples/plans/*.json"))
    try:
        main(["check", *plans, "--env", "dev", "--policy", "examples/signalbox.toml"])
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    else:
        code = 0
    meaning = MEANINGS.get(code, "the check itself failed (see the message above)")
    print(f"\n`signalbox check` exit code: {code} ({meaning}).")
    print("Try: .venv/bin/signalbox check examples/plans/*.json --env dev --format markdown")
    return 0 if code in MEANINGS else code


if __name__ == "__main__":
    raise SystemExit(run())

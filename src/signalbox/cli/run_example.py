"""`make run`: the server on examples/signalbox.toml (dev and prod, a 17-minute deploy), on a
SQLite file in .run/, with a bootstrap admin token, and how to use it.

SIGNALBOX_ADMIN_TOKEN is used when set; otherwise a token is generated once and kept in
.run/admin-token (readable by you only), so a restart keeps working with the same token.
SIGNALBOX_DATABASE_URL, when set, replaces the .run/ SQLite file.

`make check-plans` (``python -m signalbox.cli.run_example check-plans``) is the offline plan
report on examples/plans/*.json, and says what its exit code would do in CI.
"""

from __future__ import annotations

import glob
import os
import secrets
import sys
from pathlib import Path

from signalbox.cli.main import main

CONFIG = "examples/signalbox.toml"
RUN_DIR = Path(".run")

MEANINGS = {
    0: "routine: CI would apply",
    3: "needs approval: CI would stop here until someone approves",
    4: "blocked: CI would stop here",
}


def check_plans() -> int:
    plans = sorted(glob.glob("examples/plans/*.json"))
    try:
        main(["check", *plans, "--env", "dev", "--policy", CONFIG])
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    else:
        code = 0
    meaning = MEANINGS.get(code, "the check itself failed (see the message above)")
    print(f"\n`signalbox check` exit code: {code} ({meaning}).")
    print("Try: .venv/bin/signalbox check examples/plans/*.json --env dev --format markdown")
    return 0 if code in MEANINGS else code


def admin_token() -> str:
    """SIGNALBOX_ADMIN_TOKEN, or the one kept in .run/admin-token (made on first use)."""
    if os.environ.get("SIGNALBOX_ADMIN_TOKEN"):
        return os.environ["SIGNALBOX_ADMIN_TOKEN"]
    RUN_DIR.mkdir(exist_ok=True)
    kept = RUN_DIR / "admin-token"
    if not kept.exists():
        kept.touch(mode=0o600)
        kept.write_text("sbx_" + secrets.token_urlsafe(32) + "\n")
    return kept.read_text().strip()


def serve() -> None:
    RUN_DIR.mkdir(exist_ok=True)
    from_env = bool(os.environ.get("SIGNALBOX_ADMIN_TOKEN"))
    token = admin_token()
    kept_file = (RUN_DIR / "admin-token").resolve()
    kept = "$SIGNALBOX_ADMIN_TOKEN" if from_env else f"$(cat {kept_file})"
    os.environ["SIGNALBOX_ADMIN_TOKEN"] = token
    os.environ.setdefault("SIGNALBOX_DATABASE_URL", f"sqlite:///{RUN_DIR / 'signalbox.db'}")
    host = os.environ.get("SIGNALBOX_HOST", "127.0.0.1")
    port = os.environ.get("SIGNALBOX_PORT", "8787")
    url = f"http://{host}:{port}"
    _port_is_free(host, int(port))  # before the instructions: a second `make run` stops here
    print(
        f"""signalbox: starting the server on {url} with {CONFIG} (environments dev, prod)
  database: {os.environ["SIGNALBOX_DATABASE_URL"]}
  the bootstrap admin token is in .run/admin-token (or your SIGNALBOX_ADMIN_TOKEN).

The board: open {url}/ and sign in with that token (or one from `signalbox token create`).

In another terminal:
  export SIGNALBOX_URL={url}
  export SIGNALBOX_TOKEN={kept}
  .venv/bin/signalbox status
  .venv/bin/signalbox hold dev --reason "renaming cognito pool" --for 4h
  .venv/bin/signalbox token create ci-dev --grant developer:dev --ci
  .venv/bin/signalbox incident open dev --title "users cannot log in" --severity sev1
  curl -H "Authorization: Bearer $SIGNALBOX_TOKEN" {url}/api/environments
API docs: {url}/docs    Stop with Ctrl-C.
The whole story, on a server of its own: .venv/bin/signalbox demo
""",
        flush=True,
    )
    main(["serve", "--config", CONFIG, "--host", host, "--port", port])


def _port_is_free(host: str, port: int) -> None:
    """Exit 2 with ``serve``'s own message (naming the process) when the port is taken."""
    from signalbox.cli.exit_codes import ExitCode, one_line
    from signalbox.cli.listen import bind_listener
    from signalbox.core.errors import ConfigError

    try:
        bind_listener(host, port).close()
    except ConfigError as taken:
        print(one_line(taken), file=sys.stderr)
        raise SystemExit(int(ExitCode.USAGE)) from None


if __name__ == "__main__":
    if sys.argv[1:] == ["check-plans"]:
        raise SystemExit(check_plans())
    serve()

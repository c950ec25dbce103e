"""The demo's stand-in for `terraform apply`: writes one of three versions of dev's state
through signalbox's Terraform state backend, as Terraform's http backend would.

    python -m signalbox.demo.apply before|after|restored [--until FILE]

``before`` has the user pool (``aws_cognito_user_pool.main``), ``after`` is the rename
gone wrong (the pool destroyed and a new, empty one created), ``restored`` brings the pool
back. With ``--until FILE`` it keeps running until FILE exists (a long deploy that the demo
ends when its story needs it to). It reads SIGNALBOX_URL and SIGNALBOX_TOKEN, like the gate
that runs it. The states hold no secrets.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

__all__ = ["STATE_PATH", "state_body"]

STATE_PATH = "/tf/dev/app"
LINEAGE = "5f1d7a52-demo-4c1e-9f0e-signalbox000"
_AWS = 'provider["registry.terraform.io/hashicorp/aws"]'


def _resource(kind: str, name: str, ident: str) -> dict[str, Any]:
    return {
        "mode": "managed",
        "type": kind,
        "name": name,
        "provider": _AWS,
        "instances": [{"schema_version": 0, "attributes": {"id": ident}}],
    }


def state_body(version: str) -> bytes:
    """The state ``version`` (before, after, restored) as Terraform would write it."""
    site = _resource("aws_s3_bucket", "site", "acme-dev-site")
    pools = {
        "before": (1, [_resource("aws_cognito_user_pool", "main", "eu-central-1_Demo1")]),
        "after": (2, [_resource("aws_cognito_user_pool", "users", "eu-central-1_Demo2")]),
        "restored": (
            3,
            [
                _resource("aws_cognito_user_pool", "main", "eu-central-1_Demo3"),
                _resource("aws_cognito_user_pool", "users", "eu-central-1_Demo2"),
            ],
        ),
    }
    serial, resources = pools[version]
    state = {
        "version": 4,
        "terraform_version": "1.15.5",
        "serial": serial,
        "lineage": LINEAGE,
        "outputs": {},
        "resources": [site, *resources],
        "check_results": None,
    }
    return json.dumps(state, indent=2).encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m signalbox.demo.apply")
    parser.add_argument("version", choices=("before", "after", "restored"))
    parser.add_argument("--until", type=Path, help="keep running until this file exists")
    options = parser.parse_args(argv)
    if options.until is not None:
        deadline = time.monotonic() + 120
        while not options.until.exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # a long deploy, ended by the demo's story
    url, token = os.environ["SIGNALBOX_URL"], os.environ["SIGNALBOX_TOKEN"]
    answer = httpx.post(
        url + STATE_PATH,
        content=state_body(options.version),
        auth=("terraform", token),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    if answer.status_code >= 300:
        print(f"the state write was refused: {answer.status_code} {answer.text}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Terraform-shaped state bodies and lock JSON for tests of the state backend."""

from __future__ import annotations

import base64
import hashlib
import json

LINEAGE = "5e1f1c9a-0b1c-4f1e-8c5e-3c9f0e6a7b2d"


def state_body(serial: int, *names: str, lineage: str = LINEAGE, secret: str = "s3cr3t") -> bytes:
    """A version-4 state with one ``terraform_data`` resource per name."""
    resources = [
        {
            "mode": "managed",
            "type": "terraform_data",
            "name": name,
            "provider": 'provider["terraform.io/builtin/terraform"]',
            "instances": [{"schema_version": 0, "attributes": {"id": name, "input": secret}}],
        }
        for name in names
    ]
    document = {
        "version": 4,
        "terraform_version": "1.15.5",
        "serial": serial,
        "lineage": lineage,
        "outputs": {},
        "resources": resources,
        "check_results": None,
    }
    return json.dumps(document, indent=2).encode()


def content_md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def lock_json(lock_id: str, operation: str = "OperationTypeApply", who: str = "alice@laptop"):
    return json.dumps(
        {
            "ID": lock_id,
            "Operation": operation,
            "Info": "",
            "Who": who,
            "Version": "1.15.5",
            "Created": "2026-11-26T12:00:00.000000Z",
            "Path": "",
        }
    ).encode()

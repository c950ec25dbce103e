"""Terraform's lock info: the 7-field JSON that LOCK and UNLOCK carry.

Terraform (1.0.3 to 1.15.5) sends ``{"ID", "Operation", "Info", "Who", "Version", "Created",
"Path"}`` as the body of LOCK and UNLOCK. We read it tolerantly: missing fields become empty
strings, extra fields are ignored, non-string values are turned into text. An UNLOCK sent
by ``terraform force-unlock`` has an empty body; ``parse_lock_info`` returns None for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

__all__ = ["FIELDS", "READ_ONLY_OPERATIONS", "LockInfo", "parse_lock_info"]

FIELDS = ("ID", "Operation", "Info", "Who", "Version", "Created", "Path")

# The only operation that cannot change the state. "OperationTypeRefresh" (`terraform
# refresh`) writes the refreshed state, and the CLI commands (state mv, import, taint, ...)
# name their operation freely, so every other value, missing ones included, may change it.
READ_ONLY_OPERATIONS = frozenset({"OperationTypePlan"})


@dataclass(frozen=True, slots=True)
class LockInfo:
    """One Terraform lock as Terraform describes it; every field is text, possibly empty."""

    id: str
    operation: str = ""
    info: str = ""
    who: str = ""
    version: str = ""
    created: str = ""
    path: str = ""

    @property
    def read_only(self) -> bool:
        """True when the locked operation cannot write the state (a plan)."""
        return self.operation in READ_ONLY_OPERATIONS

    def to_json(self) -> bytes:
        """The 7-field JSON, in Terraform's field order."""
        values = (
            self.id,
            self.operation,
            self.info,
            self.who,
            self.version,
            self.created,
            self.path,
        )
        return msgspec.json.encode(dict(zip(FIELDS, values, strict=True)))


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return msgspec.json.encode(value).decode()


def parse_lock_info(body: bytes) -> LockInfo | None:
    """The lock info in ``body``; None for an empty body (a force-unlock).

    Raises ``ValueError`` when the body is not a JSON object: the caller answers 400.
    """
    if not body.strip():
        return None
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise ValueError(f"the lock info is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise ValueError("the lock info is not a JSON object")
    return LockInfo(
        id=_text(document.get("ID")),
        operation=_text(document.get("Operation")),
        info=_text(document.get("Info")),
        who=_text(document.get("Who")),
        version=_text(document.get("Version")),
        created=_text(document.get("Created")),
        path=_text(document.get("Path")),
    )

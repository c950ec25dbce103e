"""Resource addresses and attribute paths, written the way Terraform writes them."""

from __future__ import annotations

import json
from collections.abc import Sequence

__all__ = ["address_matches", "attribute_path", "index_key", "instance_address"]


def index_key(index: int | str | None) -> str:
    """``[0]`` for a count index, ``["k"]`` for a for_each key (written as Terraform writes
    it, non-ASCII as is), empty for none."""
    if index is None:
        return ""
    if isinstance(index, int):
        return f"[{index}]"
    return f"[{json.dumps(index, ensure_ascii=False)}]"


def instance_address(
    module: str,
    mode: str,
    resource_type: str,
    name: str,
    index: int | str | None,
) -> str:
    """The instance address (``module.a.data.x.y["k"]``) from its parts.

    Terraform 1.0.0 left ``address`` out of ``resource_drift`` entries; this rebuilds it.
    """
    prefix = f"{module}." if module else ""
    data = "data." if mode == "data" else ""
    return f"{prefix}{data}{resource_type}.{name}{index_key(index)}"


def attribute_path(path: Sequence[object]) -> str:
    """An attribute path in words: ``["network_interface", 0, "subnet_id"]`` ->
    ``network_interface[0].subnet_id``. Names only, never values."""
    words = ""
    for step in path:
        if isinstance(step, bool) or not isinstance(step, int | str):
            words += "[?]"
        elif isinstance(step, int):
            words += f"[{step}]"
        elif words:
            words += f".{step}"
        else:
            words = step
    return words or "(the whole resource)"


def address_matches(address: str, pattern: str) -> bool:
    """True when ``address`` is ``pattern``, or starts with it when the pattern ends in ``*``."""
    if pattern.endswith("*"):
        return address.startswith(pattern[:-1])
    return address == pattern

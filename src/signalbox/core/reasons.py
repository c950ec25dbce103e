"""The reason people give for a hold, a reservation or a denial: others read it, so it is
required where the action affects them, and one sentence long at most."""

from __future__ import annotations

from signalbox.core.errors import InvalidInput

__all__ = ["MAX_REASON_CHARS", "check_reason"]

MAX_REASON_CHARS = 500


def check_reason(reason: str, *, missing: str | None = None, hint: str = "") -> None:
    """InvalidInput when ``reason`` is longer than MAX_REASON_CHARS, or blank while needed
    (``missing`` is then the message, ``hint`` says what to add)."""
    if missing is not None and not reason.strip():
        raise InvalidInput(missing, hint=hint, field="reason")
    if len(reason) > MAX_REASON_CHARS:
        raise InvalidInput(
            f"The reason is longer than {MAX_REASON_CHARS} characters.",
            hint="Say it in one sentence.",
            field="reason",
        )

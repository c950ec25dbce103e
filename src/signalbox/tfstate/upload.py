"""Receiving a state body: spooled to a temporary file while its MD5 and head are computed.

The body is never held in memory: each received piece goes to the file, into the MD5 and
into the head scanner, and is dropped. The service then reads the file back one segment at
a time. ``PayloadTooLarge`` stops a body above the configured limit as soon as it is crossed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from signalbox.core.errors import InvalidInput, PayloadTooLarge
from signalbox.core.tfstate import StateHead, StateHeadScanner
from signalbox.tfstate.crypto import SEGMENT_SIZE

__all__ = ["BodyReceiver", "ReceivedBody", "decode_content_md5"]


def decode_content_md5(header: str | None) -> bytes | None:
    """The 16 bytes of a ``Content-MD5`` header (base64); None when absent."""
    if header is None or not header.strip():
        return None
    try:
        digest = base64.b64decode(header.strip(), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise InvalidInput(
            "The Content-MD5 header is not the base64 of an MD5 digest.",
            hint="Send base64(md5(body)), as Terraform does, or leave the header out.",
        )
    return digest


@dataclass
class ReceivedBody:
    """A received body: its size, MD5 and head, and the file holding its bytes."""

    file: IO[bytes]
    size: int
    md5: bytes
    head: StateHead | None

    def chunks(self, size: int = SEGMENT_SIZE) -> Iterator[bytes]:
        self.file.seek(0)
        while piece := self.file.read(size):
            yield piece

    def close(self) -> None:
        self.file.close()


class BodyReceiver:
    """Feed the body's pieces with ``add``; ``finish`` returns the ``ReceivedBody``."""

    def __init__(self, *, limit: int) -> None:
        self.limit = limit
        self._file = tempfile.TemporaryFile(prefix="signalbox-state-")  # noqa: SIM115 (closed by ReceivedBody.close)
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._scanner = StateHeadScanner()
        self._size = 0

    def add(self, piece: bytes) -> None:
        self._size += len(piece)
        if self._size > self.limit:
            self._file.close()
            raise PayloadTooLarge(
                f"The state body is larger than max_state_bytes ({self.limit} bytes).",
                hint="Raise max_state_bytes in the server's settings if the state is meant "
                "to be this large.",
            )
        self._md5.update(piece)
        self._scanner.feed(piece)
        self._file.write(piece)

    def finish(self) -> ReceivedBody:
        self._scanner.finish()
        self._file.flush()
        return ReceivedBody(self._file, self._size, self._md5.digest(), self._scanner.head)

    def discard(self) -> None:
        self._file.close()

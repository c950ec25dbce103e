"""A cap on the request line and headers, in front of uvicorn's httptools parser.

httptools (llhttp) has no limit of its own on the size of a request's head: uvicorn hands it
whatever arrives, and it gathers a header's value until the line ends, so one unauthenticated
request with a 64 MB header made the server hold 64 MB (h11 has ``max_incomplete_event_size``,
but it answers 400 and parses in pure Python, slower). ``HeadLimitedHttpTools`` counts the
bytes received while a request's head is incomplete; past ``MAX_HEAD_BYTES`` it answers
``431 Request Header Fields Too Large`` and closes the connection, having held at most
``MAX_HEAD_BYTES`` plus one read (asyncio reads up to 256 KiB at a time).

``signalbox serve`` runs uvicorn with it (``http=HeadLimitedHttpTools``).
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["MAX_HEAD_BYTES", "HeadLimitedHttpTools"]

MAX_HEAD_BYTES = 64 * 1024
"""The largest request line plus headers the server reads (64 KiB: four times what most
proxies allow by default, far above what Terraform and the CLI send)."""

_REFUSAL = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\n"
    b"content-length: %d\r\n\r\n%s"
)
_MESSAGE = b"The request line and headers are larger than the server accepts (64 KiB).\n"


class HeadLimitedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a request head above ``MAX_HEAD_BYTES``."""

    max_head_bytes = MAX_HEAD_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # between requests, and until the head of the current one ends
        self._head_bytes = 0

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if (
            self._in_head
            and self._head_bytes > self.max_head_bytes
            and not self.transport.is_closing()
        ):
            self.logger.warning("A request head above %d bytes: answered 431.", self.max_head_bytes)
            self.transport.pause_reading()
            self.transport.write(_REFUSAL % (len(_MESSAGE), _MESSAGE))
            self.transport.close()

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head, self._head_bytes = True, 0

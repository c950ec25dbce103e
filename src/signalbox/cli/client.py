"""The one HTTP client of the CLI: base URL and token, problem+json -> SignalboxError.

    client = ApiClient.from_options(url=None, token=None)   # SIGNALBOX_URL, SIGNALBOX_TOKEN
    client.post("/api/environments/dev/hold", json={...})   # the parsed JSON body

An error answer raises the ``SignalboxError`` subclass whose ``code`` it carries (a refused
hold raises ``Held``), so commands never look at status codes and ``cli.main`` prints one
line and exits with the mapped code. No answer raises ``ServerUnreachable`` with a hint.
``transport`` is the seam for tests (``httpx.MockTransport``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import typer

from signalbox.core.errors import (
    BadServerResponse,
    ServerUnreachable,
    SignalboxError,
    Unauthenticated,
    all_error_classes,
)

if TYPE_CHECKING:  # httpx is imported when a request is made: `signalbox check` stays lean
    import httpx

__all__ = [
    "DEFAULT_URL",
    "TOKEN_OPTION",
    "URL_OPTION",
    "ApiClient",
    "error_from_problem",
]

DEFAULT_URL = "http://127.0.0.1:8787"

URL_OPTION = typer.Option(
    None,
    "--url",
    envvar="SIGNALBOX_URL",
    show_envvar=True,
    help=f"The signalbox server (default: {DEFAULT_URL}).",
    show_default=False,
)
TOKEN_OPTION = typer.Option(
    None,
    "--token",
    envvar="SIGNALBOX_TOKEN",
    show_envvar=True,
    help="Your API token (an admin creates one: signalbox token create).",
    show_default=False,
)
JSON_OPTION = typer.Option(False, "--json", help="Print the answer as JSON.")

_BY_CODE: dict[str, type[SignalboxError]] = {cls.code: cls for cls in all_error_classes()}


def error_from_problem(status: int, body: Mapping[str, Any]) -> SignalboxError:
    """The error a problem+json answer stands for; unknown codes become the base error."""
    code = str(body.get("code", ""))
    cls = _BY_CODE.get(code, SignalboxError)
    reserved = {"type", "title", "status", "detail", "code", "hint"}
    details = {key: value for key, value in body.items() if key not in reserved}
    message = str(body.get("detail") or body.get("title") or f"HTTP {status}")
    return cls(message, hint=str(body.get("hint") or ""), status=status, **details)


class ApiClient:
    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self.has_token = bool(token)
        headers = {"User-Agent": "signalbox-cli"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )

    @classmethod
    def from_options(
        cls,
        url: str | None = None,
        token: str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> ApiClient:
        """Flags first, then SIGNALBOX_URL / SIGNALBOX_TOKEN, then the default URL."""
        env = os.environ if environ is None else environ
        return cls(
            url or env.get("SIGNALBOX_URL") or DEFAULT_URL,
            token or env.get("SIGNALBOX_TOKEN") or None,
            transport=transport,
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Any:
        """``timeout`` (seconds) overrides the client's own for this one request."""
        import httpx

        limit = httpx.USE_CLIENT_DEFAULT if timeout is None else timeout
        try:
            response = self._http.request(method, path, json=json, params=params, timeout=limit)
        except httpx.TransportError as failure:
            raise ServerUnreachable(
                f"Could not reach the signalbox server at {self.base_url} ({failure}).",
                hint="Is it running (signalbox serve)? Check --url or SIGNALBOX_URL.",
            ) from None
        return self._parse(response)

    def _parse(self, response: httpx.Response) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_success and body is not None:
            return body
        if isinstance(body, dict) and "code" in body:
            error = error_from_problem(response.status_code, body)
            if isinstance(error, Unauthenticated):
                raise self._unauthenticated(error) from None
            raise error
        if response.status_code == 503:  # at its connection limit (`signalbox serve`)
            raise ServerUnreachable(
                f"The signalbox server at {self.base_url} is busy (HTTP 503: it has as many "
                "connections as it can take).",
                hint="Ask again in a moment; a waiting gate does so by itself.",
            )
        raise BadServerResponse(
            f"{self.base_url} answered HTTP {response.status_code}, which is not a signalbox "
            "answer.",
            hint="Check that --url or SIGNALBOX_URL points at a signalbox server.",
        )

    def _unauthenticated(self, error: Unauthenticated) -> Unauthenticated:
        """The server's "needs a token" in the words of the CLI's flags and variables."""
        if not self.has_token:
            return Unauthenticated(
                "No token: set SIGNALBOX_TOKEN or pass --token (ask an admin for one: "
                "`signalbox token create`).",
                status=error.details.get("status"),
            )
        return Unauthenticated(
            f"The server at {self.base_url} does not accept your token (SIGNALBOX_TOKEN or "
            "--token): it is unknown there, revoked or expired.",
            hint="Check that it is the whole token, for this server; or ask an admin for a "
            "new one (`signalbox token create`).",
            status=error.details.get("status"),
        )

    @contextlib.contextmanager
    def stream(
        self,
        path: str,
        *,
        params: Mapping[str, Any],
        headers: Mapping[str, str],
        read_timeout: float,
    ) -> Iterator[httpx.Response]:
        """A streaming GET (``signalbox watch``): the open response when it is 200; an error
        answer raises as ``request`` does. A transport failure is the caller's to handle
        (a follower connects again)."""
        import httpx

        timeout = httpx.Timeout(10.0, read=read_timeout)
        with self._http.stream(
            "GET", path, params=params, headers=headers, timeout=timeout
        ) as response:
            if response.status_code != 200:
                response.read()
                self._parse(response)
                raise BadServerResponse(
                    f"{self.base_url} answered HTTP {response.status_code} to {path}, which "
                    "is not a signalbox answer.",
                    hint="Check that --url or SIGNALBOX_URL points at a signalbox server.",
                )
            yield response

    def get(self, path: str, **params: Any) -> Any:
        clean = {key: value for key, value in params.items() if value is not None}
        return self.request("GET", path, params=clean)

    def post(self, path: str, json: Any = None) -> Any:
        return self.request("POST", path, json=json if json is not None else {})

    def delete(self, path: str, **params: Any) -> Any:
        clean = {key: value for key, value in params.items() if value is not None}
        return self.request("DELETE", path, params=clean)

    def close(self) -> None:
        self._http.close()

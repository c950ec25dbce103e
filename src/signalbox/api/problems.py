"""THE one table mapping error ``code`` to HTTP status, and RFC 9457 problem+json answers.

Every error answer of the API has the same shape, built by ``problem_body``::

    {"type": "urn:signalbox:error:held", "title": "Held", "status": 409,
     "detail": "dev is held by platform-eng since 13:00 until 17:00 (Europe/Berlin): ...",
     "code": "held", "hint": "Ask platform-eng, or ...", ...details of the error}

A 401 also carries ``WWW-Authenticate`` (Bearer and Basic: the Terraform backend sends the
token as the Basic password). docs/errors.md is generated from this table.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from signalbox.core import errors

__all__ = [
    "PROBLEM_TYPE",
    "STATUS_BY_CODE",
    "WWW_AUTHENTICATE",
    "install_problem_handlers",
    "problem_body",
    "problem_response",
    "status_for",
]

log = logging.getLogger("signalbox.api")

PROBLEM_TYPE = "urn:signalbox:error:"
WWW_AUTHENTICATE = 'Bearer realm="signalbox", Basic realm="signalbox"'
MEDIA_TYPE = "application/problem+json"

# code -> HTTP status. Client-side errors (server-unreachable, bad-server-response) have none.
STATUS_BY_CODE: dict[str, int] = {
    errors.SignalboxError.code: 500,
    errors.UsageError.code: 400,
    errors.InvalidInput.code: 422,
    errors.InvalidDuration.code: 422,
    errors.InvalidTime.code: 422,
    errors.InvalidWindow.code: 422,
    errors.ConfigError.code: 500,
    errors.PolicyError.code: 500,
    errors.PlanError.code: 422,
    errors.PlanUnreadable.code: 422,
    errors.PlanFormatUnsupported.code: 422,
    errors.PlanNotJson.code: 415,
    errors.PlanTooLarge.code: 413,
    errors.NotFound.code: 404,
    errors.UnknownEnvironment.code: 404,
    errors.UnknownDeploy.code: 404,
    errors.UnknownIncident.code: 404,
    errors.UnknownTarget.code: 404,
    errors.UnknownDelivery.code: 404,
    errors.UnknownAction.code: 404,
    errors.AuthError.code: 401,
    errors.Unauthenticated.code: 401,
    errors.Forbidden.code: 403,
    errors.FormRefused.code: 403,
    errors.Conflict.code: 409,
    errors.NotHolder.code: 409,
    errors.StaleFencingToken.code: 409,
    errors.InvalidTransition.code: 409,
    errors.Held.code: 409,
    errors.DeliverySending.code: 409,
    errors.IncidentAlreadyOpen.code: 409,
    errors.PayloadTooLarge.code: 413,
    errors.UnknownState.code: 404,
    errors.StateRefused.code: 409,
    errors.StateLocked.code: 423,
    errors.StateBodyInvalid.code: 422,
    errors.StateKeyUnknown.code: 500,
    errors.StateIntegrityError.code: 500,
    errors.UndeclaredEvent.code: 500,
}

_RESERVED = {"type", "title", "status", "detail", "code", "hint"}


def status_for(error: errors.SignalboxError) -> int:
    """The status of the most specific class of ``error`` that is in the table."""
    for cls in type(error).__mro__:
        code = getattr(cls, "code", None)
        if code in STATUS_BY_CODE and issubclass(cls, errors.SignalboxError):
            return STATUS_BY_CODE[code]
    return 500


def _title(error: errors.SignalboxError) -> str:
    name = type(error).__name__
    return "".join(" " + c.lower() if c.isupper() and i else c for i, c in enumerate(name))


def problem_body(error: errors.SignalboxError, status: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + error.code,
        "title": _title(error),
        "status": status or status_for(error),
        "detail": error.message,
        "code": error.code,
        "hint": error.hint,
    }
    extras = {key: value for key, value in error.details.items() if key not in _RESERVED}
    body.update(jsonable_encoder(extras))  # datetimes, enums, ... as JSON
    return body


def problem_response(error: errors.SignalboxError, status: int | None = None) -> JSONResponse:
    body = problem_body(error, status)
    headers = {"WWW-Authenticate": WWW_AUTHENTICATE} if body["status"] == 401 else None
    return JSONResponse(body, status_code=body["status"], media_type=MEDIA_TYPE, headers=headers)


PageErrors = Callable[[Request, errors.SignalboxError, int], Awaitable[Response]]
"""Answers an error met on a page as a page (``web.errors.page_error``)."""


class _Answers:
    """Each error as problem+json, or, for a request ``is_page`` says asked for a page,
    as ``pages`` renders it (with the same status from ``STATUS_BY_CODE``)."""

    def __init__(self, pages: PageErrors | None, is_page: Callable[[Request], bool]) -> None:
        self.pages, self.is_page = pages, is_page

    async def answer(
        self, request: Request, error: errors.SignalboxError, status: int | None = None
    ) -> Response:
        if self.pages is not None and self.is_page(request):
            return await self.pages(request, error, status or status_for(error))
        return problem_response(error, status)

    async def signalbox_error(self, request: Request, error: Exception) -> Response:
        assert isinstance(error, errors.SignalboxError)
        return await self.answer(request, error)

    async def validation_error(self, request: Request, error: Exception) -> Response:
        return await self.answer(request, _invalid_request(error))

    async def http_error(self, request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        return await self.answer(request, _http_problem(error), error.status_code)

    async def unexpected(self, request: Request, error: Exception) -> Response:
        log.exception("unexpected error", exc_info=error)
        internal = errors.SignalboxError(
            "The server failed unexpectedly; nothing was changed.",
            hint="Try again; if it persists, see the server log.",
        )
        return await self.answer(request, internal, 500)


def _invalid_request(error: Exception) -> errors.InvalidInput:
    assert isinstance(error, RequestValidationError)
    problems = [
        {
            "field": ".".join(str(part) for part in item.get("loc", ()) if part != "body"),
            "message": item.get("msg", ""),
        }
        for item in error.errors()
    ]
    summary = "; ".join(f"{p['field'] or 'body'}: {p['message']}" for p in problems)
    return errors.InvalidInput(
        f"The request is not valid: {summary}.",
        hint="See docs/api.md for the expected body.",
        errors=problems,
    )


_HTTP_CODES = {404: errors.NotFound, 405: errors.UsageError, 413: errors.PayloadTooLarge}
_HTTP_HINTS = {
    404: "See docs/api.md for the routes.",
    405: "See docs/api.md for the routes and their methods.",
    413: "Send a smaller body; the limit is the server setting max_body_bytes.",
}


def _http_problem(error: StarletteHTTPException) -> errors.SignalboxError:
    cls = _HTTP_CODES.get(error.status_code, errors.SignalboxError)
    messages = {404: "There is no such API route.", 405: "That method is not allowed here."}
    message = messages.get(error.status_code, str(error.detail))
    hint = _HTTP_HINTS.get(error.status_code, "See docs/api.md.")
    return cls(message, hint=hint)


def install_problem_handlers(
    app: FastAPI,
    *,
    pages: PageErrors | None = None,
    is_page: Callable[[Request], bool] = lambda _request: False,
) -> None:
    """Answer every error as problem+json; with ``pages``, an error on a request that
    ``is_page`` says asked for a page is answered by ``pages`` instead."""
    answers = _Answers(pages, is_page)
    app.add_exception_handler(errors.SignalboxError, answers.signalbox_error)
    app.add_exception_handler(RequestValidationError, answers.validation_error)
    app.add_exception_handler(StarletteHTTPException, answers.http_error)
    app.add_exception_handler(Exception, answers.unexpected)

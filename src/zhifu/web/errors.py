"""Error answers of the HTTP API: one plain JSON shape, never a traceback.

Every error the app answers has the body ``{"error": {"code", "message", "doc_url"}}``:
``code`` is a stable snake_case name (``not_found``, ``validation_error``, ``usage_error``,
``internal_error``...), ``message`` is safe to show (it never repeats request values: a body
may hold a PAN) and ``doc_url`` points at the paragraph of the error catalogue for that code:
the same server serves the catalogue at ``/docs/errors`` (:mod:`zhifu.web.routes.error_docs`,
from docs/errors.md), so the URL works wherever the API answers. Unexpected exceptions are
logged on the server and answered with a bare 500.

>>> error_body("not_found", "no route matches the path")["error"]
{'code': 'not_found', 'message': 'no route matches the path', 'doc_url': '/docs/errors#not_found'}
>>> code_for_status(405)
'method_not_allowed'
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect
from litestar.types import ExceptionHandlersMap

from zhifu.core.errors import DecodeError, UsageError
from zhifu.security.access.errors import AccessError

ERROR_DOC_BASE: Final = "/docs/errors"
"""The path of the error catalogue page on this server; ``#<code>`` is a code's paragraph."""

INTERNAL_MESSAGE: Final = "internal error; the server log has the details"

ErrorBody = dict[str, dict[str, str]]

_log = logging.getLogger("zhifu.web")
_MISSING = re.compile(r"Missing required (\w+) parameter '([^']+)'")
_QUOTED = re.compile(r"['\"]")


def error_body(code: str, message: str) -> ErrorBody:
    """The JSON body of an error answer."""
    return {"error": {"code": code, "message": message, "doc_url": f"{ERROR_DOC_BASE}#{code}"}}


def code_for_status(status_code: int) -> str:
    """The error code of an HTTP status: its reason phrase in snake_case ("not_found")."""
    try:
        phrase = HTTPStatus(status_code).phrase
    except ValueError:
        return "http_error"
    return phrase.lower().replace("-", "_").replace(" ", "_")


def _answer(
    code: str, message: str, status_code: int, headers: dict[str, str] | None = None
) -> Response[ErrorBody]:
    return Response(
        error_body(code, message),
        status_code=status_code,
        headers=headers,
        media_type=MediaType.JSON,
    )


def _validation_message(exc: ValidationException) -> str:
    """Say which parameter failed and why, never with the value that was sent.

    Litestar's own ``detail`` repeats the query string, so it is not used. msgspec's reasons
    name types and fields in backticks; a reason quoting something (an enum value) is dropped.
    """
    if missing := _MISSING.match(exc.detail):
        return f"missing {missing[1]} parameter {missing[2]}"
    problems = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        source = str(getattr(item.get("source"), "value", item.get("source") or ""))
        key = "" if source == "body" and item.get("key") == "data" else item.get("key", "")
        where = " ".join(part for part in (source, key) if part) or "request"
        reason = str(item.get("message", ""))
        problems.append(f"{where}: {reason}" if reason and not _QUOTED.search(reason) else where)
    return "invalid " + "; ".join(problems) if problems else "invalid request"


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    """Litestar's own errors (404, 405, 400 validation...) and deliberate HTTP errors."""
    status_code = exc.status_code
    if status_code >= 500:
        _log.error("%s on %s %s", status_code, request.method, request.url.path, exc_info=exc)
        return _answer(code_for_status(status_code), INTERNAL_MESSAGE, status_code)
    if isinstance(exc, ValidationException):
        return _answer("validation_error", _validation_message(exc), status_code, exc.headers)
    return _answer(code_for_status(status_code), exc.detail, status_code, exc.headers)


def on_usage_error(request: Request[Any, Any, Any], exc: UsageError) -> Response[ErrorBody]:
    """A zhifu argument check refused the input; its message names the argument."""
    return _answer("usage_error", str(exc), HTTPStatus.BAD_REQUEST)


def on_decode_error(request: Request[Any, Any, Any], exc: DecodeError) -> Response[ErrorBody]:
    """Input bytes could not be decoded; the message says where, not what."""
    return _answer("decode_error", str(exc), HTTPStatus.BAD_REQUEST)


def on_access_error(request: Request[Any, Any, Any], exc: AccessError) -> Response[Any]:
    """Sign-in and permission refusals: 401, 403 or 423 with the refusal's code; a console
    page asked by someone not signed in (or idle too long) sends them to the sign-in page."""
    console = request.url.path.startswith("/console") and request.method == "GET"
    if console and exc.status == 401:
        return Redirect(path=f"/console/sign-in?next={quote(request.url.path)}", status_code=303)
    return _answer(exc.code, exc.message, exc.status)


def on_unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    """Any other exception: logged with its traceback on the server, a bare 500 to the client."""
    _log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _answer("internal_error", INTERNAL_MESSAGE, HTTPStatus.INTERNAL_SERVER_ERROR)


EXCEPTION_HANDLERS: Final[ExceptionHandlersMap] = {
    HTTPException: on_http_error,
    UsageError: on_usage_error,
    DecodeError: on_decode_error,
    AccessError: on_access_error,
    Exception: on_unexpected_error,
}
"""Handlers by exception class; Litestar picks the nearest class in the exception's MRO."""

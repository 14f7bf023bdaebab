"""The one signed-request path of the barcode API: HTTP in, a call of the platform, HTTP out.

:func:`answer` is all a barcode route does, for the Litestar routes (:func:`respond`) and for
the served fast path (:mod:`zhifu.web.fastpath`) alike: it reads the raw body from the ASGI
``receive`` channel (the signature covers its exact bytes; at most :data:`BODY_MAX` bytes, 413
``request_entity_too_large`` beyond), takes the path and query exactly as sent and the
headers, and hands them with the route's operation (:mod:`zhifu.barcode.platform.operations`)
to the platform (:class:`~zhifu.barcode.platform.requests.SignedRequests`), which
authenticates, consumes the nonce, holds the ``Idempotency-Key``, runs the operation and
stores the answer. Its :class:`~zhifu.barcode.platform.requests.Reply` goes back as a JSON
answer, with ``Idempotent-Replayed: true`` when it is a stored answer replayed. A server error
is logged here with its traceback and answered with a bare 500 ``internal_error``.

>>> scope_path({"path": "/v1/orders", "raw_path": b"/v1/orders", "query_string": b"x=%41"})
'/v1/orders?x=%41'
>>> headers_of({"headers": [(b"zhifu-nonce", b"abc")]})
{'zhifu-nonce': 'abc'}
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import msgspec
from litestar import MediaType, Request, Response
from litestar.datastructures import State

from zhifu.barcode.platform.requests import Operation, Reply, SignedRequest
from zhifu.web.errors import INTERNAL_MESSAGE, error_body
from zhifu.web.routes.barcode.common import system_of

BODY_MAX: Final = 64 * 1024  # the API's bodies are a few hundred bytes
REPLAYED_HEADER: Final = "Idempotent-Replayed"
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
_log = logging.getLogger("zhifu.web")


class BodyTooLargeError(Exception):
    """The body is over :data:`BODY_MAX` bytes."""


class ClientGoneError(Exception):
    """The client left before sending the whole body."""


async def read_asgi_body(receive: Receive) -> bytes:
    """The raw body from an ASGI ``receive`` channel (the bytes the signature covers)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientGoneError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > BODY_MAX:
            raise BodyTooLargeError
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def scope_path(scope: Mapping[str, Any]) -> str:
    """The path and query of an ASGI scope exactly as the client sent them."""
    path = scope.get("raw_path") or scope["path"].encode("utf-8")
    query = scope.get("query_string", b"")
    text = bytes(path).decode("latin-1")
    return text + ("?" + query.decode("latin-1") if query else "")


def headers_of(scope: Mapping[str, Any]) -> dict[str, str]:
    """The headers of an ASGI scope (their names are lower-case there)."""
    return {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}


def _error(status: int, code: str, message: str) -> Reply:
    return Reply(status, msgspec.json.encode(error_body(code, message)))


async def answer(
    state: State, scope: Mapping[str, Any], receive: Receive, operation: Operation
) -> Reply:
    """The answer to a signed barcode request (see the module docstring)."""
    try:
        body = await read_asgi_body(receive)
    except BodyTooLargeError:
        return _error(413, "request_entity_too_large", f"the body is over {BODY_MAX} bytes")
    except ClientGoneError:  # nobody reads this answer
        return _error(400, "bad_request", "the client left before sending the whole body")
    try:
        request = SignedRequest(scope["method"], scope_path(scope), headers_of(scope), body)
        return await system_of(state).requests.answer(request, operation)
    except Exception:  # as zhifu.web.errors.on_unexpected_error: logged, a bare 500
        _log.exception("unhandled error on %s %s", scope["method"], scope["path"])
        return _error(500, "internal_error", INTERNAL_MESSAGE)


def reply_headers(reply: Reply) -> dict[str, str]:
    """The headers an answer carries besides its content type."""
    return {REPLAYED_HEADER: "true"} if reply.replayed else {}


async def respond(request: Request[Any, Any, Any], operation: Operation) -> Response[bytes]:
    """:func:`answer` for a Litestar route."""
    reply = await answer(request.app.state, request.scope, request.receive, operation)
    return Response(
        reply.body,
        status_code=reply.status,
        media_type=MediaType.JSON,
        headers=reply_headers(reply),
    )

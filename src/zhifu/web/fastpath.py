"""The app that ``zhifu serve`` serves: the hot payment route straight on ASGI, everything else
through Litestar.

``POST /v1/micropay`` is the platform's hottest route, and its event loop is the bottleneck:
Litestar's request and response machinery costs some 0.17 ms of it per request on the
reference machine (a bare ASGI answer 0.07 ms of CPU, a bare Litestar one 0.24 ms), a sixth of
a whole micropay. :class:`FastPaths` answers that route with the very function the Litestar
route uses (:func:`~zhifu.web.routes.barcode.staged.staged_answer`: same checks, same bodies,
same status codes and headers) and hands every other request, and the lifespan events, to the
Litestar app. The Litestar route stays: it documents the operation in the OpenAPI page and
serves it wherever the app runs without this wrapper.

>>> app = create_asgi()
>>> sorted(path for _, path in app.routes), type(app.app).__name__
(['/v1/micropay'], 'Litestar')
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

import msgspec
from litestar import Litestar

from zhifu.web.app import create_app
from zhifu.web.errors import INTERNAL_MESSAGE, error_body
from zhifu.web.routes.barcode.common import (
    BODY_MAX,
    BodyTooLargeError,
    ClientGoneError,
    read_asgi_body,
    scope_path,
    system_of,
)
from zhifu.web.routes.barcode.merchant import MICROPAY
from zhifu.web.routes.barcode.staged import StagedRoute, staged_answer

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

FAST_ROUTES: Final = {("POST", "/v1/micropay"): MICROPAY}
_log = logging.getLogger("zhifu.web")


class FastPaths:
    """An ASGI app: :data:`FAST_ROUTES` answered here, the rest by ``app``."""

    def __init__(self, app: Litestar) -> None:
        self.app = app
        self.routes = dict(FAST_ROUTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            route = self.routes.get((scope["method"], scope["path"]))
            if route is not None:
                await self._serve(route, scope, receive, send)
                return
        await self.app(scope, receive, send)  # type: ignore[arg-type]

    async def _serve(self, route: StagedRoute, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            status, data, replayed = await self._answer(route, scope, receive)
        except ClientGoneError:
            return
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(data)).encode("ascii")),
        ]
        if replayed:
            headers.append((b"idempotent-replayed", b"true"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    async def _answer(
        self, route: StagedRoute, scope: Scope, receive: Receive
    ) -> tuple[int, bytes, bool]:
        try:
            body = await read_asgi_body(receive)
        except BodyTooLargeError:
            message = f"the body is over {BODY_MAX} bytes"
            return 413, _json(error_body("request_entity_too_large", message)), False
        try:
            system = system_of(self.app.state)
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            return await staged_answer(system, scope_path(scope), headers, body, route)
        except Exception:  # as zhifu.web.errors.on_unexpected_error: logged, a bare 500
            _log.exception("unhandled error on POST %s", scope["path"])
            return 500, _json(error_body("internal_error", INTERNAL_MESSAGE)), False


def _json(content: Any) -> bytes:
    return msgspec.json.encode(content)


def create_asgi(
    *, barcode: Any = None, clearing: Any = None, acquirer: tuple[str, int] | None = None
) -> FastPaths:
    """The served app: :func:`~zhifu.web.app.create_app` behind :class:`FastPaths`."""
    return FastPaths(create_app(barcode=barcode, clearing=clearing, acquirer=acquirer))

"""The app that ``zhifu serve`` serves: the hot payment route straight on ASGI, everything else
through Litestar.

``POST /v1/micropay`` is the platform's hottest route, and its event loop is the bottleneck:
Litestar's request and response machinery costs some 0.17 ms of it per request on the
reference machine (a bare ASGI answer 0.07 ms of CPU, a bare Litestar one 0.24 ms), a sixth of
a whole micropay. :class:`FastPaths` answers that route through the very path the Litestar
route takes (:func:`~zhifu.web.routes.barcode.signed.answer`: same checks, same bodies, same
status codes and headers), writing the answer as two ASGI messages, and hands every other
request, and the lifespan events, to the Litestar app. The Litestar route stays: it documents
the operation in the OpenAPI page and serves it wherever the app runs without this wrapper.

>>> app = create_asgi()
>>> sorted(path for _, path in app.routes), type(app.app).__name__
(['/v1/micropay'], 'Litestar')
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

from litestar import Litestar

from zhifu.barcode.platform import operations
from zhifu.barcode.platform.requests import Operation, Reply
from zhifu.web.app import create_app
from zhifu.web.routes.barcode.signed import answer, reply_headers

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

FAST_ROUTES: Final[dict[tuple[str, str], Operation]] = {
    ("POST", "/v1/micropay"): operations.MICROPAY
}


class FastPaths:
    """An ASGI app: :data:`FAST_ROUTES` answered here, the rest by ``app``."""

    def __init__(self, app: Litestar) -> None:
        self.app = app
        self.routes = dict(FAST_ROUTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            operation = self.routes.get((scope["method"], scope["path"]))
            if operation is not None:
                await _send(send, await answer(self.app.state, scope, receive, operation))
                return
        await self.app(scope, receive, send)  # type: ignore[arg-type]


async def _send(send: Send, reply: Reply) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(reply.body)).encode("ascii")),
    ]
    headers += [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply_headers(reply).items()
    ]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


def create_asgi(
    *, barcode: Any = None, clearing: Any = None, acquirer: tuple[str, int] | None = None,
    site: Any = None, services: dict[str, Any] | None = None,
) -> FastPaths:  # fmt: skip
    """The served app: :func:`~zhifu.web.app.create_app` behind :class:`FastPaths`."""
    return FastPaths(create_app(barcode=barcode, clearing=clearing, acquirer=acquirer, site=site,
                                services=services))  # fmt: skip

"""``OPTIONS`` answers whose ``Allow`` lists every method of a path.

Litestar builds the ``OPTIONS`` answer of a path when the path's first handler is registered and
keeps it when more handlers join the path, so ``GET /v1/orders`` and ``POST /v1/orders``
answered ``Allow: OPTIONS, POST`` (schemathesis found it). Registered before the routes, these
handlers own ``OPTIONS`` of every path that several handlers share.

>>> from litestar import get, post
>>> @get("/a", sync_to_thread=False)
... def read() -> None: ...
>>> @post("/a", sync_to_thread=False)
... def write() -> None: ...
>>> [handler.paths for handler in options_handlers([read, write])]
[{'/a'}]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from litestar import Response, route
from litestar.enums import HttpMethod
from litestar.handlers import HTTPRouteHandler


def _answer(allow: str) -> Callable[[], Response[None]]:
    def options() -> Response[None]:
        return Response(None, status_code=204, headers={"Allow": allow})

    return options


def options_handlers(handlers: Iterable[Any]) -> list[HTTPRouteHandler]:
    """An ``OPTIONS`` handler for each path that more than one handler serves."""
    methods: dict[str, set[str]] = {}
    owners: dict[str, int] = {}
    for handler in handlers:
        if not isinstance(handler, HTTPRouteHandler):
            continue
        for path in handler.paths:
            methods.setdefault(path, {"OPTIONS"}).update(handler.http_methods)
            owners[path] = owners.get(path, 0) + 1
    shared = [path for path in sorted(methods) if owners[path] > 1]
    return [_options(path, ", ".join(sorted(methods[path]))) for path in shared]


def _options(path: str, allow: str) -> HTTPRouteHandler:
    decorate = route(
        path, http_method=[HttpMethod.OPTIONS], include_in_schema=False, sync_to_thread=False
    )
    return decorate(_answer(allow))

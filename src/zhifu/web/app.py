"""The Litestar application of zhifu (factory ``create_app``).

The app is thin: routes call services and nothing else. It serves a landing page at ``/``
(what runs, in Chinese or English), the OpenAPI document generated from the route signatures
at ``/schema/openapi.json``, a Swagger UI at ``/schema`` whose files come from the package
(:mod:`zhifu.web.openapi`: it works offline), the error catalogue at ``/docs/errors``, the
package's static files under ``/static/`` and a redirect ``/docs`` -> ``/schema``. Errors come
back as ``{"error": {...}}`` (see :mod:`zhifu.web.errors`). Why Litestar:
docs/web-framework.md.

>>> app = create_app()
>>> app.openapi_config.title, app.openapi_config.version
('zhifu', '0.1.0')
>>> sorted(r.path for r in app.routes if not r.path.startswith(("/schema", "/v1", "/console")))
['/', '/docs', '/docs/errors', '/healthz', '/metrics', '/static/{file_path:path}']
>>> from zhifu.security.access import route_access
>>> console = [(m, r.path) for r in app.routes if r.path.startswith("/console")
...            for m in r.methods if m not in ("OPTIONS", "HEAD")]
>>> len(console) > 20, all(route_access(m, path) for m, path in console)  # all in the table
(True, True)
>>> len([r for r in app.routes if r.path.startswith("/v1/")]) > 5     # the barcode API
True
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Response, get
from litestar.datastructures import MutableScopeHeaders
from litestar.response import Redirect
from litestar.routes import HTTPRoute
from litestar.types import Message, Scope

from zhifu.web.access import STATE_KEY as SITE_KEY
from zhifu.web.access import close_owned_site, permission_guard
from zhifu.web.errors import EXCEPTION_HANDLERS
from zhifu.web.openapi import (
    SCHEMA_PATH,
    ClosedStructSchemaPlugin,
    document_headers,
    openapi_config,
    static_router,
)
from zhifu.web.routes import (
    clearing_centre,
    compliance,
    console,
    error_docs,
    health,
    landing,
    people,
    risk,
)
from zhifu.web.routes.barcode import common as barcode_http
from zhifu.web.routes.barcode import merchant as barcode_merchant
from zhifu.web.routes.barcode import wallet as barcode_wallet
from zhifu.web.routes.console import terminal as console_terminal
from zhifu.web.services import STATE_KEY as SERVICES_KEY


@get("/docs", include_in_schema=False, sync_to_thread=False)
def docs() -> Response[None]:
    """Send readers used to ``/docs`` to the OpenAPI UI."""
    return Redirect(path=SCHEMA_PATH)


class AllowHeaders:
    """A ``before_send`` hook that makes the ``Allow`` of an ``OPTIONS`` answer list every
    method of the path.

    Litestar's automatic ``OPTIONS`` handler of a path is made with the path's first route
    handler and keeps listing only that handler's methods when more are registered on the
    same path (``GET`` and ``POST /v1/orders``); the 405 answers list them all already.
    """

    def __init__(self, app: Litestar) -> None:
        self.methods = {
            id(handler): ", ".join(sorted(route.methods))
            for route in app.routes
            if isinstance(route, HTTPRoute)
            for handler in route.route_handlers
            if handler.http_methods == {"OPTIONS"}
        }

    async def __call__(self, message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
            return
        allow = self.methods.get(id(scope.get("route_handler")))
        if allow is not None:
            MutableScopeHeaders.from_message(message)["Allow"] = allow


def create_app(
    *, barcode: Any = None, clearing: Any = None, acquirer: tuple[str, int] | None = None,
    site: Any = None, services: dict[str, Any] | None = None,
) -> Litestar:  # fmt: skip
    """Build the zhifu web app (no debug mode: tracebacks never reach a client).

    ``barcode`` is a :class:`zhifu.barcode.platform.system.BarcodeSystem` to serve under ``/v1/``;
    without one, the first barcode request opens the default one (``$ZHIFU_HOME/barcode``).
    ``clearing`` is a :class:`zhifu.clearing.transport.ClearingCentre` to serve under
    ``/clearing/`` (the BEPS message transport); without one those routes are not mounted.
    ``acquirer`` is the ``(host, port)`` of an acquirer host running beside the app, which the
    landing page shows (None: there is none). ``site`` is the
    :class:`zhifu.acquirer.site.Site` (audit trail, users) whose route table guards every
    route (:mod:`zhifu.web.access`); without one, the data directory's is opened when needed.
    ``services`` are the running services the console shows (:mod:`zhifu.web.services`).
    """
    centre = clearing_centre.ROUTES if clearing is not None else []
    routes = [
        *landing.ROUTES,
        *health.ROUTES,
        docs,
        *error_docs.ROUTES,
        *people.ROUTES,
        *risk.ROUTES,
        *compliance.ROUTES,
        *console.ROUTES,
        *barcode_merchant.ROUTES,
        *barcode_wallet.ROUTES,
        *centre,
    ]
    app = Litestar(
        route_handlers=[static_router(), *routes],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi_config(),
        plugins=[ClosedStructSchemaPlugin()],
        guards=[permission_guard],
        on_shutdown=[
            lambda app: barcode_http.close_owned(app.state),
            lambda app: close_owned_site(app.state),
            lambda app: console_terminal.close_desks(app.state),
        ],
        debug=False,
    )
    app.state[barcode_http.STATE_KEY] = barcode
    app.state[clearing_centre.STATE_KEY] = clearing
    app.state[landing.ACQUIRER_KEY] = acquirer
    app.state[SITE_KEY] = site
    app.state[SERVICES_KEY] = services if services is not None else {}  # kept: a restart updates it
    document_headers(app)
    app.before_send.append(AllowHeaders(app))
    return app

"""Who may call what: the app-wide guard over :mod:`zhifu.security.access.permissions`.

Every route is looked up in the route table by its method and path template: ``public`` and
``signed`` routes pass (a signed route checks its signature itself); a permission route needs a
bearer token — ``Authorization: Bearer <token>`` with a session token from
``POST /v1/session`` or an API key (``zk_...``), or the console's ``zhifu_session`` cookie —
whose principal holds the permission; a route missing from the table is refused to everyone.
Refusals are :class:`~zhifu.security.access.errors.AccessError` answers (401, 403 or 423).

The site (audit trail and access store) is ``app.state["site"]`` when the app was built with
one; otherwise the first request that needs it opens the data directory's
(:func:`zhifu.acquirer.site.open_site_at`).
"""

from __future__ import annotations

import threading
from typing import Any, Final

from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.handlers.base import BaseRouteHandler

from zhifu.acquirer.site import Site, open_site_at
from zhifu.codec.home import data_home
from zhifu.security.access import AccessError, Principal, allows, route_access
from zhifu.security.access.permissions import PUBLIC, SIGNED

__all__ = [
    "COOKIE",
    "STATE_KEY",
    "bearer",
    "close_owned_site",
    "guarded_principal",
    "permission_guard",
    "site_of",
]

STATE_KEY: Final = "site"
COOKIE: Final = "zhifu_session"
_open_lock = threading.Lock()


def site_of(state: State) -> Site:
    """The app's site, opened at the first request that needs it if the app has none."""
    found = state.get(STATE_KEY)
    if found is None:
        with _open_lock:
            found = state.get(STATE_KEY)
            if found is None:
                found = open_site_at(data_home())
                state[STATE_KEY], state[STATE_KEY + "_owned"] = found, True
    assert isinstance(found, Site)
    return found


def close_owned_site(state: State) -> None:
    """Close the site the app opened itself (at shutdown)."""
    if state.get(STATE_KEY + "_owned"):
        state[STATE_KEY].close()
        state[STATE_KEY], state[STATE_KEY + "_owned"] = None, False


def bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of the request: the ``Authorization: Bearer`` header, else the cookie."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return connection.cookies.get(COOKIE) or None


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """Who sent the request (AccessError ``unauthenticated`` when nobody signed it)."""
    token = bearer(connection)
    if token is None:
        raise AccessError("unauthenticated")
    site = site_of(connection.app.state)
    with site.lock:
        return site.access.authenticate(token)


def guarded_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The principal :func:`permission_guard` found for a route a permission opens."""
    found = connection.state.get("principal")
    assert isinstance(found, Principal), "the guard sets the principal of a permission route"
    return found


def permission_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The app's guard: let the request through, or raise AccessError."""
    template = str(connection.scope.get("path_template", connection.scope["path"]))
    access = route_access(str(connection.scope.get("method", "GET")), template)
    if access in {PUBLIC, SIGNED}:
        return
    principal = principal_of(connection)
    if access is None or not allows(principal, access):
        site = site_of(connection.app.state)
        site.record(principal.name, "access.denied", template, f"refused {access or 'no route'}")
        raise AccessError("permission_denied")
    connection.state["principal"] = principal

"""The web console: server-rendered pages in Chinese and English over the services, each opened
by a permission of the route table (:mod:`zhifu.security.access.permissions`).

One module per page group; :data:`ROUTES` gathers their handlers and
:data:`~zhifu.web.routes.console.frame.PAGES` the links of the home page.
"""

from __future__ import annotations

from zhifu.web.routes.console import (
    checkout,
    clearing,
    compliance,
    ledger,
    operations,
    session,
    terminal,
    trail,
    transactions,
    wallet,
)

ROUTES = [
    *session.ROUTES,
    *operations.ROUTES,
    *transactions.ROUTES,
    *trail.ROUTES,
    *terminal.ROUTES,
    *wallet.ROUTES,
    *checkout.ROUTES,
    *clearing.ROUTES,
    *ledger.ROUTES,
    *compliance.ROUTES,
]

__all__ = ["ROUTES"]

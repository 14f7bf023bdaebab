"""The risk rules over HTTP: alerts and blocks for the console, lifting a block, and the
Prometheus metrics (``/metrics``; a scraper uses an API key with the ``risk.read`` scope).

>>> sorted(p for r in ROUTES for p in r.paths)
['/metrics', '/v1/risk/alerts', '/v1/risk/blocks', '/v1/risk/blocks/{kind:str}/{subject:str}']
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from litestar import MediaType, Request, Response, delete, get
from litestar.params import FromPath, Parameter

from zhifu.core.errors import UsageError
from zhifu.security.access import AccessError, allows
from zhifu.security.risk import load_rules
from zhifu.security.risk.engine import prometheus_text
from zhifu.web.access import guarded_principal, site_of
from zhifu.web.routes.people import OPTS

RULES = load_rules()


@get("/v1/risk/alerts", summary="Risk alerts", **OPTS, sync_to_thread=False)
def alerts(
    request: Request[Any, Any, Any], last: int = Parameter(default=50, ge=1, le=1000)
) -> list[dict[str, Any]]:
    """The last alerts of the risk rules, newest last."""
    return [dataclasses.asdict(a) for a in site_of(request.app.state).risk.alerts(last)]


@get("/v1/risk/blocks", summary="Blocked subjects", **OPTS, sync_to_thread=False)
def blocks(request: Request[Any, Any, Any]) -> list[dict[str, object]]:
    """What the risk rules blocked and nobody lifted yet."""
    return site_of(request.app.state).risk.blocks()


@delete("/v1/risk/blocks/{kind:str}/{subject:str}", summary="Lift a block", **OPTS,
        sync_to_thread=False)  # fmt: skip
def lift(
    request: Request[Any, Any, Any], kind: FromPath[str], subject: FromPath[str],
    reason: str = Parameter(min_length=3, max_length=200),
) -> None:  # fmt: skip
    """Lift a block (``risk.manage``; the reason goes into the audit trail)."""
    site, principal = site_of(request.app.state), guarded_principal(request)
    if not allows(principal, "risk.manage"):
        raise AccessError("permission_denied")
    if not site.risk.lift(kind, subject, at=time.time(), by=principal.name, reason=reason):
        raise UsageError(f"{kind} {subject} is not blocked", argument="subject")
    site.record(principal.name, "risk.lift", f"{kind} {subject}", f"ok: {reason}")


@get("/metrics", summary="Prometheus metrics", **OPTS, sync_to_thread=False)
def metrics(request: Request[Any, Any, Any]) -> Response[str]:
    """The risk rules' counters in Prometheus' text format."""
    store = site_of(request.app.state).risk
    text = prometheus_text(store.counts(RULES), len(store.blocks()))
    return Response(text, media_type=MediaType.TEXT,
                    headers={"Content-Type": "text/plain; version=0.0.4"})  # fmt: skip


ROUTES = [alerts, blocks, lift, metrics]

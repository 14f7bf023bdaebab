"""Institutions and their licences over HTTP: the list (``compliance.read``), an application
and the lifecycle's actions (``compliance.manage``: review, approve, register, suspend, resume,
revoke). A suspended or revoked institution's signed barcode requests are refused at once
(``institution_not_in_business``); every change is an audit record.

>>> sorted({p for r in ROUTES for p in r.paths})
['/v1/compliance/institutions', '/v1/compliance/institutions/{code:str}/actions']
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath, JSONBody

from zhifu.compliance import InstitutionKind
from zhifu.compliance.errors import ComplianceError
from zhifu.compliance.institutions import TRANSITIONS, Institution
from zhifu.web.access import guarded_principal, site_of
from zhifu.web.routes.people import OPTS


class Application(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Body of ``POST /v1/compliance/institutions``."""

    code: str
    kind: str
    name: str
    reason: str


class Action(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Body of ``POST .../actions``: one of the lifecycle's actions, and why."""

    action: str
    reason: str


def _out(institution: Institution) -> dict[str, str]:
    return {"code": institution.code, "kind": institution.kind.value, "name": institution.name,
            "state": institution.state.value}  # fmt: skip


def _refused(exc: ComplianceError) -> HTTPException:
    return HTTPException(status_code=409, detail=str(exc))


@get("/v1/compliance/institutions", summary="Institutions", **OPTS, sync_to_thread=False)
def institutions(request: Request[Any, Any, Any]) -> list[dict[str, str]]:
    """Every institution this installation keeps the licence of, and where it stands."""
    site = site_of(request.app.state)
    with site.lock:
        return [_out(i) for i in site.compliance.institutions()]


@post("/v1/compliance/institutions", summary="An application", **OPTS, sync_to_thread=False)
def apply(request: Request[Any, Any, Any], data: JSONBody[Application]) -> dict[str, str]:
    """Record an institution's licence application."""
    site = site_of(request.app.state)
    try:
        kind = InstitutionKind(data.kind)
    except ValueError:
        raise HTTPException(status_code=400, detail="kind: payment-institution or bank") from None
    actor = guarded_principal(request).name
    try:
        with site.lock:
            site.compliance.apply(data.code, kind=kind, name=data.name, actor=actor,
                                  reason=data.reason)  # fmt: skip
            return _out(site.compliance.get(data.code))
    except ComplianceError as exc:
        raise _refused(exc) from None


@post("/v1/compliance/institutions/{code:str}/actions", summary="A licence action", **OPTS,
      status_code=200, sync_to_thread=False)  # fmt: skip
def act(
    request: Request[Any, Any, Any], code: FromPath[str], data: JSONBody[Action]
) -> dict[str, str]:
    """Move the licence on (``review``, ``approve``, ``register``, ``suspend``, ``resume``,
    ``revoke``); a suspension or revocation stops the institution's business at once."""
    actions = [t.action for t in TRANSITIONS if t.action != "apply"]
    if data.action not in actions:
        raise HTTPException(status_code=400, detail=f"action: one of {', '.join(actions)}")
    site = site_of(request.app.state)
    try:
        with site.lock:
            site.compliance.act(
                data.action, code, actor=guarded_principal(request).name, reason=data.reason
            )
            return _out(site.compliance.get(code))
    except ComplianceError as exc:
        raise _refused(exc) from None


ROUTES = [institutions, apply, act]

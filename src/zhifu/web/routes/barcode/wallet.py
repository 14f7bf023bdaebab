"""The institutions' barcode API under ``/v1/``: wallets paying collection codes (收款扫码),
the switch's obligations for clearing, and the platform's public keys.

Wallet requests are signed by a key registered for the institution (``institution:<id>``);
the payer's institution is the signer's. ``GET /v1/keys`` is public: merchants fetch the keys
that sign their notifications there.

>>> sorted(p for h in ROUTES for p in h.paths)
['/v1/keys', '/v1/switch/obligations', '/v1/wallet/payments', '/v1/wallet/resolve']
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Final

from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.params import QueryParameter

from zhifu.barcode.api.signing import VerifyingKey, public_key_pem
from zhifu.barcode.model import ScanSource
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.barcode.platform.views import obligation_dict, order_dict
from zhifu.web.errors import error_body
from zhifu.web.routes.barcode.common import (
    SECURITY,
    institution_of,
    signed_get,
    signed_post,
    system_of,
)
from zhifu.web.routes.barcode.merchant import _responses
from zhifu.web.routes.barcode.schemas import (
    KeyList,
    KeyOut,
    ObligationList,
    ObligationOut,
    OrderOut,
    ResolveOut,
    ResolveRequest,
    WalletPayRequest,
    out,
)

TAGS: Final = ["barcode: institutions"]


def _doc_resolve(data: ResolveRequest) -> None:
    """Documents the body only (never called)."""


def _doc_pay(data: WalletPayRequest) -> None:
    """Documents the body only (never called)."""


def _resolve(system: BarcodeSystem, key: VerifyingKey, req: ResolveRequest) -> tuple[int, Any]:
    institution_of(key)
    merchant, order, kind = system.flows.resolve(req.code)
    answer = ResolveOut(
        kind=kind.value,
        merchant_id=merchant.merchant_id,
        merchant_name=merchant.name,
        payee_kind=merchant.kind.value,
        acquirer=merchant.institution,
        order=None if order is None else out(OrderOut, order_dict(order)),
    )
    return 200, answer


@post(
    "/v1/wallet/resolve",
    tags=TAGS,
    security=SECURITY,
    status_code=200,
    dependencies={"body_schema": Provide(_doc_resolve, sync_to_thread=False)},
    responses=_responses(ResolveOut),
    summary="What a scanned collection code is",
)
async def resolve(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Recognise a collection code (scheme and host, look-alikes refused) and say who is paid
    and, for a dynamic code, the order and its amount."""
    return await signed_post(request, ResolveRequest, _resolve)


def _pay(system: BarcodeSystem, key: VerifyingKey, req: WalletPayRequest) -> tuple[int, Any]:
    order = system.flows.pay_collection(
        institution_of(key),
        req.code,
        req.customer_id,
        req.account_id,
        factors=req.factors,
        scan_source=ScanSource(req.scan_source),
        amount=req.amount,
        description=req.description,
    )
    return 200, out(OrderOut, order_dict(order))


@post(
    "/v1/wallet/payments",
    tags=TAGS,
    security=SECURITY,
    status_code=200,
    dependencies={"body_schema": Provide(_doc_pay, sync_to_thread=False)},
    responses=_responses(OrderOut),
    summary="收款扫码: pay a scanned collection code",
)
async def pay(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The wallet of the signing institution pays a collection code for its customer.

    A dynamic code pays its order (grade by the verification factors: one -> C, two -> B,
    two with a certificate -> A); a static code needs the amount and counts as grade D. A
    personal code read from the album or a link (not the camera) is refused (259号).
    """
    return await signed_post(request, WalletPayRequest, _pay)


@get(
    "/v1/switch/obligations",
    tags=TAGS,
    security=SECURITY,
    responses=_responses(ObligationList),
    summary="A business date's interbank obligations",
)
async def obligations(
    request: Request[Any, Any, Any],
    business_date: Annotated[str, QueryParameter(pattern=r"^\d{4}-\d{2}-\d{2}$")],
) -> Response[bytes]:
    """Every obligation the switch recorded on an Asia/Shanghai business date (for clearing)."""

    def action(system: BarcodeSystem, key: VerifyingKey) -> tuple[int, Any]:
        institution_of(key)
        try:
            day = date.fromisoformat(business_date)
        except ValueError:
            return 400, error_body("validation_error", "invalid query business_date")
        items = [out(ObligationOut, obligation_dict(o)) for o in system.obligations(day)]
        return 200, ObligationList(day.isoformat(), items)

    return await signed_get(request, action)


@get("/v1/keys", tags=TAGS, summary="The keys that sign notifications", sync_to_thread=False)
def keys(request: Request[Any, Any, Any]) -> KeyList:
    """The public keys zhifu signs notifications with, one per institution (PEM)."""
    system = system_of(request.app.state)
    return KeyList(
        [
            KeyOut(k.key_id, k.principal, k.algorithm, public_key_pem(k.public_key))  # type: ignore[arg-type]
            for k in system.platform_keys()
        ]
    )


ROUTES: Final = [resolve, pay, obligations, keys]

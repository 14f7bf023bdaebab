"""The institutions' barcode API under ``/v1/``: wallets paying collection codes (收款扫码),
the switch's obligations for clearing, and the platform's public keys.

Wallet requests are signed by a key registered for the institution (``institution:<id>``);
the payer's institution is the signer's. Each signed route names its operation of the platform
(:mod:`zhifu.barcode.platform.operations`) and takes the signed-request path
(:func:`~zhifu.web.routes.barcode.signed.respond`). ``GET /v1/keys`` is public: merchants
fetch the keys that sign their notifications there.

>>> for path in sorted(p for h in ROUTES for p in h.paths):
...     print(path)
/v1/keys
/v1/switch/obligations
/v1/wallet/history
/v1/wallet/payments
/v1/wallet/resolve
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Final

from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.params import QueryParameter

from zhifu.barcode.api.schemas import (
    KeyList,
    KeyOut,
    ObligationList,
    OrderOut,
    ResolveOut,
    ResolveRequest,
    WalletHistory,
    WalletPayRequest,
)
from zhifu.barcode.api.signing import public_key_pem
from zhifu.barcode.platform import operations
from zhifu.web.routes.barcode.common import (
    POST_OPT,
    SECURITY,
    responses,
    system_of,
)
from zhifu.web.routes.barcode.signed import respond

TAGS: Final = ["barcode: institutions"]


def _doc_resolve(data: ResolveRequest) -> None:
    """Documents the body only (never called)."""


def _doc_pay(data: WalletPayRequest) -> None:
    """Documents the body only (never called)."""


@post(
    "/v1/wallet/resolve",
    tags=TAGS,
    security=SECURITY,
    status_code=200,
    opt=POST_OPT,
    dependencies={"body_schema": Provide(_doc_resolve, sync_to_thread=False)},
    responses=responses(ResolveOut),
    summary="What a scanned collection code is",
)
async def resolve(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Recognise a collection code (scheme and host, look-alikes refused) and say who is paid
    and, for a dynamic code, the order and its amount."""
    return await respond(request, operations.RESOLVE)


@post(
    "/v1/wallet/payments",
    tags=TAGS,
    security=SECURITY,
    status_code=200,
    opt=POST_OPT,
    dependencies={"body_schema": Provide(_doc_pay, sync_to_thread=False)},
    responses=responses(OrderOut),
    summary="收款扫码: pay a scanned collection code",
)
async def pay(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The wallet of the signing institution pays a collection code for its customer.

    A dynamic code pays its order (grade by the verification factors: one -> C, two -> B,
    two with a certificate -> A); a static code needs the amount and counts as grade D. A
    personal code read from the album or a link (not the camera) is refused (259号).
    """
    return await respond(request, operations.WALLET_PAY)


@get(
    "/v1/switch/obligations",
    tags=TAGS,
    security=SECURITY,
    responses=responses(ObligationList),
    summary="A business date's interbank obligations",
)
async def obligations(
    request: Request[Any, Any, Any],
    business_date: Annotated[date, QueryParameter(description="YYYY-MM-DD (Asia/Shanghai)")],
) -> Response[bytes]:
    """Every obligation the switch recorded on an Asia/Shanghai business date (for clearing)."""
    return await respond(request, operations.obligations(business_date.isoformat()))


@get(
    "/v1/wallet/history",
    tags=TAGS,
    security=SECURITY,
    responses=responses(WalletHistory),
    summary="A customer's payments of the last year",
)
async def history(
    request: Request[Any, Any, Any],
    account_id: Annotated[
        str, QueryParameter(description="the wallet account", min_length=1, max_length=64)
    ],
) -> Response[bytes]:
    """Every payment, refund and top-up of one of the signing institution's wallet accounts
    over the last 366 days (customers may query at least a year of history, free)."""
    return await respond(request, operations.wallet_history(account_id))


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


ROUTES: Final = [resolve, pay, history, obligations, keys]

"""The merchants' barcode API under ``/v1/``: micropay, orders, query, close, refunds.

Every request is signed by a key registered for the merchant (``docs/barcode.md``); every POST
carries an ``Idempotency-Key``. Each route names its operation of the platform
(:mod:`zhifu.barcode.platform.operations`) and takes the signed-request path
(:func:`~zhifu.web.routes.barcode.signed.respond`); nothing else happens here. The bodies are
documented in the OpenAPI page from the Structs of :mod:`zhifu.barcode.api.schemas` (the
request bodies through documentation-only dependencies: the platform decodes the raw body
itself, because the signature covers its exact bytes and the amounts are decoded strictly).

>>> sorted(p for h in ROUTES for p in h.paths)  # doctest: +NORMALIZE_WHITESPACE
['/v1/micropay', '/v1/orders', '/v1/orders', '/v1/orders/{order_id:str}',
 '/v1/orders/{order_id:str}/close', '/v1/orders/{order_id:str}/refunds',
 '/v1/orders/{order_id:str}/refunds']
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.params import FromPath, QueryParameter

from zhifu.barcode.api.schemas import (
    CloseRequest,
    CreateOrderRequest,
    MicropayRequest,
    OrderOut,
    RefundList,
    RefundOut,
    RefundRequest,
)
from zhifu.barcode.platform import operations
from zhifu.web.routes.barcode.common import POST_OPT, SECURITY, responses
from zhifu.web.routes.barcode.signed import respond

TAGS: Final = ["barcode: merchants"]


def _doc_micropay(data: MicropayRequest) -> None:
    """Documents the body only (never called)."""


def _doc_create(data: CreateOrderRequest) -> None:
    """Documents the body only (never called)."""


def _doc_close(data: CloseRequest) -> None:
    """Documents the body only (never called)."""


def _doc_refund(data: RefundRequest) -> None:
    """Documents the body only (never called)."""


def _body(fn: Any) -> dict[str, Provide]:
    return {"body_schema": Provide(fn, sync_to_thread=False)}


@post(
    "/v1/micropay",
    tags=TAGS,
    security=SECURITY,
    status_code=200,
    opt=POST_OPT,
    dependencies=_body(_doc_micropay),
    responses=responses(OrderOut),
    summary="付款扫码: charge a scanned payment code",
)
async def micropay(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The merchant (or its scanning box) scanned the customer's payment code (付款码).

    The code is routed by prefix to its issuing institution, which spends it (single use
    whatever the outcome) and names the payer; the payment is checked against the payer's
    daily limit and posted to the ledgers. Answers the order (`PAID`), or a refusal.
    """
    return await respond(request, operations.MICROPAY)


@post(
    "/v1/orders",
    tags=TAGS,
    security=SECURITY,
    status_code=200,
    opt=POST_OPT,
    dependencies=_body(_doc_create),
    responses=responses(OrderOut),
    summary="收款扫码: create an order with a dynamic code",
)
async def create_order(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Create an order; show its `code_url` as a QR code for the customer's wallet to scan."""
    return await respond(request, operations.CREATE_ORDER)


@get(
    "/v1/orders/{order_id:str}",
    tags=TAGS,
    security=SECURITY,
    responses=responses(OrderOut),
    summary="Query an order",
)
async def get_order(request: Request[Any, Any, Any], order_id: FromPath[str]) -> Response[bytes]:
    """The merchant's order, by zhifu's order id (an unpaid order past its validity is closed)."""
    return await respond(request, operations.order(order_id))


@get(
    "/v1/orders",
    tags=TAGS,
    security=SECURITY,
    responses=responses(OrderOut),
    summary="Find an order",
)
async def find_order(
    request: Request[Any, Any, Any],
    out_trade_no: Annotated[str, QueryParameter(max_length=32)],
) -> Response[bytes]:
    """The merchant's order, by the merchant's own order number."""
    return await respond(request, operations.order_by_trade_no(out_trade_no))


@post(
    "/v1/orders/{order_id:str}/close",
    tags=TAGS,
    security=SECURITY,
    status_code=200,
    opt=POST_OPT,
    dependencies=_body(_doc_close),
    responses=responses(OrderOut),
    summary="Close an order",
)
async def close_order(request: Request[Any, Any, Any], order_id: FromPath[str]) -> Response[bytes]:
    """Close an unpaid order (`CREATED` or `FAILED`); a paid order must be refunded instead."""
    return await respond(request, operations.close_order(order_id))


@post(
    "/v1/orders/{order_id:str}/refunds",
    tags=TAGS,
    security=SECURITY,
    status_code=200,
    opt=POST_OPT,
    dependencies=_body(_doc_refund),
    responses=responses(RefundOut),
    summary="Refund",
)
async def create_refund(
    request: Request[Any, Any, Any], order_id: FromPath[str]
) -> Response[bytes]:
    """Refund part or all of a paid order; several refunds may follow each other, together
    at most the order's amount. The money goes back to the account that paid."""
    return await respond(request, operations.refund(order_id))


@get(
    "/v1/orders/{order_id:str}/refunds",
    tags=TAGS,
    security=SECURITY,
    responses=responses(RefundList),
    summary="List an order's refunds",
)
async def list_refunds(request: Request[Any, Any, Any], order_id: FromPath[str]) -> Response[bytes]:
    """Every refund of the order, oldest first."""
    return await respond(request, operations.refunds_of(order_id))


ROUTES: Final = [
    micropay,
    create_order,
    get_order,
    find_order,
    close_order,
    create_refund,
    list_refunds,
]

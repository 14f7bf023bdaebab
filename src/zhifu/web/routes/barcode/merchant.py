"""The merchants' barcode API under ``/v1/``: micropay, orders, query, close, refunds.

Every request is signed by a key registered for the merchant (``docs/barcode.md``); every POST
carries an ``Idempotency-Key``. The bodies are documented in the OpenAPI page from the Structs
of :mod:`barcode_schemas` (the request bodies through documentation-only dependencies: the
handlers read the raw body themselves, because the signature covers its exact bytes and the
amounts are decoded strictly).

>>> sorted(p for h in ROUTES for p in h.paths)  # doctest: +NORMALIZE_WHITESPACE
['/v1/micropay', '/v1/orders', '/v1/orders', '/v1/orders/{order_id:str}',
 '/v1/orders/{order_id:str}/close', '/v1/orders/{order_id:str}/refunds',
 '/v1/orders/{order_id:str}/refunds']
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from litestar import Request, Response, get, post
from litestar.di import Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, QueryParameter

from zhifu.barcode.api.signing import VerifyingKey
from zhifu.barcode.model import Order
from zhifu.barcode.platform import refunds as flows_refund
from zhifu.barcode.platform.flows import Started
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.barcode.platform.views import order_dict, refund_dict
from zhifu.web.routes.barcode.common import SECURITY, merchant_of, signed_get, signed_post
from zhifu.web.routes.barcode.schemas import (
    CloseRequest,
    CreateOrderRequest,
    ErrorOut,
    MicropayRequest,
    OrderOut,
    RefundList,
    RefundOut,
    RefundRequest,
    out,
)
from zhifu.web.routes.barcode.staged import StagedRoute, staged_post

TAGS: Final = ["barcode: merchants"]


def _responses(ok: type[Any]) -> dict[int, ResponseSpec]:
    refused = ResponseSpec(ErrorOut, description="refused: see docs/errors.md for each code")
    return {
        200: ResponseSpec(ok, description="the answer"),
        400: refused,
        401: refused,
        402: refused,
        403: refused,
        404: refused,
        409: refused,
        422: refused,
    }


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


def _micropay(system: BarcodeSystem, key: VerifyingKey, req: MicropayRequest) -> Order | Started:
    merchant_of(key, req.merchant_id)
    return system.flows.start_micropay(
        req.merchant_id,
        req.out_trade_no,
        req.auth_code,
        req.amount,
        req.description,
        req.terminal_id,
    )


def _order_out(order: Order) -> dict[str, Any]:
    """The :class:`OrderOut` answer: :func:`order_dict` has its fields in its order, so its JSON
    is the Struct's (a test checks it), without a conversion per request."""
    return order_dict(order)


MICROPAY: Final = StagedRoute(MicropayRequest, _micropay, _order_out)
"""``POST /v1/micropay`` as a staged payment route (also served by :mod:`zhifu.web.fastpath`)."""


@post(
    "/v1/micropay",
    tags=TAGS,
    security=SECURITY,
    status_code=200,
    dependencies=_body(_doc_micropay),
    responses=_responses(OrderOut),
    summary="付款扫码: charge a scanned payment code",
)
async def micropay(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The merchant (or its scanning box) scanned the customer's payment code (付款码).

    The code is routed by prefix to its issuing institution, which spends it (single use
    whatever the outcome) and names the payer; the payment is checked against the payer's
    daily limit and posted to the ledgers. Answers the order (`PAID`), or a refusal.
    """
    return await staged_post(request, MICROPAY)


def _create(system: BarcodeSystem, key: VerifyingKey, req: CreateOrderRequest) -> tuple[int, Any]:
    merchant_of(key, req.merchant_id)
    order = system.flows.create_order(
        req.merchant_id, req.out_trade_no, req.amount, req.description, req.expire_seconds
    )
    return 200, out(OrderOut, order_dict(order))


@post(
    "/v1/orders",
    tags=TAGS,
    security=SECURITY,
    status_code=200,
    dependencies=_body(_doc_create),
    responses=_responses(OrderOut),
    summary="收款扫码: create an order with a dynamic code",
)
async def create_order(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Create an order; show its `code_url` as a QR code for the customer's wallet to scan."""
    return await signed_post(request, CreateOrderRequest, _create)


@get(
    "/v1/orders/{order_id:str}",
    tags=TAGS,
    security=SECURITY,
    responses=_responses(OrderOut),
    summary="Query an order",
)
async def get_order(request: Request[Any, Any, Any], order_id: FromPath[str]) -> Response[bytes]:
    """The merchant's order, by zhifu's order id (an unpaid order past its validity is closed)."""

    def action(system: BarcodeSystem, key: VerifyingKey) -> tuple[int, Any]:
        order = flows_refund.query(system.flows, merchant_of(key), order_id)
        return 200, out(OrderOut, order_dict(order))

    return await signed_get(request, action)


@get(
    "/v1/orders",
    tags=TAGS,
    security=SECURITY,
    responses=_responses(OrderOut),
    summary="Find an order",
)
async def find_order(
    request: Request[Any, Any, Any],
    out_trade_no: Annotated[str, QueryParameter(max_length=32)],
) -> Response[bytes]:
    """The merchant's order, by the merchant's own order number."""

    def action(system: BarcodeSystem, key: VerifyingKey) -> tuple[int, Any]:
        order = flows_refund.query_by_trade_no(system.flows, merchant_of(key), out_trade_no)
        return 200, out(OrderOut, order_dict(order))

    return await signed_get(request, action)


@post(
    "/v1/orders/{order_id:str}/close",
    tags=TAGS,
    security=SECURITY,
    status_code=200,
    dependencies=_body(_doc_close),
    responses=_responses(OrderOut),
    summary="Close an order",
)
async def close_order(request: Request[Any, Any, Any], order_id: FromPath[str]) -> Response[bytes]:
    """Close an unpaid order (`CREATED` or `FAILED`); a paid order must be refunded instead."""

    def action(system: BarcodeSystem, key: VerifyingKey, _: CloseRequest) -> tuple[int, Any]:
        order = flows_refund.close(system.flows, merchant_of(key), order_id)
        return 200, out(OrderOut, order_dict(order))

    return await signed_post(request, CloseRequest, action)


@post(
    "/v1/orders/{order_id:str}/refunds",
    tags=TAGS,
    security=SECURITY,
    status_code=200,
    dependencies=_body(_doc_refund),
    responses=_responses(RefundOut),
    summary="Refund",
)
async def create_refund(
    request: Request[Any, Any, Any], order_id: FromPath[str]
) -> Response[bytes]:
    """Refund part or all of a paid order; several refunds may follow each other, together
    at most the order's amount. The money goes back to the account that paid."""

    def action(system: BarcodeSystem, key: VerifyingKey, req: RefundRequest) -> tuple[int, Any]:
        done = flows_refund.refund(
            system.flows, merchant_of(key), order_id, req.out_refund_no, req.amount, req.reason
        )
        return 200, out(RefundOut, refund_dict(done))

    return await signed_post(request, RefundRequest, action)


@get(
    "/v1/orders/{order_id:str}/refunds",
    tags=TAGS,
    security=SECURITY,
    responses=_responses(RefundList),
    summary="List an order's refunds",
)
async def list_refunds(request: Request[Any, Any, Any], order_id: FromPath[str]) -> Response[bytes]:
    """Every refund of the order, oldest first."""

    def action(system: BarcodeSystem, key: VerifyingKey) -> tuple[int, Any]:
        order = flows_refund.query(system.flows, merchant_of(key), order_id)
        refunds = [out(RefundOut, refund_dict(r)) for r in system.book.refunds(order.order_id)]
        return 200, RefundList(refunds)

    return await signed_get(request, action)


ROUTES: Final = [
    micropay,
    create_order,
    get_order,
    find_order,
    close_order,
    create_refund,
    list_refunds,
]

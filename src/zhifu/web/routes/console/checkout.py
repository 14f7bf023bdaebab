"""A merchant's checkout: an amount typed in yuan becomes an order with its dynamic collection
code (收款扫码), shown as a QR image that the page's script (``/static/checkout.js``) watches
until it is paid; and the cashier's scanner box (付款扫码), which charges a customer's payment
code typed in or read from an image.

The merchant is the signed-in console user's demo merchant
(:mod:`~zhifu.web.routes.console.shop`). Each form carries an order number made when the page
was drawn, so a form sent twice makes one order (the flows are idempotent by
``out_trade_no``).

>>> CHECKOUT.path, CHECKOUT.permission
('/console/checkout', 'checkout.use')
>>> status_label(OrderStatus.PAID, "en"), is_final(OrderStatus.PAYING)
('Paid', False)
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final

import anyio.to_thread
from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect

from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.model import Merchant, Order
from zhifu.barcode.platform import refunds as after_payment
from zhifu.barcode.platform.orders import OrderStatus
from zhifu.barcode.platform.views import code_url
from zhifu.web.access import guarded_principal, site_of
from zhifu.web.pages import PAGE_HEADERS, Lang, escape, html_response
from zhifu.web.routes.console.frame import Lng, Texts, fen_text, frame, lang_of, register, text
from zhifu.web.routes.console.shop import (
    Shop,
    ShopError,
    png_data_uri,
    read_code,
    refusal_text,
    shop_of,
    yuan_to_fen,
)

CHECKOUT = register("/console/checkout", "checkout.use", "收银台", "Checkout")
OrderId = Annotated[str | None, QueryParameter(description="the order to show")]
_TRADE_NO: Final = re.compile(r"[A-Za-z0-9_-]{1,32}")
TEXT: Final[Texts] = {
    "merchant": {"zh": "商户：{name}（{id}，{inst}）", "en": "Merchant: {name} ({id}, at {inst})"},
    "collect": {"zh": "收款码（顾客扫码）", "en": "Collection code (the customer scans)"},
    "amount": {"zh": "金额（元）", "en": "Amount (yuan)"},
    "make": {"zh": "生成收款码", "en": "Make the code"},
    "order": {"zh": "订单 {id}", "en": "Order {id}"},
    "charge": {"zh": "扫码枪（扫顾客付款码）", "en": "Scanner (the customer's payment code)"},
    "auth_code": {"zh": "付款码数字", "en": "Payment code digits"},
    "image": {"zh": "或付款码图片", "en": "or an image of it"},
    "charge_button": {"zh": "收款", "en": "Charge"},
    "qr_alt": {"zh": "收款码", "en": "Collection code"},
}
LABELS: Final[dict[OrderStatus, dict[Lang, str]]] = {
    OrderStatus.CREATED: {"zh": "等待付款", "en": "Waiting for payment"},
    OrderStatus.PAYING: {"zh": "支付中", "en": "Paying"},
    OrderStatus.PAID: {"zh": "已支付", "en": "Paid"},
    OrderStatus.PARTIALLY_REFUNDED: {"zh": "部分退款", "en": "Partly refunded"},
    OrderStatus.REFUNDED: {"zh": "已退款", "en": "Refunded"},
    OrderStatus.FAILED: {"zh": "支付失败", "en": "Failed"},
    OrderStatus.CLOSED: {"zh": "已关闭", "en": "Closed"},
}
PAID_STATES: Final = (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED)


def status_label(status: OrderStatus, lang: Lang) -> str:
    """What the page says of an order's status."""
    return LABELS[status][lang]


def is_final(status: OrderStatus) -> bool:
    """Whether the status can still change by itself (waiting or paying)."""
    return status not in (OrderStatus.CREATED, OrderStatus.PAYING)


def _order_view(order: Order, lang: Lang) -> str:
    """The order: its QR (a dynamic code), amount, number and live status."""
    url = code_url(order)
    qr = ""
    if url and not is_final(order.status):  # a paid or closed order's code is not shown
        alt = text(TEXT, "qr_alt", lang)
        qr = f'<img id="collect-qr" src="{png_data_uri(url, scale=6)}" alt="{alt}">'
    paid = "on" if order.status in PAID_STATES else "off"
    return (
        f'<figure id="order" class="qr" data-status-url="/console/checkout/{escape(order.order_id)}'
        f'?lang={lang}" data-final="{int(is_final(order.status))}">{qr}'
        f'<figcaption><strong class="amount">¥{fen_text(order.amount)}</strong><br>'
        f'<span class="muted">{text(TEXT, "order", lang, id=order.order_id)}</span><br>'
        f'<span id="order-status" class="{paid}" data-status="{order.status.value}">'
        f"{escape(status_label(order.status, lang))}</span></figcaption></figure>"
    )


def _forms(merchant: Merchant, trade_no: str, lang: Lang) -> str:
    t = {k: text(TEXT, k, lang) for k in TEXT if "{" not in TEXT[k][lang]}
    common = (f'method="post" action="/console/checkout?lang={lang}" '
              f'enctype="multipart/form-data" class="stack"')  # fmt: skip
    amount = (f'<label>{t["amount"]} <input name="amount" inputmode="decimal" required '
              r'pattern="[0-9]{1,9}(\.[0-9]{1,2})?"></label>')  # fmt: skip
    number = f'<input type="hidden" name="out_trade_no" value="{escape(trade_no)}">'
    who = text(TEXT, "merchant", lang, name=merchant.name, id=merchant.merchant_id,
               inst=merchant.institution)  # fmt: skip
    return (
        f'<p class="muted" id="merchant">{who}</p>'
        f'<h2>{t["collect"]}</h2><form id="collect-form" {common}>'
        f'<input type="hidden" name="action" value="collect">{number}{amount}'
        f'<button type="submit">{t["make"]}</button></form>'
        f'<h2>{t["charge"]}</h2><form id="charge-form" {common}>'
        f'<input type="hidden" name="action" value="charge">{number}{amount}'
        f'<label>{t["auth_code"]} <input name="auth_code" inputmode="numeric" '
        f'autocomplete="off"></label>'
        f'<label>{t["image"]} <input type="file" name="image" accept="image/*"></label>'
        f'<button type="submit">{t["charge_button"]}</button></form>'
    )


def _page(shop: Shop, user: str, lang: Lang, order_id: str | None, error: str = "") -> str:
    merchant = shop.merchant(user)
    shown = ""
    if order_id:
        try:
            order = after_payment.query(shop.system.flows, merchant.merchant_id, order_id)
            shown = _order_view(order, lang)
        except BarcodeError as exc:
            error = error or refusal_text(exc, lang)
    alert = (
        f'<p class="error" role="alert" id="checkout-error">{escape(error)}</p>' if error else ""
    )
    trade_no = shop.system.flows.new_id("K")
    body = f'<div id="checkout">{alert}{shown}{_forms(merchant, trade_no, lang)}</div>'
    return frame(lang, CHECKOUT.title[lang], body, CHECKOUT.path, script="checkout.js",
                 query=f"order={escape(order_id)}" if order_id and shown else "")  # fmt: skip


@get("/console/checkout", include_in_schema=False)
async def checkout_page(
    request: Request[Any, Any, Any], lang: Lng = None, order: OrderId = None
) -> Response[str]:
    """The checkout, with the order ``order`` shown when given (async: a handler on the thread
    pool sharing its path with another would be registered twice by Litestar)."""
    chosen, who = lang_of(lang), guarded_principal(request)
    shop = shop_of(request.app.state)
    return html_response(await anyio.to_thread.run_sync(_page, shop, who.name, chosen, order))


def _submit(shop: Shop, user: str, form: dict[str, Any], image: bytes) -> Order:
    """Make the order (``collect``) or charge the payment code (``charge``)."""
    merchant = shop.merchant(user)
    trade_no = str(form.get("out_trade_no", ""))
    if not _TRADE_NO.fullmatch(trade_no):
        raise ShopError("request_id_invalid")
    amount = yuan_to_fen(str(form.get("amount", "")))
    flows = shop.system.flows
    if not shop.system.in_business(f"merchant:{merchant.merchant_id}"):
        raise BarcodeError("institution_not_in_business")
    if form.get("action") != "charge":
        return flows.create_order(merchant.merchant_id, trade_no, amount, "console checkout")
    typed = re.sub(r"\s", "", str(form.get("auth_code", "")))
    code = typed or (read_code(image) if image else "")
    if not code:
        raise ShopError("code_missing")
    return flows.micropay(merchant.merchant_id, trade_no, code, amount, "console checkout")


@post("/console/checkout", include_in_schema=False, status_code=303)
async def checkout_submit(request: Request[Any, Any, Any], lang: Lng = None) -> Response[Any]:
    """A form of the page: the order's page, or the page again saying why not (400)."""
    chosen, who = lang_of(lang), guarded_principal(request)
    form = await request.form()
    upload = form.get("image")
    image = await upload.read() if isinstance(upload, UploadFile) else b""
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    shop = shop_of(request.app.state)
    action = (
        "console.checkout.charge" if fields.get("action") == "charge" else "console.checkout.order"
    )
    site = site_of(request.app.state)
    try:
        order = await anyio.to_thread.run_sync(_submit, shop, who.name, fields, image)
    except (ShopError, BarcodeError) as exc:
        site.record(who.name, action, str(fields.get("out_trade_no", "")), f"refused {exc.code}")
        failed = None
        if isinstance(exc, BarcodeError) and fields.get("action") == "charge":
            merchant_id = shop.merchant(who.name).merchant_id
            found = shop.system.book.order_by_trade_no(merchant_id, fields["out_trade_no"])
            failed = found.order_id if found else None
        document = await anyio.to_thread.run_sync(
            _page, shop, who.name, chosen, failed, refusal_text(exc, chosen)
        )
        return Response(document, status_code=400, media_type=MediaType.HTML, headers=PAGE_HEADERS)
    site.record(who.name, action, order.order_id, f"{order.status.value} {order.amount} fen")
    return Redirect(f"/console/checkout?lang={chosen}&order={order.order_id}", status_code=303)


@get("/console/checkout/{order_id:str}", include_in_schema=False, sync_to_thread=True)
def checkout_status(
    request: Request[Any, Any, Any],
    order_id: Annotated[str, PathParameter(max_length=64)],
    lang: Lng = None,
) -> Response[Any]:
    """The order's status as JSON (the page polls it until it is final)."""
    chosen, who = lang_of(lang), guarded_principal(request)
    shop = shop_of(request.app.state)
    merchant = shop.merchant(who.name)
    headers = {"cache-control": "no-store"}
    try:
        order = after_payment.query(shop.system.flows, merchant.merchant_id, order_id)
    except BarcodeError as exc:
        refused = {"error": {"code": exc.code, "message": refusal_text(exc, chosen)}}
        return Response(refused, status_code=exc.status, media_type=MediaType.JSON, headers=headers)
    content: dict[str, Any] = {
        "order_id": order.order_id,
        "status": order.status.value,
        "label": status_label(order.status, chosen),
        "amount": order.amount,
        "amount_text": fen_text(order.amount),
        "paid": order.status in PAID_STATES,
        "final": is_final(order.status),
        "paid_at": None if order.paid_at is None else order.paid_at.isoformat(),
    }
    return Response(content, media_type=MediaType.JSON, headers=headers)


ROUTES = [checkout_page, checkout_submit, checkout_status]

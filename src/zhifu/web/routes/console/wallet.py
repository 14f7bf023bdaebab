"""The demo customer's wallet, phone-sized: the balance, the payment code (付款码) as a QR the
page's script (``/static/wallet.js``) refreshes before it expires, a scan box for an image of a
merchant's collection code (or a camera frame), the confirmation and payment, and the history.

The wallet is the signed-in console user's own (:mod:`~zhifu.web.routes.console.shop`). A
payment runs the flow the signed wallet API runs (``Flows.pay_collection``, after the licence
check) under the platform's idempotency store: the page's script chooses a request id for each
confirmation, and the same id with the same request answers the stored outcome (replayed), so
a payment is made once whatever the retries.

>>> WALLET.path, WALLET.permission
('/console/wallet', 'wallet.use')
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

import anyio.to_thread
from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import UploadFile

from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.model import Order, ScanSource
from zhifu.barcode.platform.guards import IdemState, fingerprint
from zhifu.barcode.platform.requests import valid_idempotency_key
from zhifu.web.access import guarded_principal, site_of
from zhifu.web.pages import Lang, escape, html_response
from zhifu.web.routes.console.frame import Lng, Texts, fen_text, frame, lang_of, register, text
from zhifu.web.routes.console.shop import (
    FACTORS,
    WALLET_INSTITUTION,
    Line,
    Shop,
    ShopError,
    ShownCode,
    png_data_uri,
    read_code,
    refusal_body,
    shop_of,
    yuan_to_fen,
)

WALLET = register("/console/wallet", "wallet.use", "演示钱包", "Demo wallet")
PAY_PATH: Final = "/console/wallet/pay"
TEXT: Final[Texts] = {
    "balance": {"zh": "余额", "en": "Balance"},
    "code": {"zh": "付款码", "en": "Payment code"},
    "code_hint": {
        "zh": "向收银员出示，付款码到期前自动刷新",
        "en": "Show it to the cashier; it refreshes itself before it expires",
    },
    "expires": {"zh": "有效至 {at}", "en": "Valid until {at}"},
    "refresh": {"zh": "刷新付款码", "en": "New code"},
    "scan": {"zh": "扫一扫", "en": "Scan"},
    "scan_hint": {
        "zh": "上传商户收款码的图片（或用摄像头拍摄）",
        "en": "Upload an image of a merchant's collection code (or use the camera)",
    },
    "image": {"zh": "收款码图片", "en": "Image of the code"},
    "read": {"zh": "识别", "en": "Read"},
    "camera": {"zh": "用摄像头扫码", "en": "Use the camera"},
    "shoot": {"zh": "拍照识别", "en": "Read this frame"},
    "payee": {"zh": "收款方", "en": "Payee"},
    "amount": {"zh": "金额", "en": "Amount"},
    "amount_yuan": {"zh": "金额（元）", "en": "Amount (yuan)"},
    "pay": {"zh": "确认付款", "en": "Pay"},
    "paid": {"zh": "已向 {payee} 付款 ¥{amount}", "en": "Paid ¥{amount} to {payee}"},
    "history": {"zh": "最近记录", "en": "Recent history"},
    "columns": {"zh": "时间|类型|金额（元）", "en": "At|Kind|Amount (yuan)"},
    "payment": {"zh": "付款", "en": "Payment"},
    "refund": {"zh": "退款", "en": "Refund"},
    "top-up": {"zh": "充值", "en": "Top-up"},
    "other": {"zh": "其他", "en": "Other"},
    "who": {"zh": "{user} 的钱包 · 机构 {inst}", "en": "{user}'s wallet · at {inst}"},
}


def _json(content: Any, status: int = 200) -> Response[Any]:
    return Response(
        content,
        status_code=status,
        media_type=MediaType.JSON,
        headers={"cache-control": "no-store"},
    )


def _refused(exc: ShopError | BarcodeError, lang: Lang) -> Response[Any]:
    return _json(refusal_body(exc, lang), exc.status)


def _code_json(shown: ShownCode, lang: Lang) -> dict[str, Any]:
    """The payment code for the page: its image, digits, expiry, and in how many milliseconds
    it expires and the page is to fetch the next one."""
    return {
        "image": png_data_uri(shown.digits, scale=5),
        "digits": shown.digits,
        "expires_at": shown.expires_at.isoformat(),
        "expires_in_ms": shown.after(shown.expires_at),
        "refresh_in_ms": shown.after(shown.refresh_at),
        "expiry_text": text(TEXT, "expires", lang, at=shown.expires_at.strftime("%H:%M:%S")),
    }


def _history_rows(lines: list[Line], lang: Lang) -> list[list[str]]:
    return [
        [line.at.strftime("%m-%d %H:%M:%S"), TEXT[line.kind][lang], fen_text(line.amount)]
        for line in lines
    ]


def _history_table(rows: list[list[str]], lang: Lang) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in TEXT["columns"][lang].split("|"))
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>"
                   for row in rows)  # fmt: skip
    return (f'<div class="wide"><table id="history"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")  # fmt: skip


def _page(shop: Shop, user: str, lang: Lang) -> str:
    shown = shop.next_code(user)
    code = _code_json(shown, lang)
    t = {k: text(TEXT, k, lang) for k in TEXT if "{" not in TEXT[k][lang]}
    who = text(TEXT, "who", lang, user=user, inst=WALLET_INSTITUTION)
    digits = " ".join(shown.digits[i : i + 4] for i in range(0, len(shown.digits), 4))
    return f"""<div class="phone-page" id="wallet" data-lang="{lang}">
<p class="muted">{who}</p>
<p class="balance">{t["balance"]} <strong>¥<span id="balance">{fen_text(shop.balance(user))}</span></strong></p>
<h2>{t["code"]}</h2>
<figure id="paycode" class="qr" data-url="/console/wallet/code?lang={lang}"
 data-expires-in="{code["expires_in_ms"]}" data-refresh-in="{code["refresh_in_ms"]}">
<img id="paycode-qr" src="{code["image"]}" alt="{t["code"]}" width="200" height="200">
<figcaption><code id="paycode-digits">{escape(digits)}</code><br>
<span id="paycode-expiry" class="muted">{escape(code["expiry_text"])}</span></figcaption>
</figure>
<p class="muted">{t["code_hint"]}</p>
<button type="button" id="paycode-refresh">{t["refresh"]}</button>
<h2>{t["scan"]}</h2>
<p class="muted">{t["scan_hint"]}</p>
<form id="scan-form" class="stack" method="post" action="/console/wallet/scan?lang={lang}"
 enctype="multipart/form-data">
<label>{t["image"]} <input type="file" name="image" id="scan-file" accept="image/*"></label>
<input type="hidden" name="source" value="album">
<button type="submit">{t["read"]}</button>
</form>
<div id="camera" class="stack" hidden>
<button type="button" id="camera-start">{t["camera"]}</button>
<video id="camera-video" playsinline muted hidden></video>
<button type="button" id="camera-shot" hidden>{t["shoot"]}</button>
</div>
<p id="scan-error" class="error" role="alert" hidden></p>
<div id="confirm" class="stack" hidden>
<p>{t["payee"]} <strong id="confirm-payee"></strong></p>
<p id="confirm-fixed">{t["amount"]} <strong>¥<span id="confirm-amount"></span></strong></p>
<label id="confirm-typed" hidden>{t["amount_yuan"]} <input id="confirm-input" inputmode="decimal"></label>
<button type="button" id="pay-button">{t["pay"]}</button>
</div>
<p id="pay-result" role="status"></p>
<h2>{t["history"]}</h2>
{_history_table(_history_rows(shop.history(user), lang), lang)}
</div>"""  # noqa: E501 - one line per element reads best here


@get("/console/wallet", include_in_schema=False, sync_to_thread=True)
def wallet_page(request: Request[Any, Any, Any], lang: Lng = None) -> Response[str]:
    """The signed-in user's demo wallet (opened and funded on the first visit)."""
    chosen, who = lang_of(lang), guarded_principal(request)
    try:
        body = _page(shop_of(request.app.state), who.name, chosen)
    except ShopError as exc:
        why = refusal_body(exc, chosen)["error"]["message"]
        body = f'<p class="error" role="alert">{escape(why)}</p>'
    return html_response(frame(chosen, WALLET.title[chosen], body, WALLET.path, script="wallet.js"))


@get("/console/wallet/code", include_in_schema=False, sync_to_thread=True)
def wallet_code(request: Request[Any, Any, Any], lang: Lng = None) -> Response[Any]:
    """A fresh payment code (image, digits, expiry, when to refresh) as JSON."""
    chosen, who = lang_of(lang), guarded_principal(request)
    try:
        shown = shop_of(request.app.state).next_code(who.name)
    except ShopError as exc:
        return _refused(exc, chosen)
    return _json(_code_json(shown, chosen))


def _scan(shop: Shop, image: bytes, source: ScanSource) -> dict[str, Any]:
    """Read the code in ``image`` and say what it is (nothing changes)."""
    code = read_code(image)
    merchant, order, kind = shop.system.flows.resolve(code)
    amount = None if order is None else order.amount
    return {
        "code": code,
        "source": source.value,
        "kind": kind.value,
        "payee": merchant.name,
        "merchant_id": merchant.merchant_id,
        "amount": amount,
        "amount_text": None if amount is None else fen_text(amount),
        "order_status": None if order is None else order.status.value,
    }


async def _upload(request: Request[Any, Any, Any]) -> tuple[bytes, ScanSource]:
    form = await request.form()
    found = form.get("image")
    image = await found.read() if isinstance(found, UploadFile) else b""
    source = ScanSource.CAMERA if form.get("source") == "camera" else ScanSource.ALBUM
    return image, source


@post("/console/wallet/scan", include_in_schema=False, status_code=200)
async def wallet_scan(request: Request[Any, Any, Any], lang: Lng = None) -> Response[Any]:
    """Decode an uploaded image (album or camera frame) and resolve its collection code."""
    chosen = lang_of(lang)
    guarded_principal(request)
    image, source = await _upload(request)
    shop = shop_of(request.app.state)
    try:
        found = await anyio.to_thread.run_sync(_scan, shop, image, source)
    except (ShopError, BarcodeError) as exc:
        return _refused(exc, chosen)
    return _json(found)


def _order_json(order: Order, payee: str) -> dict[str, Any]:
    return {"order_id": order.order_id, "status": order.status.value,
            "amount": order.amount, "payee": payee}  # fmt: skip


def pay(shop: Shop, user: str, form: dict[str, str]) -> tuple[int, dict[str, Any], bool]:
    """Pay a scanned code once per request id: (status, stored answer, replayed).

    The answer is stored language-free (an order, or a refusal's code) under the scope
    ``console-wallet:<user>`` of the platform's idempotency store.
    """
    request_id = form.get("request_id", "")
    if not valid_idempotency_key(request_id):
        raise ShopError("request_id_invalid")
    typed = form.get("amount", "").strip()
    amount = yuan_to_fen(typed) if typed else None
    source = ScanSource.CAMERA if form.get("source") == "camera" else ScanSource.ALBUM
    code = form.get("code", "")
    request = {"code": code, "amount": amount, "source": source.value}
    print_ = fingerprint("POST", PAY_PATH, json.dumps(request, sort_keys=True).encode())
    system, scope = shop.system, f"console-wallet:{user}"
    customer, account = shop.wallet(user)
    found = system.idempotency.begin(scope, request_id, print_)
    if found.state is IdemState.REPLAY:
        assert found.status is not None and found.body is not None
        return found.status, json.loads(found.body), True
    if found.state is not IdemState.NEW:
        stuck = found.state is IdemState.MISMATCH
        raise BarcodeError("idempotency_key_reused" if stuck else "idempotency_in_flight")
    try:
        if not system.in_business(f"institution:{WALLET_INSTITUTION}"):
            raise BarcodeError("institution_not_in_business")
        order = system.flows.pay_collection(
            WALLET_INSTITUTION, code, customer, account, factors=FACTORS,
            scan_source=source, amount=amount, description="console wallet",
        )  # fmt: skip
        merchant = system.directory.merchant(order.merchant_id)
        status, answer = 200, _order_json(order, merchant.name if merchant else "")
    except BarcodeError as exc:
        status, answer = exc.status, {"error": {"code": exc.code}}
    except BaseException:
        system.idempotency.release(scope, request_id)
        raise
    system.idempotency.complete(scope, request_id, status, json.dumps(answer).encode())
    return status, answer, False


def _pay_answer(
    shop: Shop, user: str, form: dict[str, str], lang: Lang, audit: Callable[[str, str], None]
) -> Response[Any]:
    """The answer to a payment; ``audit(object, outcome)`` records a payment or a refusal
    (not a replayed answer)."""
    try:
        status, answer, replayed = pay(shop, user, form)
    except (ShopError, BarcodeError) as exc:
        audit(form.get("request_id", ""), f"refused {exc.code}")
        return _refused(exc, lang)
    if "error" in answer:
        if not replayed:
            audit(form.get("request_id", ""), f"refused {answer['error']['code']}")
        return _refused(BarcodeError(answer["error"]["code"]), lang)
    if not replayed:
        audit(str(answer["order_id"]), f"paid {answer['amount']} fen")
    amount = fen_text(int(answer["amount"]))
    answer |= {
        "replayed": replayed,
        "message": text(TEXT, "paid", lang, payee=answer["payee"], amount=amount),
        "balance_text": fen_text(shop.balance(user)),
        "history": _history_rows(shop.history(user), lang),
    }
    return _json(answer, status)


@post(PAY_PATH, include_in_schema=False, status_code=200)
async def wallet_pay(request: Request[Any, Any, Any], lang: Lng = None) -> Response[Any]:
    """Pay the scanned code (fields ``request_id``, ``code``, ``source`` and, for a static
    code, ``amount`` in yuan); the same ``request_id`` pays once."""
    chosen, who = lang_of(lang), guarded_principal(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    shop = shop_of(request.app.state)
    site = site_of(request.app.state)

    def audit(obj: str, outcome: str) -> None:
        site.record(who.name, "console.wallet.pay", obj, outcome)

    return await anyio.to_thread.run_sync(_pay_answer, shop, who.name, form, chosen, audit)


ROUTES = [wallet_page, wallet_code, wallet_scan, wallet_pay]

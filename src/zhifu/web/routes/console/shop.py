"""What the wallet and checkout pages share: each console user's demo parties in the barcode
system, amounts typed in yuan, the refusals in both languages and the QR images.

Each console user gets, on first use and through the system's own enrolment API
(:class:`~zhifu.barcode.platform.system.BarcodeSystem`):

- a wallet at ``zhifu`` (customer ``CU`` + 16 hex digits of the SHA-256 of the user name,
  account ``WA`` + the same digits), funded once with :data:`OPENING_TOP_UP` of test money by a
  top-up idempotent by its reference (reserve custody -> the customer's balance: the
  institution's books stay balanced);
- a phone for that wallet: a device enrolled by this process, whose code generator is kept in
  memory (a later process enrols another device with the binding code, as a new phone would);
- a merchant at ``huanyu`` (``MC`` + the same digits), so that a payment crosses the switch.

>>> yuan_to_fen("12.34"), yuan_to_fen(" 0.5 "), yuan_to_fen("8")
(1234, 50, 800)
>>> yuan_to_fen("1.005")
Traceback (most recent call last):
...
zhifu.web.routes.console.shop.ShopError: amount_invalid
>>> party_id("CU", "li")
'CU00a9e4255a5b6306'
>>> refusal_text(ShopError("image_empty"), "en")
'The upload is empty: choose an image of a code.'
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from litestar.datastructures import State

from zhifu.barcode.api.errors import BarcodeError
from zhifu.barcode.codes.payment_code import PaymentCodeGenerator
from zhifu.barcode.codes.render import decode_image, render_png
from zhifu.barcode.model import Merchant
from zhifu.barcode.platform.postings import CODE_PAYMENT, CODE_REFUND, CODE_TOP_UP
from zhifu.barcode.platform.postings import customer_account as ledger_id
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.core.clock import SHANGHAI
from zhifu.core.errors import DecodeError, UsageError, ZhifuError
from zhifu.web.pages import Lang
from zhifu.web.routes.barcode.common import system_of

WALLET_INSTITUTION: Final = "zhifu"
MERCHANT_INSTITUTION: Final = "huanyu"
OPENING_TOP_UP: Final = 100_000
"""What a demo wallet is funded with, once: 1,000.00 yuan of test money."""
FACTORS: Final = ("device",)
"""The verification a demo wallet reports: the bound device (grade C, 1,000 yuan a day)."""
MAX_FEN: Final = 100_000_000  # 1,000,000.00 yuan: more is a typing mistake here
STATE_KEY: Final = "console_shop"
_AMOUNT: Final = re.compile(r"([0-9]{1,9})(?:\.([0-9]{1,2}))?")
_lock = threading.Lock()

REFUSALS: Final[dict[str, dict[Lang, str]]] = {
    "amount_invalid": {
        "zh": "金额格式不对：请输入元，最多两位小数（如 12.34）",
        "en": "Not an amount: type yuan with at most two decimals (e.g. 12.34).",
    },
    "image_empty": {
        "zh": "上传的文件是空的：请选择一张二维码图片",
        "en": "The upload is empty: choose an image of a code.",
    },
    "image_unreadable": {
        "zh": "无法读取这张图片（支持 PNG、JPEG、BMP、GIF）",
        "en": "This image cannot be read (PNG, JPEG, BMP or GIF).",
    },
    "no_code": {"zh": "图片中没有找到二维码", "en": "No QR code was found in the image."},
    "code_missing": {
        "zh": "请输入或上传顾客的付款码",
        "en": "Type or upload the customer's payment code.",
    },
    "request_id_invalid": {
        "zh": "请求编号无效，请重新扫码",
        "en": "The request id is not valid: scan the code again.",
    },
    "too_many_codes": {
        "zh": "本时段的付款码已用完，请十秒后再试",
        "en": "Every code of this time step was shown: try again in ten seconds.",
    },
    "collection_code_refused": {
        "zh": "这不是可支付的收款码",
        "en": "This is not a collection code a wallet can pay.",
    },
    "collection_code_unknown": {"zh": "收款码不存在或已失效", "en": "No such collection code."},
    "personal_code_remote": {
        "zh": "个人收款码只能用摄像头当面扫码支付",
        "en": "A personal collection code is paid face to face with the camera only.",
    },
    "insufficient_funds": {"zh": "余额不足", "en": "The balance is not enough."},
    "limit_exceeded": {"zh": "超过今日付款限额", "en": "Over today's barcode payment limit."},
    "order_paid": {"zh": "该订单已支付", "en": "The order is paid already."},
    "order_closed": {"zh": "该订单已关闭", "en": "The order is closed."},
    "order_expired": {"zh": "该订单已过期", "en": "The order has expired."},
    "order_in_progress": {"zh": "该订单正在支付中", "en": "A payment of this order is running."},
    "order_not_found": {"zh": "没有这笔订单", "en": "No such order."},
    "amount_mismatch": {"zh": "金额与订单不符", "en": "The amount differs from the order's."},
    "amount_required": {"zh": "静态收款码需要输入金额", "en": "A static code needs the amount."},
    "auth_code_malformed": {"zh": "付款码格式不对", "en": "Not a payment code."},
    "auth_code_unknown_issuer": {
        "zh": "未知机构的付款码",
        "en": "No institution issues this code.",
    },
    "auth_code_unknown_device": {"zh": "付款码无效", "en": "The payment code is not valid."},
    "auth_code_invalid": {"zh": "付款码无效", "en": "The payment code is not valid."},
    "auth_code_not_yet_valid": {"zh": "付款码时间不对", "en": "The code's time is wrong."},
    "auth_code_expired": {
        "zh": "付款码已过期，请顾客刷新",
        "en": "The payment code has expired: ask for a fresh one.",
    },
    "auth_code_used": {
        "zh": "付款码已使用，请顾客刷新",
        "en": "The payment code was used already: ask for a fresh one.",
    },
    "idempotency_key_reused": {
        "zh": "同一请求编号用于了另一笔付款",
        "en": "This request id was used for another payment.",
    },
    "idempotency_in_flight": {"zh": "该付款仍在处理中", "en": "This payment is still running."},
    "institution_not_in_business": {
        "zh": "机构许可已暂停或撤销，业务已停止",
        "en": "The institution's licence is suspended or revoked: its business is stopped.",
    },
    "out_trade_no_used": {"zh": "订单号已被使用", "en": "The order number was used already."},
}
"""The refusals these pages show, in both languages (a barcode refusal missing here is shown
with its English meaning and code)."""


class ShopError(ZhifuError):
    """A refusal of the console's wallet or checkout (``code`` is a key of :data:`REFUSALS`)."""

    def __init__(self, code: str, status: int = 400) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


def refusal_text(exc: ShopError | BarcodeError, lang: Lang) -> str:
    """What to tell the user about a refusal, in ``lang``."""
    found = REFUSALS.get(exc.code)
    if found is not None:
        return found[lang]
    message = exc.message if isinstance(exc, BarcodeError) else exc.code
    return f"{message} ({exc.code})"


def refusal_body(exc: ShopError | BarcodeError, lang: Lang) -> dict[str, dict[str, str]]:
    """The JSON answer of a refusal: its code and its text in ``lang``."""
    return {"error": {"code": exc.code, "message": refusal_text(exc, lang)}}


def yuan_to_fen(text: str) -> int:
    """An amount typed in yuan (at most two decimals) as integer fen, without a float."""
    found = _AMOUNT.fullmatch(text.strip()) if isinstance(text, str) else None
    if found is None:
        raise ShopError("amount_invalid")
    whole, part = found.group(1), (found.group(2) or "").ljust(2, "0")
    fen = int(whole) * 100 + int(part)
    if not 0 < fen <= MAX_FEN:
        raise ShopError("amount_invalid")
    return fen


def party_id(prefix: str, user: str) -> str:
    """A barcode id (``[A-Za-z0-9]``, 18 characters) for a console user's demo party."""
    return prefix + hashlib.sha256(user.encode("utf-8")).hexdigest()[:16]


def png_data_uri(text: str, *, scale: int = 6) -> str:
    """A QR symbol of ``text`` as a ``data:`` URI of a PNG made here (the CSP allows it)."""
    png = render_png(text, scale=scale, border=4)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def read_code(image: bytes) -> str:
    """The first QR symbol's text in an uploaded image; a :class:`ShopError` otherwise."""
    if not image:
        raise ShopError("image_empty")
    try:
        found = decode_image(image)
    except DecodeError:
        raise ShopError("image_unreadable") from None
    if not found or not found[0]:
        raise ShopError("no_code")
    return found[0]


@dataclass(frozen=True, slots=True)
class ShownCode:
    """A payment code as the phone shows it: the digits and when the issuer stops taking it."""

    digits: str
    shown_at: datetime
    expires_at: datetime
    refresh_at: datetime

    def after(self, when: datetime) -> int:
        """Milliseconds from when the code was shown to ``when`` (a page's clock may be off
        the server's: it counts delays, never instants)."""
        return (when - self.shown_at) // timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a wallet's history."""

    at: datetime
    kind: str
    amount: int  # signed: negative goes out of the wallet


_KINDS: Final = {CODE_PAYMENT: "payment", CODE_REFUND: "refund", CODE_TOP_UP: "top-up"}


class Shop:
    """The console users' demo parties in one barcode system (see the module docstring)."""

    def __init__(self, system: BarcodeSystem) -> None:
        self.system = system
        self._lock = threading.Lock()
        self._ready: set[str] = set()
        self._phones: dict[str, PaymentCodeGenerator] = {}

    def wallet(self, user: str) -> tuple[str, str]:
        """(customer id, account id) of the user's wallet, opened and funded once."""
        customer, account = party_id("CU", user), party_id("WA", user)
        with self._lock:
            if "w:" + user not in self._ready:
                system = self.system
                if system.directory.account(WALLET_INSTITUTION, account) is None:
                    system.open_wallet(WALLET_INSTITUTION, customer, account)
                reference = f"console-opening-{account}"  # once: a repeat is EXISTS
                system.top_up(WALLET_INSTITUTION, account, OPENING_TOP_UP, reference)
                self._ready.add("w:" + user)
        return customer, account

    def merchant(self, user: str) -> Merchant:
        """The user's demo merchant, signed up once."""
        merchant_id = party_id("MC", user)
        found = self.system.directory.merchant(merchant_id)
        if found is not None:
            return found
        with self._lock:
            found = self.system.directory.merchant(merchant_id)
            return found or self.system.add_merchant(
                merchant_id, MERCHANT_INSTITUTION, f"演示商户 {user}"[:64]
            )

    def balance(self, user: str) -> int:
        """The wallet's balance in fen."""
        _, account = self.wallet(user)
        node = self.system.node(WALLET_INSTITUTION)
        return node.balance(ledger_id(WALLET_INSTITUTION, account))

    def history(self, user: str, count: int = 10) -> list[Line]:
        """The wallet's last ``count`` movements, newest first."""
        _, account = self.wallet(user)
        node = self.system.node(WALLET_INSTITUTION)
        since = self.system.clock.now() - timedelta(days=366)
        mine = ledger_id(WALLET_INSTITUTION, account)
        lines = [
            Line(_at(t.timestamp), _KINDS.get(t.code, "other"),
                 t.amount if t.credit_account_id == mine else -t.amount)
            for t in node.history(account, since_ns=int(since.timestamp()) * 1_000_000_000)
        ]  # fmt: skip
        return lines[::-1][:count]

    def next_code(self, user: str) -> ShownCode:
        """A fresh payment code of the user's phone, with its expiry and when to refresh."""
        phone = self._phone(user)
        now = self.system.clock.now()
        policy = phone.policy
        try:
            with self._lock:  # one counter per phone: two tabs never get the same code
                digits = phone.next_code()
        except UsageError:
            raise ShopError("too_many_codes", 429) from None
        born = policy.step_at(now) * policy.step_seconds
        expires = datetime.fromtimestamp(born + policy.ttl_seconds, SHANGHAI)
        margin = timedelta(seconds=2 * policy.step_seconds)  # refresh well before the end
        refresh = max(expires - margin, now + timedelta(seconds=1))
        return ShownCode(digits, now, expires, min(refresh, expires))

    def _phone(self, user: str) -> PaymentCodeGenerator:
        customer, account = self.wallet(user)
        with self._lock:
            found = self._phones.get(user)
            if found is None:
                system = self.system
                has_one = system.directory.devices_of(WALLET_INSTITUTION, customer)
                step_up = system.start_binding(WALLET_INSTITUTION, customer) if has_one else ""
                handle, secret = system.enroll_device(
                    WALLET_INSTITUTION, customer, account, grade="C", step_up=step_up
                )
                found = self._phones[user] = system.phone(WALLET_INSTITUTION, handle, secret)
        return found


def _at(ns: int) -> datetime:
    """A ledger timestamp (nanoseconds since the epoch) in Asia/Shanghai."""
    return datetime.fromtimestamp(ns // 1_000_000_000, SHANGHAI)


def shop_of(state: State) -> Shop:
    """The app's :class:`Shop` over its barcode system (made at the first use)."""
    system = system_of(state)
    found: Any = state.get(STATE_KEY)
    if found is None or found.system is not system:
        with _lock:
            found = state.get(STATE_KEY)
            if found is None or found.system is not system:
                found = state[STATE_KEY] = Shop(system)
    assert isinstance(found, Shop)
    return found

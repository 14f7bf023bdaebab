"""The console's wallet and checkout against a real barcode system in a temporary directory:
a checkout's code read from the page's own QR image pays from the wallet once, the balances
move by exactly the amount, bad images change nothing, the cashier charges a payment code, and
a merchant may use the checkout but not the wallet."""

from __future__ import annotations

import base64
import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from litestar.testing import TestClient
from PIL import Image

from zhifu.acquirer.site import Site, open_site_at
from zhifu.barcode.platform.postings import customer_account, merchant_account, system_account
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.security.access import totp
from zhifu.web.app import create_app
from zhifu.web.routes.console.shop import (
    MERCHANT_INSTITUTION,
    OPENING_TOP_UP,
    WALLET_INSTITUTION,
    party_id,
)

PASSWORD = "console shop test password"
IMAGE = re.compile(r'id="collect-qr" src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
TRADE_NO = re.compile(r'name="out_trade_no" value="([A-Za-z0-9_-]+)"')


@dataclass
class Stack:
    site: Site
    system: BarcodeSystem
    ops: TestClient  # type: ignore[type-arg]
    shop: TestClient  # type: ignore[type-arg]

    def wallet(self) -> int:
        node = self.system.node(WALLET_INSTITUTION)
        return node.balance(customer_account(WALLET_INSTITUTION, party_id("WA", "ops")))

    def takings(self) -> int:
        """The operator's merchant's balance plus the fee its institution kept."""
        node = self.system.node(MERCHANT_INSTITUTION)
        mine = merchant_account(MERCHANT_INSTITUTION, party_id("MC", "ops"))
        return node.balance(mine) + node.balance(system_account(MERCHANT_INSTITUTION, "fee_income"))


def _sign_in(client: TestClient, name: str, secret: bytes | None) -> None:  # type: ignore[type-arg]
    code = totp(secret, time.time()) if secret else ""
    form = {"user": name, "password": PASSWORD, "totp": code}
    answer = client.post("/console/sign-in", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    site = open_site_at(tmp_path / "var", {"ZHIFU_LMK": "2b" * 32})
    system = BarcodeSystem.open(tmp_path / "barcode")
    ops_secret = site.access.add_user("ops", "operator", PASSWORD, actor="setup")
    site.access.add_user("shop", "merchant", PASSWORD, actor="setup")
    app = create_app(site=site, barcode=system)
    try:
        with TestClient(app=app) as ops, TestClient(app=app) as shop:
            _sign_in(ops, "ops", ops_secret)
            _sign_in(shop, "shop", None)
            yield Stack(site, system, ops, shop)
    finally:
        system.close()
        site.close()


def _collect(client: TestClient, amount: str) -> tuple[str, bytes]:  # type: ignore[type-arg]
    """Make a collection code on the checkout: (order id, the PNG the page shows)."""
    page = client.get("/console/checkout")
    trade_no = TRADE_NO.search(page.text)
    assert trade_no is not None
    form = {"action": "collect", "out_trade_no": trade_no.group(1), "amount": amount}
    made = client.post("/console/checkout", data=form, follow_redirects=False)
    assert made.status_code == 303, made.text
    order_id = made.headers["location"].rsplit("order=", 1)[1]
    shown = client.get(made.headers["location"])
    image = IMAGE.search(shown.text)
    assert image is not None and "¥12.34" in shown.text
    return order_id, base64.b64decode(image.group(1))


def _scan(client: TestClient, image: bytes, lang: str = "zh") -> dict:  # type: ignore[type-arg]
    files = {"image": ("code.png", image, "image/png")}
    answer = client.post(f"/console/wallet/scan?lang={lang}", files=files,
                         data={"source": "album"})  # fmt: skip
    return {"status": answer.status_code, **answer.json()}


def test_a_checkout_code_scanned_from_its_image_is_paid_once(stack: Stack) -> None:
    ops = stack.ops
    page = ops.get("/console/wallet")  # opens and funds the wallet, shows a payment code
    assert page.status_code == 200 and "1,000.00" in page.text and "wallet.js" in page.text
    assert stack.wallet() == OPENING_TOP_UP
    assert ops.get("/console/wallet").status_code == 200  # funded once only
    assert stack.wallet() == OPENING_TOP_UP
    order_id, png = _collect(ops, "12.34")
    takings = stack.takings()
    found = _scan(ops, png)
    assert found["status"] == 200 and found["amount"] == 1234 and found["amount_text"] == "12.34"
    assert found["payee"] == "演示商户 ops" and found["order_status"] == "CREATED"
    assert ops.get(f"/console/checkout/{order_id}").json()["paid"] is False

    form = {"request_id": "pay-1", "code": found["code"], "source": "album"}
    paid = ops.post("/console/wallet/pay?lang=en", data=form)
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "PAID" and paid.json()["replayed"] is False
    assert "Paid ¥12.34" in paid.json()["message"]
    status = ops.get(f"/console/checkout/{order_id}?lang=en").json()
    assert status["paid"] and status["final"] and status["label"] == "Paid"
    assert stack.wallet() == OPENING_TOP_UP - 1234
    assert stack.takings() - takings == 1234  # the merchant's part and the fee: the amount

    again = ops.post("/console/wallet/pay", data=form)  # the same request: answered, not paid
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert again.json()["order_id"] == paid.json()["order_id"]
    assert stack.wallet() == OPENING_TOP_UP - 1234
    other = ops.post("/console/wallet/pay", data=form | {"source": "camera"})
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    twice = ops.post("/console/wallet/pay?lang=en", data=form | {"request_id": "pay-2"})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "order_paid"
    assert stack.wallet() == OPENING_TOP_UP - 1234
    history = ops.get("/console/wallet").text
    assert "付款" in history and "-12.34" in history and "充值" in history
    trail = [(r.actor, r.action, r.outcome) for r in stack.site.trail.records()]
    paid_id = paid.json()["order_id"]
    assert ("ops", "console.checkout.order", "CREATED 1234 fen") in trail
    assert ("ops", "console.wallet.pay", "paid 1234 fen") in trail  # once: the replay is not
    assert [r.object for r in stack.site.trail.records()
            if r.action == "console.wallet.pay"] == [paid_id, "pay-1", "pay-2"]  # fmt: skip
    assert ("ops", "console.wallet.pay", "refused order_paid") in trail


def _white_png() -> bytes:
    out = io.BytesIO()
    Image.new("L", (120, 120), 255).save(out, format="PNG")
    return out.getvalue()


def test_bad_images_are_refused_and_change_nothing(stack: Stack) -> None:
    ops = stack.ops
    ops.get("/console/wallet")
    order_id, png = _collect(ops, "12.34")
    cases = {
        "image_unreadable": png[:40] + b"\x00" * 64,  # a corrupt PNG
        "no_code": _white_png(),  # an image without a QR code
        "image_empty": b"",
    }
    for code, image in cases.items():
        found = _scan(ops, image)
        assert (found["status"], found["error"]["code"]) == (400, code)
        assert "Traceback" not in found["error"]["message"]
    assert _scan(ops, _white_png())["error"]["message"] == "图片中没有找到二维码"
    assert _scan(ops, b"", "en")["error"]["message"].startswith("The upload is empty")
    nothing = ops.post("/console/wallet/scan", data={"source": "album"})  # no file at all
    assert nothing.json()["error"]["code"] == "image_empty"
    text_qr = ops.get("/console/wallet/code").json()  # a QR, but a payment code: not payable
    found = _scan(ops, base64.b64decode(text_qr["image"].split(",", 1)[1]))
    assert found["error"]["code"] == "collection_code_refused"
    assert stack.wallet() == OPENING_TOP_UP
    assert ops.get(f"/console/checkout/{order_id}").json()["status"] == "CREATED"


def test_the_payment_code_refreshes_before_it_expires(stack: Stack) -> None:
    first = stack.ops.get("/console/wallet/code?lang=en").json()
    second = stack.ops.get("/console/wallet/code?lang=en").json()
    assert first["digits"] != second["digits"] and first["digits"].startswith("91")
    assert 0 < first["refresh_in_ms"] < first["expires_in_ms"] <= 60_000
    assert first["expiry_text"].startswith("Valid until")
    page = stack.ops.get("/console/wallet").text
    refresh = re.search(r'data-expires-in="(\d+)"\s+data-refresh-in="(\d+)"', page)
    assert refresh is not None and int(refresh.group(2)) < int(refresh.group(1))


def _charge(client: TestClient, amount: str, **fields: object) -> object:  # type: ignore[type-arg]
    page = client.get("/console/checkout")
    trade_no = TRADE_NO.findall(page.text)[-1]  # the scanner box's form
    form = {"action": "charge", "out_trade_no": trade_no, "amount": amount}
    image = fields.pop("image", None)
    form |= {k: str(v) for k, v in fields.items()}
    files = {"image": ("code.png", image, "image/png")} if image is not None else None
    return client.post("/console/checkout?lang=en", data=form, files=files,
                       follow_redirects=False)  # fmt: skip


def test_the_cashier_charges_a_payment_code(stack: Stack) -> None:
    ops = stack.ops
    code = ops.get("/console/wallet/code").json()
    charged = _charge(ops, "1.00", auth_code=code["digits"])
    assert charged.status_code == 303  # type: ignore[attr-defined]
    shown = ops.get(charged.headers["location"] + "&lang=en")  # type: ignore[attr-defined]
    assert 'data-status="PAID"' in shown.text and "¥1.00" in shown.text
    assert stack.wallet() == OPENING_TOP_UP - 100
    used = _charge(ops, "1.00", auth_code=code["digits"])  # a payment code is single use
    assert used.status_code == 400 and "was used already" in used.text  # type: ignore[attr-defined]
    image = base64.b64decode(ops.get("/console/wallet/code").json()["image"].split(",", 1)[1])
    by_image = _charge(ops, "2.50", image=image)
    assert by_image.status_code == 303  # type: ignore[attr-defined]
    assert stack.wallet() == OPENING_TOP_UP - 350
    missing = _charge(ops, "1.00")
    assert missing.status_code == 400 and "payment code" in missing.text  # type: ignore[attr-defined]
    assert stack.wallet() == OPENING_TOP_UP - 350


def test_amounts_are_parsed_exactly_or_refused(stack: Stack) -> None:
    page = stack.ops.get("/console/checkout").text
    trade_no = TRADE_NO.search(page)
    assert trade_no is not None
    for bad in ("12.345", "-1", "0", "1e3", "abc", ""):
        form = {"action": "collect", "out_trade_no": trade_no.group(1), "amount": bad}
        refused = stack.ops.post("/console/checkout", data=form, follow_redirects=False)
        assert refused.status_code == 400 and "金额格式不对" in refused.text, bad
    form = {"action": "collect", "out_trade_no": trade_no.group(1), "amount": "0.1"}
    made = stack.ops.post("/console/checkout", data=form, follow_redirects=False)
    order_id = made.headers["location"].rsplit("order=", 1)[1]
    assert stack.ops.get(f"/console/checkout/{order_id}").json()["amount"] == 10
    again = stack.ops.post("/console/checkout", data=form, follow_redirects=False)
    assert again.headers["location"] == made.headers["location"]  # the same form: one order


def test_a_merchant_uses_the_checkout_but_not_the_wallet(stack: Stack) -> None:
    shop, ops = stack.shop, stack.ops
    page = shop.get("/console/checkout?lang=en")
    assert page.status_code == 200 and "Merchant: 演示商户 shop" in page.text
    assert 'href="/console/checkout?lang=zh"' in page.text  # the language switch
    assert shop.get("/console/wallet").status_code == 403
    assert shop.get("/console/wallet/code").status_code == 403
    assert shop.post("/console/wallet/pay", data={"request_id": "x"}).status_code == 403
    assert shop.post("/console/wallet/scan", data={}).status_code == 403
    order_id, _ = _collect(ops, "12.34")
    theirs = shop.get(f"/console/checkout/{order_id}")  # another merchant's order
    assert theirs.status_code == 404 and theirs.json()["error"]["code"] == "order_not_found"
    home = shop.get("/console").text
    assert "/console/checkout" in home and "/console/wallet" not in home

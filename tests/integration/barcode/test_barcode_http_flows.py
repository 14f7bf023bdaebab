"""End to end over HTTP on 127.0.0.1: the scanning box pays from a
rendered PNG, a customer pays a dynamic collection code, a cross-institution payment routes
through the switch; each ledger ends as the payments mean and `zhifu ledger check` holds;
notifications are signed, retried and de-duplicable; the API is described by OpenAPI."""

from __future__ import annotations

import argparse
import http.server
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from zhifu.barcode.api.signing import VerifyingKey, load_public_key
from zhifu.barcode.codes.render import decode_image, render_png
from zhifu.barcode.platform.notify import NotificationVerifier
from zhifu.barcode.platform.postings import customer_account, merchant_account, system_account
from zhifu.cli.barcode import box as box_cmd
from zhifu.cli.common import emit
from zhifu.core.clock import SHANGHAI

if TYPE_CHECKING:
    from .conftest import Stack


def run_box(*argv: str) -> tuple[int, dict[str, Any]]:
    parser = argparse.ArgumentParser(prog="zhifu")
    box_cmd.register(parser.add_subparsers())
    args = parser.parse_args(["box", *argv, "--json"])
    outcome = args.handler(args)
    emit(outcome, False)
    return outcome.status, dict(outcome.data)


def test_the_box_scans_a_phone_screen_and_the_merchant_is_paid(
    stack: Stack, tmp_path: Path
) -> None:
    merchant, client = stack.merchant()
    _, account, phone = stack.wallet(balance=50_000)
    frame = tmp_path / "phone-screen.png"
    frame.write_bytes(render_png(phone.next_code(), scale=6))
    key = tmp_path / "merchant.pem"
    key.write_bytes(stack.pems[client.key.key_id])
    wav = tmp_path / "announce.wav"
    status, data = run_box(
        "--url",
        stack.url,
        "--merchant-id",
        merchant,
        "--key-id",
        client.key.key_id,
        "--key",
        str(key),
        "--image",
        str(frame),
        "--amount",
        "12.34",
        "--wav",
        str(wav),
    )
    assert status == 0, data
    assert data["announcement"] == "收款成功 12.34元"
    assert data["order"]["status"] == "PAID" and data["order"]["amount"] == 1234
    if shutil.which("espeak-ng"):
        assert wav.read_bytes()[:4] == b"RIFF"
    else:
        assert data["wav"] is None
    zhifu = stack.system.node("zhifu")
    assert zhifu.balance(customer_account("zhifu", account)) == 50_000 - 1234
    assert zhifu.balance(merchant_account("zhifu", merchant)) == 1234 - 5
    # the same frame again: the code is spent, the box says so
    status, data = run_box(
        "--url",
        stack.url,
        "--merchant-id",
        merchant,
        "--key-id",
        client.key.key_id,
        "--key",
        str(key),
        "--image",
        str(frame),
        "--amount",
        "12.34",
    )
    assert (status, data["error_code"]) == (1, "auth_code_used")
    assert data["announcement"] == "收款失败 付款码已使用，请刷新"


def test_a_customer_pays_a_dynamic_collection_code(stack: Stack) -> None:
    merchant, client = stack.merchant(algorithm="RSA-SHA256")
    customer, account, _ = stack.wallet(balance=20_000)
    wallet = stack.institution("zhifu")
    created = client.post(
        "/v1/orders",
        {"merchant_id": merchant, "out_trade_no": "DYN-1", "amount": 8_800, "description": "tea"},
        idempotency_key="DYN-1",
    )
    assert created.status == 200, created.body
    order = created.json()
    assert order["status"] == "CREATED" and order["code_url"].startswith("https://pay.zhifu.test/")
    (scanned,) = decode_image(render_png(order["code_url"]))  # the wallet's camera
    shown = wallet.post("/v1/wallet/resolve", {"code": scanned}, idempotency_key="res-1").json()
    assert (shown["merchant_id"], shown["order"]["amount"]) == (merchant, 8_800)
    paid = wallet.post(
        "/v1/wallet/payments",
        {
            "code": scanned,
            "customer_id": customer,
            "account_id": account,
            "factors": ["password"],
            "scan_source": "camera",
        },
        idempotency_key="pay-1",
    )
    assert paid.status == 200, paid.body
    assert paid.json()["status"] == "PAID"
    assert client.get(f"/v1/orders/{order['order_id']}").json()["status"] == "PAID"
    assert client.get("/v1/orders?out_trade_no=DYN-1").json()["order_id"] == order["order_id"]
    zhifu = stack.system.node("zhifu")
    assert zhifu.balance(customer_account("zhifu", account)) == 20_000 - 8_800


def test_a_cross_institution_payment_routes_through_the_switch(stack: Stack) -> None:
    merchant, client = stack.merchant("zhifu")
    _, account, phone = stack.wallet("qingniao", balance=30_000)
    paid = client.post(
        "/v1/micropay",
        {
            "merchant_id": merchant,
            "out_trade_no": "X-1",
            "auth_code": phone.next_code(),
            "amount": 2_500,
        },
        idempotency_key="X-1",
    )
    assert paid.status == 200, paid.body
    body = paid.json()
    assert (body["status"], body["payer_institution"], body["acquirer"]) == (
        "PAID",
        "qingniao",
        "zhifu",
    )
    qingniao, zhifu = stack.system.node("qingniao"), stack.system.node("zhifu")
    assert qingniao.balance(customer_account("qingniao", account)) == 30_000 - 2_500
    assert qingniao.balance(system_account("qingniao", "issuer_clearing")) >= 2_500
    assert zhifu.balance(merchant_account("zhifu", merchant)) == 2_500 - 10
    today = datetime.now(SHANGHAI).date().isoformat()
    listed = stack.institution("qingniao").get(f"/v1/switch/obligations?business_date={today}")
    mine = [o for o in listed.json()["obligations"] if o["order_id"] == body["order_id"]]
    assert [(o["payer"], o["payee"], o["amount"]) for o in mine] == [("qingniao", "zhifu", 2_500)]
    assert client.get(f"/v1/switch/obligations?business_date={today}").error_code == (
        "principal_mismatch"
    )


@pytest.mark.parametrize("institution", ["zhifu", "huanyu", "qingniao"])
def test_zhifu_ledger_check_holds_for_every_ledger(stack: Stack, institution: str) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "zhifu.cli",
            "ledger",
            "check",
            "--database",
            stack.ledger_url(institution),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "balanced"


class Receiver:
    """A merchant's notification endpoint on 127.0.0.1: answers 500 first, then 200."""

    def __init__(self, failures: int = 1) -> None:
        self.failures = failures
        self.seen: list[tuple[str, dict[str, str], bytes]] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.arrived:
                    receiver.seen.append((self.path, dict(self.headers.items()), body))
                    status = 500 if len(receiver.seen) <= receiver.failures else 200
                    receiver.arrived.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify/zhifu?shop=1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 15.0) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.seen) >= count, timeout), self.seen


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.server.shutdown()


def test_notifications_are_signed_retried_and_carry_an_event_id(
    stack: Stack, receiver: Receiver
) -> None:
    merchant, client = stack.merchant(notify_url=receiver.url)
    _, _, phone = stack.wallet()
    paid = client.post(
        "/v1/micropay",
        {
            "merchant_id": merchant,
            "out_trade_no": "N-1",
            "auth_code": phone.next_code(),
            "amount": 300,
        },
        idempotency_key="N-1",
    ).json()
    receiver.wait(2)  # the first answer was 500: delivered again after the back-off
    keys = {}
    for item in client.get("/v1/keys").json()["keys"]:
        algorithm, public = load_public_key(item["public_key_pem"])
        keys[item["key_id"]] = VerifyingKey(item["key_id"], item["principal"], algorithm, public)
    verifier = NotificationVerifier(keys)
    firsts = []
    for path, headers, body in receiver.seen[:2]:
        event, new = verifier.verify(path, headers, body)
        assert headers["Zhifu-Event-Id"] == event["id"]
        firsts.append(new)
        assert event["type"] == "payment.succeeded"
        assert event["data"]["order_id"] == paid["order_id"]
        assert event["data"]["status"] == "PAID"
    assert firsts == [True, False]  # the retry is the same event: the merchant ignores it
    path, headers, body = receiver.seen[0]
    with pytest.raises(Exception, match="nonce_reused"):
        verifier.verify(path, headers, body)  # a replayed delivery
    tampered = body.replace(b"PAID", b"PAIX")
    with pytest.raises(Exception, match="signature_invalid"):
        NotificationVerifier(keys).verify(path, headers, tampered)
    event_id = json.loads(body)["id"]
    deadline = time.monotonic() + 10
    while stack.system.notifier.status(event_id) != ("delivered", 2):
        assert time.monotonic() < deadline, stack.system.notifier.status(event_id)
        time.sleep(0.05)


def test_openapi_describes_the_barcode_api(stack: Stack) -> None:
    client = stack.merchant()[1]
    doc = client.get("/schema/openapi.json").json()
    for path in (
        "/v1/micropay",
        "/v1/orders",
        "/v1/orders/{order_id}/refunds",
        "/v1/wallet/payments",
        "/v1/switch/obligations",
        "/v1/keys",
    ):
        assert path in doc["paths"]
    schemas = doc["components"]["schemas"]
    assert schemas["MicropayRequest"]["properties"]["amount"]["type"] == "integer"
    assert "zhifuSignature" in doc["components"]["securitySchemes"]
    operation = doc["paths"]["/v1/micropay"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "MicropayRequest"
    )
    assert "ErrorOut" in json.dumps(operation["responses"]["402"])

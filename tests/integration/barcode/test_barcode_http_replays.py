"""Replays over HTTP: a used code, an expired code, a reused nonce, a
stale timestamp, a tampered signature and an over-limit payment are each refused with their own
error code and change nothing (every ledger balance, the order, payment, refund, obligation and
limit tables are the same before and after)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from zhifu.barcode.api.client import ApiResponse
from zhifu.barcode.platform.notify import new_nonce
from zhifu.core.clock import FixedClock, SystemClock

if TYPE_CHECKING:
    from zhifu.barcode.api.client import ApiClient

    from .conftest import Stack


def micropay(client: ApiClient, merchant: str, code: str, amount: int, **kw: Any) -> ApiResponse:
    trade_no = kw.pop("trade_no", None) or new_nonce()[:24]
    body = {"merchant_id": merchant, "out_trade_no": trade_no, "auth_code": code, "amount": amount}
    return client.post("/v1/micropay", body, idempotency_key=trade_no, **kw)


def assert_refused(response: ApiResponse, status: int, code: str) -> None:
    assert response.status == status, response.body
    error = response.json()["error"]
    assert error["code"] == code
    assert error["doc_url"] == f"/docs/errors#{code}"
    assert error["message"]


def test_a_used_code_is_refused(stack: Stack) -> None:
    merchant, client = stack.merchant()
    _, _, phone = stack.wallet()
    code = phone.next_code()
    assert micropay(client, merchant, code, 100).json()["status"] == "PAID"
    before = stack.state()
    assert_refused(micropay(client, merchant, code, 100), 400, "auth_code_used")
    assert stack.state() == before


def test_an_expired_code_is_refused(stack: Stack) -> None:
    merchant, client = stack.merchant()
    two_minutes_ago = FixedClock(SystemClock().now() - timedelta(minutes=2))
    _, _, phone = stack.wallet(clock=two_minutes_ago)
    code = phone.next_code()  # shown on the phone two minutes ago
    before = stack.state()
    assert_refused(micropay(client, merchant, code, 100), 400, "auth_code_expired")
    assert stack.state() == before


def test_a_reused_nonce_is_refused(stack: Stack) -> None:
    merchant, client = stack.merchant()
    _, _, phone = stack.wallet()
    nonce = new_nonce()
    first = micropay(client, merchant, phone.next_code(), 100, nonce=nonce, trade_no="RN-1")
    assert first.status == 200
    before = stack.state()
    again = micropay(client, merchant, phone.next_code(), 100, nonce=nonce, trade_no="RN-2")
    assert_refused(again, 401, "nonce_reused")
    assert stack.state() == before
    assert client.get("/v1/orders?out_trade_no=RN-2").error_code == "order_not_found"


def test_an_exact_replay_of_a_signed_request_is_refused(stack: Stack) -> None:
    merchant, client = stack.merchant()
    _, _, phone = stack.wallet()
    body = (
        f'{{"merchant_id":"{merchant}","out_trade_no":"RP-1",'
        f'"auth_code":"{phone.next_code()}","amount":100}}'
    ).encode()
    headers = client.signed_headers("POST", "/v1/micropay", body)
    extra = {"Idempotency-Key": "RP-1"}
    assert client.request("POST", "/v1/micropay", body, extra, headers=headers).status == 200
    before = stack.state()
    replay = client.request("POST", "/v1/micropay", body, extra, headers=headers)
    assert_refused(replay, 401, "nonce_reused")
    assert stack.state() == before


def test_a_stale_timestamp_is_refused(stack: Stack) -> None:
    merchant, client = stack.merchant()
    _, _, phone = stack.wallet()
    before = stack.state()
    stale = micropay(client, merchant, phone.next_code(), 100, timestamp=int(time.time()) - 301)
    assert_refused(stale, 401, "timestamp_stale")
    future = micropay(client, merchant, phone.next_code(), 100, timestamp=int(time.time()) + 400)
    assert_refused(future, 401, "timestamp_stale")
    assert stack.state() == before


def test_a_tampered_signature_is_refused(stack: Stack) -> None:
    merchant, client = stack.merchant(algorithm="RSA-SHA256")
    _, _, phone = stack.wallet()
    body = (
        f'{{"merchant_id":"{merchant}","out_trade_no":"TS-1",'
        f'"auth_code":"{phone.next_code()}","amount":100}}'
    ).encode()
    headers = client.signed_headers("POST", "/v1/micropay", body)
    algorithm, signature = headers["Zhifu-Signature"].split(" ")
    flipped = ("B" if signature[10] == "A" else "A").join((signature[:10], signature[11:]))
    before = stack.state()
    forged = dict(headers, **{"Zhifu-Signature": f"{algorithm} {flipped}"})
    extra = {"Idempotency-Key": "TS-1"}
    assert_refused(
        client.request("POST", "/v1/micropay", body, extra, headers=forged),
        401,
        "signature_invalid",
    )
    more = body.replace(b'"amount":100', b'"amount":900')  # body changed after signing
    assert_refused(
        client.request("POST", "/v1/micropay", more, extra, headers=headers),
        401,
        "signature_invalid",
    )
    assert stack.state() == before
    unsigned = client.request("POST", "/v1/micropay", body, extra, headers={"X": "y"})
    assert_refused(unsigned, 401, "signature_missing")


def test_an_over_limit_payment_is_refused(stack: Stack) -> None:
    merchant, client = stack.merchant()
    _, _, phone = stack.wallet(grade="C")  # one factor: 1,000 CNY a day
    assert micropay(client, merchant, phone.next_code(), 99_999).status == 200
    assert micropay(client, merchant, phone.next_code(), 1).status == 200  # exactly 1,000.00
    before = stack.state()
    assert_refused(micropay(client, merchant, phone.next_code(), 1), 402, "limit_exceeded")
    assert stack.state() == before


def test_a_personal_code_from_the_album_is_refused(stack: Stack) -> None:
    person = stack.next("P")
    stack.system.add_merchant(person, "huanyu", "Zhang San", kind="personal")
    url = stack.system.issue_static_code(person)
    customer, account, _ = stack.wallet("huanyu")
    wallet = stack.institution("huanyu")
    before = stack.state()
    refused = wallet.post(
        "/v1/wallet/payments",
        {
            "code": url,
            "customer_id": customer,
            "account_id": account,
            "scan_source": "album",
            "amount": 100,
        },
        idempotency_key="album-1",
    )
    assert_refused(refused, 403, "personal_code_remote")
    assert stack.state() == before

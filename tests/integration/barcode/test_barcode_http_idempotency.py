"""Over HTTP: Idempotency-Key (same key and body -> the stored answer; same key, other body ->
422; still running -> 409), strict integer amounts, who may act for whom, and refunds capped
at the original amount minus earlier refunds."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import TYPE_CHECKING, Any

import pytest

from zhifu.barcode.api.client import ApiClient, ApiResponse
from zhifu.barcode.platform.postings import customer_account

if TYPE_CHECKING:
    from zhifu.barcode.platform.postings import Leg
    from zhifu.barcode.switch import Posted

    from .conftest import Stack


def pay_body(merchant: str, trade_no: str, code: str, amount: Any) -> dict[str, Any]:
    return {"merchant_id": merchant, "out_trade_no": trade_no, "auth_code": code, "amount": amount}


def test_same_key_and_body_answers_the_stored_response_once(stack: Stack) -> None:
    merchant, client = stack.merchant()
    _, account, phone = stack.wallet(balance=10_000)
    body = json.dumps(pay_body(merchant, "I-1", phone.next_code(), 700)).encode()
    first = client.post("/v1/micropay", body, idempotency_key="key-I-1")
    again = client.post("/v1/micropay", body, idempotency_key="key-I-1")  # new nonce, same key
    assert first.status == again.status == 200
    assert first.body == again.body
    assert first.header("Idempotent-Replayed") is None
    assert again.header("Idempotent-Replayed") == "true"
    assert stack.system.node("zhifu").balance(customer_account("zhifu", account)) == 9_300


def test_a_refusal_is_stored_too(stack: Stack) -> None:
    merchant, client = stack.merchant()
    body = json.dumps(pay_body(merchant, "I-2", "990000000000000000", 700)).encode()
    first = client.post("/v1/micropay", body, idempotency_key="key-I-2")
    again = client.post("/v1/micropay", body, idempotency_key="key-I-2")
    assert (first.error_code, again.error_code) == ("auth_code_unknown_issuer",) * 2
    assert again.header("Idempotent-Replayed") == "true"


def test_same_key_other_body_is_422(stack: Stack) -> None:
    merchant, client = stack.merchant()
    _, _, phone = stack.wallet()
    code = phone.next_code()
    assert (
        client.post(
            "/v1/micropay", pay_body(merchant, "I-3", code, 700), idempotency_key="key-I-3"
        ).status
        == 200
    )
    before = stack.state()
    other = client.post(
        "/v1/micropay", pay_body(merchant, "I-3", code, 701), idempotency_key="key-I-3"
    )
    assert (other.status, other.error_code) == (422, "idempotency_key_reused")
    assert stack.state() == before


def test_a_concurrent_request_with_the_same_key_is_409(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    merchant, client = stack.merchant()
    _, _, phone = stack.wallet()
    entered, release = threading.Event(), threading.Event()
    original = stack.system.switch.post_async

    async def slow(legs: tuple[Leg, ...]) -> Posted:  # between recording and posting
        entered.set()
        assert await asyncio.to_thread(release.wait, 10)
        return await original(legs)

    monkeypatch.setattr(stack.system.switch, "post_async", slow)
    body = json.dumps(pay_body(merchant, "I-4", phone.next_code(), 700)).encode()
    answers: list[ApiResponse] = []
    first = threading.Thread(
        target=lambda: answers.append(
            ApiClient(stack.url, client.key).post("/v1/micropay", body, idempotency_key="key-I-4")
        )
    )
    first.start()
    assert entered.wait(10)
    second = client.post("/v1/micropay", body, idempotency_key="key-I-4")
    assert (second.status, second.error_code) == (409, "idempotency_in_flight")
    release.set()
    first.join(10)
    assert answers[0].status == 200
    third = client.post("/v1/micropay", body, idempotency_key="key-I-4")
    assert third.body == answers[0].body


def test_a_retry_finishes_a_payment_interrupted_by_a_server_error(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    merchant, client = stack.merchant()
    _, account, phone = stack.wallet(balance=10_000)
    original = stack.system.switch.post_async
    calls = []

    async def broken_once(legs: tuple[Leg, ...]) -> Posted:  # the payment is recorded by now
        calls.append(legs)
        if len(calls) == 1:
            raise RuntimeError("the ledger connection dropped")
        return await original(legs)

    monkeypatch.setattr(stack.system.switch, "post_async", broken_once)
    body = json.dumps(pay_body(merchant, "I-9", phone.next_code(), 700)).encode()
    failed = client.post("/v1/micropay", body, idempotency_key="key-I-9")
    assert (failed.status, failed.error_code) == (500, "internal_error")
    balance = stack.system.node("zhifu").balance
    assert balance(customer_account("zhifu", account)) == 10_000  # nothing moved yet
    retry = client.post("/v1/micropay", body, idempotency_key="key-I-9")  # the key was released
    assert retry.status == 200 and retry.json()["status"] == "PAID"
    assert retry.header("Idempotent-Replayed") is None
    again = client.post("/v1/micropay", body, idempotency_key="key-I-10")  # same order number
    assert again.json()["order_id"] == retry.json()["order_id"]
    assert again.json()["status"] == "PAID"
    assert balance(customer_account("zhifu", account)) == 9_300  # exactly once
    assert len(calls) == 2
    assert stack.system.node("zhifu").ledger.check().balanced


def test_a_post_without_an_idempotency_key_is_refused(stack: Stack) -> None:
    merchant, client = stack.merchant()
    answer = client.post(
        "/v1/micropay", pay_body(merchant, "I-5", "910000000000000000", 1), idempotency_key=None
    )
    assert (answer.status, answer.error_code) == (400, "idempotency_key_missing")


@pytest.mark.parametrize("amount", ["12.34", 12.0, 1e3, True, 0, -5, None, "1234", [1234], 10**13])
def test_amounts_are_integer_fen_only(stack: Stack, amount: Any) -> None:
    merchant, client = stack.merchant()
    _, _, phone = stack.wallet()
    before = stack.state()
    answer = client.post(
        "/v1/micropay", pay_body(merchant, "I-6", phone.next_code(), amount), idempotency_key="k6"
    )
    assert (answer.status, answer.error_code) == (400, "validation_error"), answer.body
    assert "amount" in answer.json()["error"]["message"]
    assert stack.state() == before


def test_unknown_fields_and_other_currencies_are_refused(stack: Stack) -> None:
    merchant, client = stack.merchant()
    for n, extra in enumerate(({"tip": 1}, {"currency": "USD"})):
        body = dict(pay_body(merchant, "I-7", "910000000000000000", 100), **extra)
        answer = client.post("/v1/micropay", body, idempotency_key=f"k7-{n}")
        assert answer.error_code == "validation_error"


def test_a_merchant_key_acts_only_for_its_merchant(stack: Stack) -> None:
    _, client = stack.merchant()
    other, _ = stack.merchant()
    answer = client.post(
        "/v1/micropay", pay_body(other, "I-8", "910000000000000000", 100), idempotency_key="k8"
    )
    assert (answer.status, answer.error_code) == (403, "principal_mismatch")
    wallet = client.post("/v1/wallet/resolve", {"code": "x"}, idempotency_key="k9")
    assert wallet.error_code == "principal_mismatch"


def test_refunds_are_capped_at_the_original_minus_earlier_refunds(stack: Stack) -> None:
    merchant, client = stack.merchant()
    _, account, phone = stack.wallet(balance=10_000)
    order = client.post(
        "/v1/micropay",
        pay_body(merchant, "RF-1", phone.next_code(), 1_000),
        idempotency_key="RF-1",
    ).json()
    path = f"/v1/orders/{order['order_id']}/refunds"

    def refund(no: str, amount: int) -> ApiResponse:
        body = {"out_refund_no": no, "amount": amount}
        return client.post(path, body, idempotency_key=f"{no}-{amount}")

    assert refund("R1", 300).json()["status"] == "succeeded"
    assert refund("R2", 300).json()["status"] == "succeeded"
    over = refund("R3", 401)
    assert (over.status, over.error_code) == (409, "refund_exceeds_remaining")
    assert "400 fen remain" in over.json()["error"]["message"]
    assert refund("R3", 400).json()["amount"] == 400
    assert refund("R4", 1).error_code == "refund_exceeds_remaining"
    listed = client.get(path).json()["refunds"]
    assert [r["amount"] for r in listed] == [300, 300, 400]
    assert sum(r["fee_refund"] for r in listed) == order["fee"]
    assert client.get(f"/v1/orders/{order['order_id']}").json()["status"] == "REFUNDED"
    assert stack.system.node("zhifu").balance(customer_account("zhifu", account)) == 10_000


def test_close_and_query_over_http(stack: Stack) -> None:
    merchant, client = stack.merchant()
    created = client.post(
        "/v1/orders",
        {"merchant_id": merchant, "out_trade_no": "CL-1", "amount": 100},
        idempotency_key="CL-1",
    ).json()
    closed = client.post(f"/v1/orders/{created['order_id']}/close", {}, idempotency_key="CL-1c")
    assert closed.json()["status"] == "CLOSED"
    assert client.get("/v1/orders/O-NO-SUCH").error_code == "order_not_found"

"""Signed API requests as a service of the platform (zhifu.barcode.platform.requests), in
process and without HTTP: a SignedRequest and an operation in, a Reply out; the nonce, the
Idempotency-Key and the stored answers."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from zhifu.barcode.api.schemas import CreateOrderRequest, MicropayRequest
from zhifu.barcode.api.signing import SigningKey, VerifyingKey, sign_headers
from zhifu.barcode.codes.payment_code import PaymentCodeGenerator
from zhifu.barcode.platform import operations
from zhifu.barcode.platform.notify import new_nonce
from zhifu.barcode.platform.postings import customer_account
from zhifu.barcode.platform.requests import Call, Operation, Payment, Reply, SignedRequest
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.barcode.platform.views import order_dict
from zhifu.crypto import sm2

KEY = sm2.generate_keypair()


@dataclass
class Shop:
    system: BarcodeSystem
    key: SigningKey
    merchant_id: str
    account_id: str
    phone: PaymentCodeGenerator

    def request(
        self, method: str, path: str, body: Any = None, *, idem: str | None = None, **kw: Any
    ) -> SignedRequest:
        raw = b"" if body is None else json.dumps(body).encode()
        nonce = kw.get("nonce") or new_nonce()
        signed = sign_headers(self.key, method, path, raw, timestamp=int(time.time()), nonce=nonce)
        headers = {name.lower(): value for name, value in signed.items()}
        if idem is not None:
            headers["idempotency-key"] = idem
        return SignedRequest(method, path, headers, raw)

    def answer(self, request: SignedRequest, operation: Operation) -> Reply:
        return asyncio.run(self.system.requests.answer(request, operation))

    def post(self, path: str, body: Any, idem: str, operation: Operation) -> Reply:
        return self.answer(self.request("POST", path, body, idem=idem), operation)

    def micropay(self, trade_no: str, amount: int, code: str | None = None) -> dict[str, Any]:
        return {
            "merchant_id": self.merchant_id,
            "out_trade_no": trade_no,
            "auth_code": code or self.phone.next_code(),
            "amount": amount,
        }


@pytest.fixture
def shop() -> Iterator[Shop]:
    system = BarcodeSystem.open()
    system.add_merchant("M1", "zhifu", "Noodles")
    system.add_key("merchant:M1", "M1-k1", KEY[1])
    system.open_wallet("zhifu", "C1", "A1")
    system.top_up("zhifu", "A1", 10_000, "topup-A1")
    handle, secret = system.enroll_device("zhifu", "C1", "A1")
    yield Shop(
        system,
        SigningKey("M1-k1", "SM2-SM3", KEY[0]),
        "M1",
        "A1",
        system.phone("zhifu", handle, secret),
    )
    system.close()


def error_code(reply: Reply) -> str:
    return str(json.loads(reply.body)["error"]["code"])


def test_a_micropay_is_answered_then_replayed_from_the_stored_answer(shop: Shop) -> None:
    body = shop.micropay("T1", 700)
    first = shop.post("/v1/micropay", body, "T1", operations.MICROPAY)
    assert (first.status, first.replayed) == (200, False)
    assert json.loads(first.body)["status"] == "PAID"
    again = shop.post("/v1/micropay", body, "T1", operations.MICROPAY)
    assert (again.status, again.body, again.replayed) == (200, first.body, True)
    balance = shop.system.node("zhifu").balance(customer_account("zhifu", shop.account_id))
    assert balance == 10_000 - 700


def test_a_call_stores_its_answer_and_a_query_reads_the_order(shop: Shop) -> None:
    body = {"merchant_id": "M1", "out_trade_no": "D1", "amount": 300}
    created = shop.answer(
        shop.request("POST", "/v1/orders", body, idem="D1"), operations.CREATE_ORDER
    )
    assert created.status == 200
    order_id = json.loads(created.body)["order_id"]
    replay = shop.answer(
        shop.request("POST", "/v1/orders", body, idem="D1"), operations.CREATE_ORDER
    )
    assert (replay.body, replay.replayed) == (created.body, True)
    found = shop.answer(shop.request("GET", f"/v1/orders/{order_id}"), operations.order(order_id))
    assert json.loads(found.body)["status"] == "CREATED"
    missing = shop.answer(shop.request("GET", "/v1/orders/O-NONE"), operations.order("O-NONE"))
    assert (missing.status, error_code(missing)) == (404, "order_not_found")


def test_a_refusal_of_the_operation_is_stored_under_the_key(shop: Shop) -> None:
    body = dict(shop.micropay("T2", 100), merchant_id="M2")  # another merchant
    request = shop.request("POST", "/v1/micropay", body, idem="T2")
    refused = shop.answer(request, operations.MICROPAY)
    assert (refused.status, error_code(refused)) == (403, "principal_mismatch")
    again = shop.post("/v1/micropay", body, "T2", operations.MICROPAY)
    assert (again.body, again.replayed) == (refused.body, True)


def test_a_query_uses_up_its_nonce(shop: Shop) -> None:
    request = shop.request("GET", "/v1/orders?out_trade_no=T9")
    first = shop.answer(request, operations.order_by_trade_no("T9"))
    assert error_code(first) == "order_not_found"
    assert error_code(shop.answer(request, operations.order_by_trade_no("T9"))) == "nonce_reused"


def test_a_server_error_of_a_call_releases_the_key(shop: Shop) -> None:
    def broken(system: BarcodeSystem, key: VerifyingKey, req: CreateOrderRequest) -> Any:
        raise RuntimeError("the ledger connection dropped")

    body = {"merchant_id": "M1", "out_trade_no": "D2", "amount": 300}
    with pytest.raises(RuntimeError):
        shop.answer(
            shop.request("POST", "/v1/orders", body, idem="D2"), Call(CreateOrderRequest, broken)
        )
    retry = shop.answer(
        shop.request("POST", "/v1/orders", body, idem="D2"), operations.CREATE_ORDER
    )
    assert (retry.status, retry.replayed) == (200, False)  # ran again, not "in flight"


def test_an_unsigned_request_changes_nothing(shop: Shop) -> None:
    before = shop.system.db.all("SELECT * FROM nonces")
    request = SignedRequest("POST", "/v1/micropay", {"idempotency-key": "T3"}, b"{}")
    refused = shop.answer(request, operations.MICROPAY)
    assert (refused.status, error_code(refused)) == (401, "signature_missing")
    assert shop.system.db.all("SELECT * FROM nonces") == before


def test_a_request_refused_before_its_key_still_uses_up_its_nonce(shop: Shop) -> None:
    body = shop.micropay("T4", 100)
    keyless = shop.request("POST", "/v1/micropay", body)
    refused = shop.answer(keyless, operations.MICROPAY)
    assert error_code(refused) == "idempotency_key_missing"
    headers = dict(keyless.headers, **{"idempotency-key": "T4"})  # not signed: anyone can add it
    again = SignedRequest("POST", "/v1/micropay", headers, keyless.body)
    assert error_code(shop.answer(again, operations.MICROPAY)) == "nonce_reused"
    assert shop.system.book.order_by_trade_no("M1", "T4") is None


def test_a_server_error_in_a_payments_start_keeps_the_nonce_and_lets_the_key_go(
    shop: Shop,
) -> None:
    def broken(system: BarcodeSystem, key: VerifyingKey, req: Any) -> Any:
        raise RuntimeError("a bug in the flow")

    body = shop.micropay("T5", 100)
    request = shop.request("POST", "/v1/micropay", body, idem="T5")
    with pytest.raises(RuntimeError):
        shop.answer(request, Payment(MicropayRequest, broken, order_dict))
    assert error_code(shop.answer(request, operations.MICROPAY)) == "nonce_reused"
    retry = shop.post("/v1/micropay", body, "T5", operations.MICROPAY)  # a new nonce
    assert (retry.status, retry.replayed) == (200, False)

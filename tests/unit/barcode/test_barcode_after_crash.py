"""What a retried micropay is answered after its server was killed half-way: the payment was
recorded (order PAYING, the key held by the dead process), the new process's start-up finished
it; the retry with the same Idempotency-Key gets the outcome an uninterrupted run would have
answered, at once (no ``idempotency_in_flight``, no 200 FAILED for a decline)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from zhifu.barcode.api.signing import SigningKey, sign_headers
from zhifu.barcode.codes.payment_code import PaymentCodeGenerator
from zhifu.barcode.platform import operations
from zhifu.barcode.platform.guards import Idempotency, fingerprint
from zhifu.barcode.platform.notify import new_nonce
from zhifu.barcode.platform.requests import Reply, SignedRequest
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.crypto import sm2

KEY = sm2.generate_keypair()
SIGNER = SigningKey("M1-k1", "SM2-SM3", KEY[0])


@dataclass
class Home:
    folder: Path
    phone: PaymentCodeGenerator  # one generator: each code is new

    def open(self) -> BarcodeSystem:
        return BarcodeSystem.open(self.folder)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    system = BarcodeSystem.open(tmp_path)
    system.add_merchant("M1", "zhifu", "Noodles")
    system.add_key("merchant:M1", "M1-k1", KEY[1])
    system.open_wallet("zhifu", "C1", "A1")
    system.top_up("zhifu", "A1", 10_000, "topup-A1")
    handle, secret = system.enroll_device("zhifu", "C1", "A1")
    phone = system.phone("zhifu", handle, secret)
    system.close()
    yield Home(tmp_path, phone)


def signed(body: dict[str, Any], idem: str) -> SignedRequest:
    raw = json.dumps(body).encode()
    headers = sign_headers(
        SIGNER, "POST", "/v1/micropay", raw, timestamp=int(time.time()), nonce=new_nonce()
    )
    lower = {name.lower(): value for name, value in headers.items()}
    return SignedRequest("POST", "/v1/micropay", {**lower, "idempotency-key": idem}, raw)


def answer(system: BarcodeSystem, request: SignedRequest) -> Reply:
    return asyncio.run(system.requests.answer(request, operations.MICROPAY))


def dead_owner() -> str:
    """The owner mark of a process that has ended (run and reaped here)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return f"{child.pid}-0123456789ab"


def killed_half_way(home: Home, trade_no: str, amount: int, owner: str) -> dict[str, Any]:
    """What a killed server leaves: the key held by ``owner``, the payment recorded (order
    PAYING), no ledger leg posted, no answer stored."""
    system = home.open()
    code = home.phone.next_code()
    body = {"merchant_id": "M1", "out_trade_no": trade_no, "auth_code": code, "amount": amount}
    idem = Idempotency(system.db)
    idem.owner = owner
    raw = json.dumps(body).encode()
    assert idem.begin("merchant:M1", trade_no, fingerprint("POST", "/v1/micropay", raw)).state
    system.flows.start_micropay("M1", trade_no, code, amount)
    order = system.book.order_by_trade_no("M1", trade_no)
    assert order is not None
    assert order.status.value == "PAYING"
    system.close()
    return body


def test_a_retry_after_restart_gets_the_payment_at_once(home: Home) -> None:
    body = killed_half_way(home, "T-1", 1_200, dead_owner())
    system = home.open()
    try:
        system.start()
        reply = answer(system, signed(body, "T-1"))
        order = system.book.order_by_trade_no("M1", "T-1")
    finally:
        system.close()
    assert reply.status == 200, reply.body
    data = json.loads(reply.body)
    assert order is not None
    assert (data["status"], data["payment_id"]) == ("PAID", order.payment_id)
    assert order.payment_id is not None


def test_a_key_held_by_a_running_process_is_taken_over_once_the_order_is_over(
    home: Home,
) -> None:
    body = killed_half_way(home, "T-2", 800, f"{os.getppid()}-0123456789ab")  # still running
    system = home.open()
    try:
        system.start()  # finishes the payment, keeps the running process's key
        reply = answer(system, signed(body, "T-2"))
        again = answer(system, signed(body, "T-2"))
    finally:
        system.close()
    assert (reply.status, json.loads(reply.body)["status"], reply.replayed) == (200, "PAID", True)
    assert (again.status, again.body, again.replayed) == (200, reply.body, True)


def test_a_decline_by_the_recovery_answers_as_an_uninterrupted_decline(home: Home) -> None:
    body = killed_half_way(home, "T-3", 50_000, dead_owner())  # more than the 10_000 held
    system = home.open()
    try:
        system.start()
        reply = answer(system, signed(body, "T-3"))
        code = home.phone.next_code()
        straight = {**body, "out_trade_no": "T-4", "auth_code": code}
        uninterrupted = answer(system, signed(straight, "T-4"))
    finally:
        system.close()
    assert (uninterrupted.status, json.loads(uninterrupted.body)["error"]["code"]) == (
        402,
        "insufficient_funds",
    )
    assert (reply.status, json.loads(reply.body)) == (402, json.loads(uninterrupted.body))


def test_a_key_of_a_running_request_is_still_in_flight(home: Home) -> None:
    """The payment is still PAYING (its request is alive): the key is not taken."""
    body = killed_half_way(home, "T-5", 300, f"{os.getppid()}-0123456789ab")
    system = home.open()
    try:  # not started: nothing recovered, the order stays PAYING
        reply = answer(system, signed(body, "T-5"))
    finally:
        system.close()
    assert (reply.status, json.loads(reply.body)["error"]["code"]) == (
        409,
        "idempotency_in_flight",
    )

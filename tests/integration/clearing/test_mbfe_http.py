"""End to end over HTTP on 127.0.0.1: two banks' MBFE clients and the centre under uvicorn.

Bank A (Beijing) sends an ordinary credit to bank C (Shanghai); C sends a real-time debit on
A, which A answers with a receipt; the round closes and settles; both banks reconcile.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
import uvicorn

from zhifu.clearing import BusinessType, ClearingSystem, Item, NodeKind, Participant, Status
from zhifu.clearing.mbfe import MbfeClient, MbfeError
from zhifu.clearing.messages.model import Instruction, ReceiptMessage
from zhifu.clearing.messages.requests import RequestMessage
from zhifu.clearing.transport import ClearingCentre
from zhifu.core.clock import SHANGHAI
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.security.store import KeyStore
from zhifu.web.app import create_app

A, C = "102100099996", "104290003791"
T0 = datetime(2025, 10, 9, 10, 0, tzinfo=SHANGHAI)  # a Thursday, a working day
CAPS = {NodeKind.NPC: 100_000_00, NodeKind.CCPC: 50_000_00}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def centre() -> Iterator[tuple[ClearingCentre, str]]:
    participants = [Participant(A, "1000", caps=CAPS), Participant(C, "2900", caps=CAPS)]
    system = ClearingSystem(participants, start=T0)
    for code in (A, C):
        system.fund(code, 1_000_000_00)
    found = ClearingCentre.create(system, SoftHsm(KeyStore.in_memory()))
    port = _free_port()
    config = uvicorn.Config(
        create_app(clearing=found), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield found, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _client(code: str, centre: ClearingCentre, url: str) -> MbfeClient:
    hsm = SoftHsm(KeyStore.in_memory())  # each bank has its own security module
    key = hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2)
    client = MbfeClient(code, key, hsm, url, centre_key=centre.public_key())
    centre.register(code, client.public_key())
    return client


def test_two_banks_exchange_net_settle_and_reconcile(
    centre: tuple[ClearingCentre, str],
) -> None:
    found, url = centre
    a, c = _client(A, found, url), _client(C, found, url)

    ack = a.send_items([Item("OC1", BusinessType.ORDINARY_CREDIT, A, C, 1_234_56)])
    assert ack.accepted and ack.lines[0].processing.status is Status.NETTED

    ack = c.send_items([Item("RD1", BusinessType.REAL_TIME_DEBIT, A, C, 300_00)])
    assert ack.lines[0].processing.status is Status.AWAITING_RECEIPT

    inbox_a = a.receive()
    assert [type(m) for m in inbox_a] == [Instruction]
    assert "RD1" in a.pending
    ack = a.send_receipts([("RD1", "00")])
    assert ack.accepted and ack.lines[0].processing.status is Status.NETTED

    inbox_c = c.receive()
    assert [type(m) for m in inbox_c] == [Instruction, ReceiptMessage]
    assert c.receive() == []  # nothing new

    # a duplicate message id is refused over HTTP too, and changes nothing
    first = a.next_msg_id(T0)
    assert a.send_items([Item("OC2", BusinessType.ORDINARY_CREDIT, A, C, 1_00)], msg_id=first)
    again = a.send_items([Item("OC3", BusinessType.ORDINARY_CREDIT, A, C, 1_00)], msg_id=first)
    assert (again.accepted, again.reason) == (False, "duplicate_message")

    with found.lock:
        closed = found.system.close_round()
    assert closed is not None and closed.key == (T0.date(), 2)
    for item_id in ("OC1", "RD1", "OC2"):
        assert found.system.status(item_id).status is Status.SETTLED
    assert found.system.books.reserve_balance(C) == 1_000_000_00 + 1_535_56
    c.receive()

    day = T0.date()
    for client, paid, received in [(a, 1_535_56, 0), (c, 0, 1_535_56)]:
        result = client.reconcile(day)
        assert result.matches, result
        assert (result.centre.paid, result.centre.received) == (paid, received)
    assert a.reconcile(day).centre.paid_count == 3


def test_http_errors_and_refusals(centre: tuple[ClearingCentre, str]) -> None:
    found, url = centre
    a = _client(A, found, url)
    ack = a.send(b"<not-xml")
    assert (ack.accepted, ack.reason) == (False, "bad_xml")
    with pytest.raises(MbfeError, match="HTTP 400"):
        a._request("/clearing/inbox/12345")
    with pytest.raises(MbfeError, match="unreachable"):
        MbfeClient(A, a.signer.key, a.signer.hsm, f"http://127.0.0.1:{_free_port()}").receive()


def test_requests_over_http_stop_payment_and_reversal(
    centre: tuple[ClearingCentre, str],
) -> None:
    found, url = centre
    a, c = _client(A, found, url), _client(C, found, url)
    c.send_items([Item("OD1", BusinessType.ORDINARY_DEBIT, A, C, 50_00)])
    a.receive()
    assert "OD1" in a.pending
    ack = c.send_request("beps.411", OrgnlTxId="OD1")  # the collector asks to stop it
    assert ack.accepted
    copies = [m for m in a.receive() if isinstance(m, RequestMessage)]
    assert [(m.message_type, m.text("OrgnlTxId")) for m in copies] == [("beps.411", "OD1")]
    ack = a.send_request("beps.412", OrgnlTxId="OD1", Agrd=True)  # the payer's bank agrees
    assert ack.lines[0].processing.status is Status.STOPPED and "OD1" not in a.pending
    assert [m.message_type for m in c.receive() if isinstance(m, RequestMessage)] == ["beps.412"]

    a.send_items([Item("RC1", BusinessType.REAL_TIME_CREDIT, A, C, 70_00)])
    c.receive()
    assert "RC1" in c.pending
    refused = c.send_request("beps.413", OrgnlTxId="RC1")  # only the sender may reverse
    assert (refused.accepted, refused.reason) == (False, "wrong_bank")
    assert a.send_request("beps.413", OrgnlTxId="RC1").accepted
    c.receive()
    assert "RC1" not in c.pending
    assert found.system.status("RC1").status is Status.REVERSED

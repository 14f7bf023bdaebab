"""A day between banks: card purchases, barcode payments across institutions and BEPS credits,
cleared through the BEPS centre over HTTP and reconciled everywhere.

The acquiring bank's card host settles a terminal's batch: the issuing bank owes the batch. The
barcode switch records what one institution owes another. Each bank's front end submits what it
owes as BEPS ordinary credits at its cut-off (``zhifu.clearing.obligations``) beside its
customers' credits; the round closes and settles in the central bank's ledger; then every
bank's customer postings (its core ledger), its reserve account and the centre's summary agree.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
import uvicorn

from zhifu.acquirer.payments.obligations import card_obligations
from zhifu.acquirer.payments.store import PaymentStore
from zhifu.barcode.model import ScanSource
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.barcode.platform.views import order_dict
from zhifu.clearing import BusinessType, ClearingSystem, Item, NodeKind, Participant, Status
from zhifu.clearing.bankcore import BankCores
from zhifu.clearing.mbfe import MbfeClient
from zhifu.clearing.obligations import by_packet, net_between_banks, obligations_to_items
from zhifu.clearing.transport import ClearingCentre
from zhifu.core.clock import SHANGHAI, FixedClock
from zhifu.core.rng import SeededRandom
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.security.store import KeyStore
from zhifu.web.app import create_app

from .conftest import Bank

ISSUING, ACQUIRING, THIRD = "102100099996", "103100000026", "104290003791"
T0 = datetime(2025, 10, 9, 10, 0, tzinfo=SHANGHAI)  # the centre's day: a Thursday
OPENING = 1_000_000_00
INSTITUTIONS = {"zhifu": ACQUIRING, "huanyu": THIRD}  # the barcode institutions' banks


@pytest.fixture
def centre() -> Iterator[tuple[ClearingCentre, str]]:
    caps = {NodeKind.NPC: 100_000_00, NodeKind.CCPC: 100_000_00}
    banks = [Participant(ISSUING, "1000", caps=caps), Participant(ACQUIRING, "1000", caps=caps),
             Participant(THIRD, "2900", caps=caps)]  # fmt: skip
    system = ClearingSystem(banks, start=T0)
    for code in (ISSUING, ACQUIRING, THIRD):
        system.fund(code, OPENING)
    found = ClearingCentre.create(system, SoftHsm(KeyStore.in_memory()))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(clearing=found), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield found, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def front_end(code: str, centre: ClearingCentre, url: str) -> MbfeClient:
    hsm = SoftHsm(KeyStore.in_memory())
    key = hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2)
    client = MbfeClient(code, key, hsm, url, centre_key=centre.public_key())
    centre.register(code, client.public_key())
    return client


def barcode_movements() -> list[tuple[str, str, int]]:
    """Two payments across institutions on the barcode switch: who owes whom, in fen."""
    clock = FixedClock(datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI))
    system = BarcodeSystem.open(clock=clock, rng=SeededRandom(7))
    try:
        system.add_merchant("M1", "zhifu", "Tea shop")
        system.add_merchant("M2", "huanyu", "Noodles")
        for customer, institution in (("C1", "huanyu"), ("C2", "zhifu")):
            system.open_wallet(institution, customer, f"A-{customer}")
            system.top_up(institution, f"A-{customer}", 100_000, f"topup-{customer}")
        for merchant, customer, institution, amount in (
            ("M1", "C1", "huanyu", 2_000_00 // 100),
            ("M2", "C2", "zhifu", 350),
        ):
            order = system.flows.create_order(merchant, "T1", amount, "goods", expire_seconds=600)
            system.flows.pay_collection(
                institution, order_dict(order)["code_url"], customer, f"A-{customer}",
                factors=["password"], scan_source=ScanSource.CAMERA,
            )  # fmt: skip
        return [(o.payer, o.payee, o.amount) for o in system.obligations(clock.now().date())]
    finally:
        system.close()


def test_cards_barcodes_and_credits_clear_and_reconcile(
    bank: Bank, centre: tuple[ClearingCentre, str]
) -> None:
    found, url = centre
    banks = {code: front_end(code, found, url) for code in (ISSUING, ACQUIRING, THIRD)}

    card, term = bank.card(balance=500_000), bank.terminal()
    for amount in (12_000, 3_456):
        assert term.transact("purchase", card, pin="1234", amount=amount).approved
    assert term.settle()["balanced"]
    today = datetime.now(SHANGHAI).date()
    owed = card_obligations(
        PaymentStore(bank.host.database), today, acquirer_bank=ACQUIRING, issuer_bank=ISSUING
    )
    movements = barcode_movements()
    assert sorted(movements) == [("huanyu", "zhifu", 2_000), ("zhifu", "huanyu", 350)]
    owed += net_between_banks(movements, INSTITUTIONS, today)

    # each bank's front end sends what it owes, one packet per bank, at its cut-off
    for packet, items in by_packet(obligations_to_items(owed)).items():
        ack = banks[items[0].payer_bank].send_items(items, msg_id=packet)
        assert ack.accepted and {x.processing.status for x in ack.lines} == {Status.NETTED}
    credits = [Item("BC1", BusinessType.ORDINARY_CREDIT, ISSUING, THIRD, 500_00),
               Item("BC2", BusinessType.ORDINARY_CREDIT, THIRD, ACQUIRING, 200_00)]  # fmt: skip
    for item in credits:
        assert banks[item.payer_bank].send_items([item]).accepted

    with found.lock:
        closed = found.system.close_round()
        assert closed is not None
        cores = BankCores(found.system)
        checks = cores.check(T0.date())
        reserves = {code: found.system.books.reserve_balance(code) for code in banks}
        cores.close()
    assert all(c.matches for c in checks), checks
    card_net, barcode_net = 12_000 + 3_456, 2_000 - 350
    assert reserves == {
        ISSUING: OPENING - card_net - 500_00,
        ACQUIRING: OPENING + card_net + barcode_net + 200_00,
        THIRD: OPENING - barcode_net + 500_00 - 200_00,
    }
    for code, client in banks.items():
        client.receive()
        reconciled = client.reconcile(T0.date())
        assert reconciled.matches, (code, reconciled)
    assert {c.bank: c.centre_net for c in checks} == {
        code: reserves[code] - OPENING for code in banks
    }

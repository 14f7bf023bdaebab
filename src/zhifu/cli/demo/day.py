"""A demonstration day, in process, on real sockets and files in a temporary folder.

1. **Cards.** The acquirer host (with its issuer and ledger) listens on 127.0.0.1; four
   terminals sign on; each has a debit card. Every kind of card transaction runs: purchases on
   the chip (with the kernel), a contactless tap, a fallback swipe, a balance inquiry, a
   pre-authorisation and its completion, a void, a refund, an e-cash load; a wrong PIN; an
   expired card declined offline by the kernel; a purchase sent to a host that never answers
   (the terminal keeps its reversal and sends it before its next transaction). Every terminal
   settles its batch.
2. **Barcodes.** Two payment institutions on the barcode switch; payments both ways across them.
3. **Clearing.** What the issuing bank owes for the settled card batches and what the
   institutions' banks owe each other become BEPS items sent by each bank's front end, beside
   customers' credits; the round closes and settles in the central bank's ledger.
4. **Checks.** The card ledger balances, the barcode institutions' ledgers balance, the
   clearing positions sum to zero, every bank's customer postings and reserve agree with the
   centre's summary and the PBOC ledger.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import socket
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from zhifu.acquirer import AcquirerConfig, register_terminal, start_in_background
from zhifu.acquirer.payments.obligations import card_obligations
from zhifu.acquirer.payments.store import PaymentStore
from zhifu.barcode.model import ScanSource
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.barcode.platform.views import order_dict
from zhifu.card.issuing import issue_card
from zhifu.clearing import BusinessType, ClearingSystem, Item, NodeKind, Participant
from zhifu.clearing.bankcore import BankCores
from zhifu.clearing.obligations import by_packet, net_between_banks, obligations_to_items
from zhifu.clearing.settlement import MemoryBooks
from zhifu.core.clock import SHANGHAI, FixedClock
from zhifu.core.rng import SeededRandom
from zhifu.issuer import Issuer
from zhifu.security.audit_trail import AuditTrail
from zhifu.terminal import Terminal
from zhifu.terminal.result import TransactionResult

__all__ = ["DemoDay", "run_demo"]

MID = "898100012345678"
PIN = "1234"
ISSUING, ACQUIRING, THIRD = "102100099996", "103100000026", "104290003791"
INSTITUTIONS = {"zhifu": ACQUIRING, "huanyu": THIRD}
CENTRE_DAY = datetime(2025, 10, 9, 10, 0, tzinfo=SHANGHAI)  # a working Thursday for BEPS
Progress = Callable[[str], None]


@dataclass
class DemoDay:
    """What the day did and what the checks found."""

    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    checks: dict[str, bool] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)

    def note(self, kind: str, result: TransactionResult) -> None:
        code = result.response_code or ("reversal pending" if result.reversal_pending else "-")
        self.outcomes[kind, "approved" if result.approved else code] += 1

    @property
    def passed(self) -> bool:
        return all(self.checks.values())


def _black_hole() -> tuple[socket.socket, int]:
    """A host that accepts and never answers (the terminal's timeout, then its reversal)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()

    def accept() -> None:
        held = []
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return server, server.getsockname()[1]


def _cards(day: DemoDay, folder: Path, host: Any, progress: Progress) -> None:
    services = host.host.services
    issuer = services.issuer
    assert isinstance(issuer, Issuer)
    address = f"127.0.0.1:{host.port}"
    terms, cards = [], []
    for n in range(4):
        tid = f"1000010{n}"
        reg = register_terminal(services.registry, services.hsm, MID, tid)
        parts = [c.material.reveal().hex() for c in reg.components]
        term = Terminal.init(folder / f"term-{n}", MID, tid, parts)
        term.timeout = 2.0
        if term.sign_on(address).get("39") != "00":
            raise RuntimeError("a terminal could not sign on")
        card = folder / f"card-{n}.json"
        issuer.issue_card("debit", 500_000, PIN, card)
        terms.append(term)
        cards.append(card)
    trail = AuditTrail.open(folder / "audit.db", services.hsm)
    for term in terms:
        trail.append("operator:demo", "terminal.register", f"{MID}/{term.state.terminal_id}", "ok")
    progress("cards: purchases on every interface")
    for term, card in zip(terms, cards, strict=True):
        sale = term.transact("purchase", card, pin=PIN, amount=12_00)
        day.note("purchase (chip)", sale)
        day.note("purchase (tap)", term.transact("purchase", card, amount=8_50, tap=True))
        day.note("purchase (fallback)", term.transact("purchase", card, pin=PIN, amount=5_00,
                                                      fallback=True))  # fmt: skip
        day.note("balance", term.transact("balance", card, pin=PIN))
        day.note("wrong PIN", term.transact("purchase", card, pin="9999", amount=1_00))
    _more_kinds(day, terms, cards, progress)
    _faults(day, folder, terms=terms, cards=cards, address=address, progress=progress)
    progress("cards: settlement")
    for term in terms:
        settled = term.settle()
        outcome = "balanced" if settled.get("balanced") else "uploaded"
        day.outcomes["settlement", outcome] += 1
        trail.append("terminal", "batch.settle", f"{MID}/{term.state.terminal_id}", outcome)
        term.close()
    day.checks["audit trail verifies"] = trail.verify().ok
    trail.close()


def _more_kinds(day: DemoDay, terms: list[Terminal], cards: list[Path], progress: Progress) -> None:
    progress("cards: pre-authorisation, void, refund, e-cash load")
    term, card = terms[0], cards[0]
    held = term.transact("preauth", card, pin=PIN, amount=50_00)
    day.note("pre-authorisation", held)
    day.note("completion", term.transact("complete", card, original=held.stan, amount=45_00))
    sale = term.transact("purchase", card, pin=PIN, amount=7_00)
    day.note("purchase (chip)", sale)
    day.note("void", term.transact("void", card, pin=PIN, original=sale.stan))
    sale = term.transact("purchase", card, pin=PIN, amount=30_00)
    day.note("purchase (chip)", sale)
    day.note("refund", terms[0].transact("refund", card, original=sale.stan, amount=10_00))
    day.note("e-cash load", terms[1].transact("ecash-load", cards[1], pin=PIN, amount=20_00))


def _faults(
    day: DemoDay, folder: Path, *, terms: list[Terminal], cards: list[Path], address: str,
    progress: Progress,
) -> None:  # fmt: skip
    progress("cards: an expired card, a host that never answers")
    expired = folder / "card-expired.json"
    issue_card("expired", None, expired)
    day.note("expired card", terms[2].transact("purchase", expired, pin=PIN, amount=1_00))
    server, port = _black_hole()
    try:
        lost = terms[3].link(f"127.0.0.1:{port}")
        assert lost is not None
        day.note("no answer", terms[3].transact("purchase", cards[3], pin=PIN, amount=3_00))
    finally:
        server.close()
    terms[3].link(address)
    day.note("after the reversal", terms[3].transact("purchase", cards[3], pin=PIN, amount=2_00))


def _barcodes(day: DemoDay, progress: Progress) -> list[tuple[str, str, int]]:
    progress("barcodes: payments across institutions")
    clock = FixedClock(datetime.now(SHANGHAI))
    system = BarcodeSystem.open(clock=clock, rng=SeededRandom(7))
    try:
        system.add_merchant("M1", "zhifu", "Tea shop")
        system.add_merchant("M2", "huanyu", "Noodles")
        for customer, institution in (("C1", "huanyu"), ("C2", "zhifu")):
            system.open_wallet(institution, customer, f"A-{customer}")
            system.top_up(institution, f"A-{customer}", 100_000, f"topup-{customer}")
        payments = (("M1", "C1", "huanyu", 26_00), ("M2", "C2", "zhifu", 9_50),
                    ("M1", "C1", "huanyu", 4_00))  # fmt: skip
        for n, (merchant, customer, institution, amount) in enumerate(payments):
            order = system.flows.create_order(merchant, f"ORDER{n}", amount, "goods",
                                              expire_seconds=600)  # fmt: skip
            system.flows.pay_collection(
                institution, order_dict(order)["code_url"], customer, f"A-{customer}",
                factors=["password"], scan_source=ScanSource.CAMERA,
            )  # fmt: skip
            day.outcomes["barcode payment", "paid"] += 1
        day.checks["barcode ledgers balanced"] = all(
            node.ledger.check().balanced for node in system.nodes.values()
        )
        return [(o.payer, o.payee, o.amount) for o in system.obligations(clock.now().date())]
    finally:
        system.close()


def _clearing(day: DemoDay, owed: list[Any], progress: Progress) -> None:
    progress("clearing: obligations and credits through BEPS")
    caps = {NodeKind.NPC: 1_000_000_00, NodeKind.CCPC: 1_000_000_00}
    banks = [Participant(ISSUING, "1000", caps=caps), Participant(ACQUIRING, "1000", caps=caps),
             Participant(THIRD, "2900", caps=caps)]  # fmt: skip
    system = ClearingSystem(banks, start=CENTRE_DAY, books=MemoryBooks())
    for code in (ISSUING, ACQUIRING, THIRD):
        system.books.fund(code, 10_000_000_00)
    for packet, items in by_packet(obligations_to_items(owed)).items():
        for item in items:
            system.submit_item(item)
        day.outcomes["BEPS packet", packet[:10]] += 1
    for n, (payer, payee, amount) in enumerate(
        ((ISSUING, THIRD, 500_00), (THIRD, ACQUIRING, 120_00))
    ):
        system.submit_item(Item(f"CR{n}", BusinessType.ORDINARY_CREDIT, payer, payee, amount))
    system.close_round()
    system.check()
    day.checks["clearing positions sum to zero"] = True
    cores = BankCores(system)
    try:
        checks = cores.check(CENTRE_DAY.date())
    finally:
        cores.close()
    day.checks["customer postings, reserves and summary reconciled"] = all(
        c.matches for c in checks
    )
    day.figures["reserves"] = {c.bank: c.reserve_pboc for c in checks}
    day.figures["BEPS items"] = len(system.records)


def run_demo(folder: Path, progress: Progress | None = None) -> DemoDay:
    """Play the day in ``folder`` (see the module docstring)."""
    say = progress or (lambda text: None)
    day = DemoDay()
    lmk = secrets.token_hex(32).upper()
    os.environ["ZHIFU_LMK"] = lmk
    say("starting the acquirer host")
    # the risk rules watch: a day compressed into seconds would trip every velocity rule
    config = dataclasses.replace(AcquirerConfig.local(folder / "var", port=0), risk="monitor")
    host = start_in_background(config, environ={"ZHIFU_LMK": lmk})
    try:
        _cards(day, folder, host, say)
        today = datetime.now(SHANGHAI).date()
        store = PaymentStore(host.host.database)
        owed = card_obligations(store, today, acquirer_bank=ACQUIRING, issuer_bank=ISSUING)
        ledger = host.host.services.ledger
        assert ledger is not None
        day.checks["card ledger balanced"] = ledger.check().balanced
    finally:
        host.stop()
    owed += net_between_banks(_barcodes(day, say), INSTITUTIONS, today)
    _clearing(day, owed, say)
    day.figures["card obligations"] = len(owed)
    return day

"""Card payments over real TCP: terminal → acquirer → issuer → ledger, every transaction
approved and declined, the books exact after each (docs/acquirer.md, docs/issuer.md)."""

from __future__ import annotations

import csv
from datetime import datetime

from zhifu.acquirer import start_in_background
from zhifu.acquirer.config import AcquirerConfig
from zhifu.acquirer.payments.obligations import card_obligations
from zhifu.acquirer.payments.postings import Books
from zhifu.acquirer.payments.store import PaymentStore
from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.scripted import online_request_data
from zhifu.clearing.codes import BusinessType
from zhifu.clearing.obligations import obligations_to_items
from zhifu.core.clock import SHANGHAI
from zhifu.iso8583 import Message
from zhifu.iso8583.mac import hsm_mac_fn, sign
from zhifu.issuer import AuthorizationRequest, Kind, transaction_id
from zhifu.security.hsm.data import MacAlgorithm
from zhifu.terminal.chip import KernelOptions
from zhifu.terminal.kernel.config import TerminalConfig

from .conftest import LMK, MID, Bank, pan_of, purchase_request, replay

PIN = "1234"


def balanced(bank: Bank) -> bool:
    return bank.ledger.check().balanced


def test_purchase_and_its_declines(bank: Bank) -> None:
    card, term = bank.card(100_000), bank.terminal()
    sale = term.transact("purchase", card, pin=PIN, amount=1_234)
    assert (sale.response_code, sale.approved, sale.reversed) == ("00", True, False)
    assert len(sale.rrn) == 12 and len(sale.auth_code) == 6 and sale.masked_pan.startswith("622800")
    assert bank.available(card) == 98_766 and bank.merchant_pending() == 1_234
    assert term.transact("purchase", card, pin="9999", amount=100).response_code == "55"
    assert term.transact("purchase", card, pin=PIN, amount=98_767).response_code == "51"
    assert bank.available(card) == 98_766 and bank.merchant_pending() == 1_234
    balance = term.transact("balance", card, pin=PIN)
    assert balance.approved and balance.balance == 98_766
    bank.issuer.set_status(pan_of(card), "lost")
    assert term.transact("purchase", card, pin=PIN, amount=1).response_code == "41"
    assert balanced(bank)


def test_void_refund_and_the_merchant_side(bank: Bank) -> None:
    card, term = bank.card(50_000), bank.terminal()
    first = term.transact("purchase", card, pin=PIN, amount=2_000)
    second = term.transact("purchase", card, pin=PIN, amount=3_000)
    void = term.transact("void", card, pin=PIN, original=first.stan)
    assert void.approved and bank.available(card) == 47_000
    assert term.transact("void", card, pin=PIN, original=first.stan).response_code == "64"
    refund = term.transact("refund", card, amount=1_000, original=second.stan)
    assert refund.approved and bank.available(card) == 48_000
    too_much = term.transact("refund", card, amount=2_001, original=second.stan)
    assert too_much.response_code == "13"
    assert bank.merchant_pending() == 3_000 - 1_000 and balanced(bank)


def test_preauth_completion_and_voids(bank: Bank) -> None:
    card, term = bank.card(100_000), bank.terminal()
    hold = term.transact("preauth", card, pin=PIN, amount=10_000)
    assert hold.approved and bank.available(card) == 90_000 and bank.merchant_pending() == 0
    done = term.transact("complete", card, amount=8_000, original=hold.stan)
    assert done.approved and bank.available(card) == 92_000 and bank.merchant_pending() == 8_000
    undone = term.transact("complete-void", card, original=done.stan)
    assert undone.approved and bank.available(card) == 100_000 and bank.merchant_pending() == 0
    other = term.transact("preauth", card, pin=PIN, amount=5_000)
    assert term.transact("preauth-void", card, original=other.stan).approved
    assert bank.available(card) == 100_000
    assert term.transact("complete", card, amount=1, original=other.stan).response_code == "12"
    assert balanced(bank)


def test_ecash_load_moves_money_to_the_chip(bank: Bank) -> None:
    card, term = bank.card(100_000), bank.terminal()
    load = term.transact("ecash-load", card, pin=PIN, amount=5_000)
    assert load.approved
    balances = bank.issuer.balances(pan_of(card))
    assert (balances.available, balances.ecash_pool) == (95_000, 5_000)
    assert EmulatedCard.load(card).image.applications[0].state.ec_balance == 5_000
    advices = bank.issuer.store._one("SELECT script_result FROM advices", ())
    # the script result advice (0620) reached the issuer: DF31 = 20 (done) + script id 9F18
    assert advices == ("2000000001",)
    assert balanced(bank)


def test_a_swiped_chip_card_is_told_to_use_the_chip(bank: Bank) -> None:
    card, term = bank.card(), bank.terminal()
    swiped = term.transact("purchase", card, pin=PIN, amount=100, swipe=True)
    assert not swiped.answered and "insert it" in swiped.message  # the terminal's own rule
    term.kernel = KernelOptions(config=TerminalConfig(refuse_chip_swipe=False))
    swiped = term.transact("purchase", card, pin=PIN, amount=100, swipe=True)
    assert swiped.response_code == "45" and bank.available(card) == 100_000  # the host's rule
    fallback = term.transact("purchase", card, pin=PIN, amount=100, fallback=True)
    assert fallback.approved and bank.available(card) == 100_000 - 100  # the chip failed: 80x


def test_a_retransmission_gets_the_same_answer_and_one_posting(bank: Bank) -> None:
    card, term = bank.card(), bank.terminal()
    request = purchase_request(term, card, 700)
    first, again = replay(term, request), replay(term, request)
    assert first["39"] == "00" and first.fields == again.fields
    assert bank.available(card) == 99_300 and bank.merchant_pending() == 700
    reused = request.replace({"4": f"{800:012d}"})
    assert replay(term, reused)["39"] == "94"
    bank.background.stop()  # the host restarts: the record answers the retransmission
    restarted = start_in_background(
        AcquirerConfig.local(bank.folder / "var", port=bank.background.port),
        environ={"ZHIFU_LMK": LMK},
    )
    try:
        term.link().close()
        after = replay(term, request)
        assert after["39"] == "00" and after["38"] == first["38"] and after["37"] == first["37"]
        assert restarted.host.services.issuer.balances(pan_of(card)).available == 99_300  # type: ignore[union-attr]
    finally:
        restarted.stop()


def test_a_flipped_mac_bit_is_a0_and_posts_nothing(bank: Bank) -> None:
    card, term = bank.card(), bank.terminal()
    request = purchase_request(term, card, 500)
    body = bytearray(
        sign(request, hsm_mac_fn(term.hsm, term.state.keys["mak"], MacAlgorithm.CUP_ECB))
    )
    for position in (20, len(body) // 2, len(body) - 12, len(body) - 1):
        flipped = bytearray(body)
        flipped[position] ^= 0x01
        try:
            answer, _ = term.link().exchange(request, bytes(flipped))
        except Exception:  # a flip in a length or the bitmap may make the message unreadable
            term.link().close()
            continue
        assert answer["39"] in ("A0", "30"), position
    assert bank.available(card) == 100_000 and bank.merchant_pending() == 0 and balanced(bank)


def test_a_replayed_arqc_is_declined(bank: Bank) -> None:
    card, term = bank.card(), bank.terminal()
    request = purchase_request(term, card, 300)
    assert replay(term, request)["39"] == "00"
    again = request.replace({"11": term.state.take_stan()})
    assert replay(term, again)["39"] == "34"
    assert bank.available(card) == 99_700


def _reversal_of(request: Message) -> Message:
    kept = ("3", "4", "11", "22", "25", "41", "42", "49", "60")
    return Message("0400", {n: v for n, v in request.fields.items() if n in kept} | {"39": "98"})


def test_reversals_in_every_order(bank: Bank) -> None:
    card, term = bank.card(), bank.terminal()
    request = purchase_request(term, card, 900)
    assert replay(term, request)["39"] == "00"
    reversal = _reversal_of(request)
    assert replay(term, reversal)["39"] == "00"
    assert replay(term, reversal)["39"] == "00"
    assert bank.available(card) == 100_000 and bank.merchant_pending() == 0
    early = purchase_request(term, card, 400)
    early_reversal = _reversal_of(early)
    assert replay(term, early_reversal)["39"] == "25"
    assert replay(term, early)["39"] == "12"
    assert bank.available(card) == 100_000 and balanced(bank)


def test_settlement_pays_the_merchant_less_the_fee(bank: Bank) -> None:
    card, term = bank.card(), bank.terminal()
    term.transact("purchase", card, pin=PIN, amount=10_000)
    term.transact("purchase", card, pin=PIN, amount=5_000)
    settled = term.settle()
    assert settled["balanced"] and settled["debits"] == "150.00"
    # the IC TC upload (203): both TCs reached the issuer as advices, none refused
    assert (settled["uploaded"], settled["upload_refused"]) == (2, [])
    tcs = bank.issuer.store._db.execute("SELECT COUNT(*) FROM advices").fetchone()[0]
    assert tcs == 2
    fee = (15_000 * 38 + 5_000) // 10_000
    assert bank.merchant_pending() == 0
    files = list((bank.folder / "var" / "settlement").glob("*.csv"))
    rows = list(csv.DictReader(files[0].open()))
    assert rows[0]["net"] == "150.00" and rows[0]["fee"] == f"{fee // 100}.{fee % 100:02d}"
    assert balanced(bank)
    store = PaymentStore(bank.host.database)
    today = datetime.now(SHANGHAI).date()
    config = bank.host.config
    owed = card_obligations(store, today, acquirer_bank=config.bank_code,
                            issuer_bank=config.issuer_bank_code)  # fmt: skip
    items = obligations_to_items(owed)
    assert [(i.payer_bank, i.payee_bank, i.amount) for i in items] == [
        (config.issuer_bank_code, config.bank_code, 15_000)
    ]
    assert items[0].business_type is BusinessType.ORDINARY_CREDIT


def test_the_other_declines_and_an_unbalanced_batch(bank: Bank) -> None:
    card, term = bank.card(10_000), bank.terminal()
    assert term.transact("preauth", card, pin=PIN, amount=20_000).response_code == "51"
    assert term.transact("ecash-load", card, pin="0000", amount=100).response_code == "55"
    assert term.transact("balance", card, pin="0000").response_code == "55"
    offline = purchase_request(term, card, 800).replace(
        {"60": f"36{term.state.batch}000", "52": None}
    )
    # an ARQC sent as an offline sale upload is no TC: refused (test_offline.py has real ones)
    assert replay(term, offline)["39"] == "34"
    assert bank.available(card) == 10_000 and bank.merchant_pending() == 0
    sale = term.transact("purchase", card, pin=PIN, amount=1_000)
    assert sale.approved
    term.state.log[-1]["amount"] = 999  # the terminal's totals now differ from the host's
    settled = term.settle()
    assert settled["response_code"] == "00" and settled["balanced"] is False
    # every record uploaded (205): the host finds the one whose amount differs (64)
    assert settled["upload_refused"] == [{"stan": sale.stan, "code": "64"}]
    assert bank.merchant_pending() == 1_000  # nothing paid out on a batch that does not agree
    assert balanced(bank)


def test_bad_field_61_and_unknown_messages_are_refused_without_posting(bank: Bank) -> None:
    card, term = bank.card(), bank.terminal()
    sale = term.transact("purchase", card, pin=PIN, amount=100)
    void = purchase_request(term, card, 100).replace(
        {"3": "200000", "60": f"23{term.state.batch}000", "61": "00000", "55": None}
    )
    assert replay(term, void)["39"] == "30"
    assert sale.approved and bank.available(card) == 99_900 and balanced(bank)


def test_what_a_crash_leaves_in_doubt_is_reversed_at_the_next_start(bank: Bank) -> None:
    card, term = bank.card(), bank.terminal()
    txn = transaction_id(term.state.terminal_id, term.state.batch, term.state.take_stan())
    emulated = EmulatedCard.load(card)
    icc = online_request_data(emulated.transmit, 4_000, aid=emulated.image.applications[0].aid)
    store = PaymentStore(bank.host.database)
    store.in_doubt(txn, datetime.now(SHANGHAI))  # the host asked the issuer ...
    answer = bank.issuer.authorize(AuthorizationRequest(Kind.PURCHASE, txn, pan_of(card), 4_000,
                                                        icc=icc))  # fmt: skip
    assert answer.approved
    assert Books(bank.ledger).post_approval(Kind.PURCHASE, txn, MID, 4_000)
    assert bank.available(card) == 96_000  # ... posted both sides, and died before the record
    bank.background.stop()
    restarted = start_in_background(
        AcquirerConfig.local(bank.folder / "var", port=bank.background.port),
        environ={"ZHIFU_LMK": LMK},
    )
    try:
        issuer = restarted.host.services.issuer
        assert isinstance(issuer, type(bank.issuer))
        assert issuer.balances(pan_of(card)).available == 100_000
        again = PaymentStore(restarted.host.database)
        assert again.left_in_doubt() == [] and again.reversal(txn) == "00"
        assert restarted.host.services.ledger is not None
        assert restarted.host.services.ledger.check().balanced
    finally:
        restarted.stop()

"""A contactless (qPBOC) tap through the terminal to the host: the card's cryptogram from its
GPO answer, no PIN up to the contactless CVM limit, the PIN above it, the transaction limit."""

from __future__ import annotations

import json

from zhifu.card.icc.emulated import EmulatedCard

from .conftest import Bank, pan_of

PIN = "1234"


def test_a_tap_is_approved_without_pin_up_to_the_cvm_limit(bank: Bank) -> None:
    card, term = bank.card(500_000), bank.terminal()
    sale = term.transact("purchase", card, amount=300_00, tap=True)
    assert (sale.response_code, sale.approved) == ("00", True), sale.message
    assert bank.available(card) == 500_000 - 300_00 and bank.merchant_pending() == 300_00
    # the request went as a tap: entry mode 072, no PIN block (the journal keeps it redacted)
    (row,) = bank.host.database.query(
        "SELECT fields FROM journal WHERE mti = '0200' AND direction = 'in' ORDER BY seq DESC "
        "LIMIT 1"
    )
    fields = json.loads(row[0])
    assert fields["22"] == "072" and "52" not in fields and "55" in fields
    assert EmulatedCard.load(card).image.applications[0].state.atc >= 1  # the tap's ATC


def test_above_the_cvm_limit_the_pin_is_needed(bank: Bank) -> None:
    card, term = bank.card(500_000), bank.terminal()
    refused = term.transact("purchase", card, amount=1_500_00, tap=True)
    assert not refused.answered and "PIN is needed" in refused.message
    sale = term.transact("purchase", card, pin=PIN, amount=1_500_00, tap=True)
    assert sale.approved, sale.message
    wrong = term.transact("purchase", card, pin="9999", amount=1_500_00, tap=True)
    assert wrong.response_code == "55"
    assert bank.available(card) == 500_000 - 1_500_00


def test_above_the_contactless_limit_the_card_must_be_inserted(bank: Bank) -> None:
    card, term = bank.card(50_000_000), bank.terminal()
    result = term.transact("purchase", card, pin=PIN, amount=100_000_01, tap=True)
    assert not result.answered and "insert the card" in result.message
    assert bank.available(card) == 50_000_000
    assert pan_of(card).startswith("6228")

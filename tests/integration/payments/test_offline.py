"""Offline approvals: a contact purchase under the floor limit approved by the card (TC), a tap
spending the chip's e-cash (TC with fDDA), both kept sealed and uploaded before settlement
(0200, 60.1 = 36, the TC in field 55), the issuer verifying each TC once — from the e-cash
pool or the account — and the books balanced."""

from __future__ import annotations

import json

from zhifu.card.icc.emulated import EmulatedCard
from zhifu.codec.tlv import Tlv
from zhifu.iso8583 import Message
from zhifu.iso8583.fields_55 import build_icc_data, parse_icc_data
from zhifu.terminal.chip import KernelOptions
from zhifu.terminal.flow import DEFAULT_KERNEL
from zhifu.terminal.kernel.config import TerminalConfig

from .conftest import Bank, pan_of, replay
from .test_card_payments import balanced

PIN = "1234"


def _offline_kernel() -> KernelOptions:
    """A floor limit of 500.00 (contactless: 200.00), and signature as the contact CVM: the
    card's action codes send every online-PIN transaction online, and decline one whose PIN
    was bypassed, so an offline approval is a signed one."""
    config = TerminalConfig(
        capabilities=bytes.fromhex("E028C8"), floor_limit=500_00, contactless_floor_limit=200_00
    )
    return KernelOptions(config, DEFAULT_KERNEL.capks)


def test_a_contact_purchase_under_the_floor_limit_is_approved_offline_and_uploaded(
    bank: Bank,
) -> None:
    card, term = bank.card(100_000), bank.terminal()
    term.kernel = _offline_kernel()
    sale = term.transact("purchase", card, amount=123_45)
    assert (sale.response_code, sale.approved, sale.answered) == ("Y1", True, False), sale.message
    assert bank.available(card) == 100_000  # nothing reached the issuer yet
    kept = json.loads((term.state.folder / "state.json").read_text())["offline"]
    assert len(kept) == 1 and "2" not in kept[0]["fields"] and "35" not in kept[0]["fields"]
    assert pan_of(card) not in (term.state.folder / "state.json").read_text()
    over = term.transact("purchase", card, amount=600_00)  # above it: online
    assert over.response_code == "00" and over.answered
    assert term.upload_offline() == (1, 0)
    assert bank.available(card) == 100_000 - 123_45 - 600_00
    assert bank.merchant_pending() == 123_45 + 600_00
    settled = term.settle()
    assert settled["response_code"] == "00" and settled["balanced"] is True
    assert balanced(bank)


def test_a_tap_spends_the_chips_ecash_offline_and_the_upload_draws_the_ecash_pool(
    bank: Bank,
) -> None:
    card, term = bank.card(100_000), bank.terminal()
    assert term.transact("ecash-load", card, pin=PIN, amount=300_00).approved
    term.kernel = _offline_kernel()
    tap = term.transact("purchase", card, amount=50_00, tap=True)
    assert (tap.response_code, tap.entry, tap.pin_entered) == ("Y1", "tap", False), tap.message
    assert EmulatedCard.load(card).image.applications[0].state.ec_balance == 250_00
    online = term.transact("purchase", card, amount=250_00, tap=True)  # at the floor: online
    assert online.response_code == "00"
    settled = term.settle()  # uploads first
    assert settled["balanced"] is True and term.state.offline == []
    balances = bank.issuer.balances(pan_of(card))
    assert (balances.available, balances.ecash_pool) == (100_000 - 300_00 - 250_00, 250_00)
    assert balanced(bank)


def test_a_replayed_upload_and_a_forged_tc_are_refused(bank: Bank) -> None:
    card, term = bank.card(100_000), bank.terminal()
    term.kernel = _offline_kernel()
    assert term.transact("purchase", card, amount=10_00).response_code == "Y1"
    record = term.state.offline[0]
    fields = {**record["fields"], **term.state.unseal_card_fields(record, offline=True)}
    assert term.upload_offline() == (1, 0)
    assert replay(term, Message("0200", fields))["39"] == "00"  # a retransmission: same answer
    again = Message("0200", {**fields, "11": term._fields("36", "000")["11"]})
    assert replay(term, again)["39"] != "00"  # the same TC under a new STAN: refused
    icc = {item.tag: item.value for item in parse_icc_data(fields["55"])}
    for tag, change in ((0x9F26, 0x01), (0x9F02, 0x10)):  # the TC itself; the amount it signs
        forged = {**icc, tag: icc[tag][:-1] + bytes([icc[tag][-1] ^ change])}
        data = build_icc_data(Tlv(t, v) for t, v in forged.items())
        stan = term._fields("36", "000")["11"]
        assert replay(term, Message("0200", {**fields, "11": stan, "55": data}))["39"] != "00"
    assert bank.available(card) == 100_000 - 10_00
    assert balanced(bank)

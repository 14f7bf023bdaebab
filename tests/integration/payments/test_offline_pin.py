"""Offline PIN through the terminal to the host: cards whose CVM list asks the card itself to
verify the PIN (plaintext, VERIFY P2 80; enciphered under the ICC key with the card's
challenge, P2 88). A right PIN goes online without field 52; a wrong one fails cardholder
verification and the card's action codes decline offline (Z1); a blocked PIN counter too."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from zhifu.card.icc.emulated import EmulatedCard
from zhifu.terminal.chip import KernelOptions
from zhifu.terminal.flow import DEFAULT_KERNEL
from zhifu.terminal.kernel.config import TerminalConfig

from .conftest import Bank
from .test_card_payments import balanced

PIN = "1234"
CONTACT_CVM_LIST = "0000000000000000420342035E0343031F00"  # the debit profile's contact list


def _card(bank: Bank, tmp_path: Path, cvm_list: str, name: str) -> Path:
    text = resources.files("zhifu.card").joinpath("profiles/debit.json").read_text("utf-8")
    assert CONTACT_CVM_LIST in text
    profile = json.loads(text.replace(CONTACT_CVM_LIST, cvm_list))
    profile["name"] = name
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(profile), encoding="utf-8")
    card = tmp_path / f"{name}-card.json"
    bank.issuer.issue_card("debit", 100_000, PIN, card, profile=str(path))
    return card


def _kernel() -> KernelOptions:
    """A terminal with a PIN pad for plaintext and enciphered offline PIN (9F33 byte 2 = 90)."""
    return KernelOptions(TerminalConfig(capabilities=bytes.fromhex("E090C8")), DEFAULT_KERNEL.capks)


def _last_request(bank: Bank) -> dict[str, str]:
    (row,) = bank.host.database.query(
        "SELECT fields FROM journal WHERE mti = '0200' AND direction = 'in' ORDER BY seq DESC "
        "LIMIT 1"
    )
    fields: dict[str, str] = json.loads(row[0])
    return fields


@pytest.mark.parametrize(("rule", "how"), [("0103", "plaintext"), ("0403", "enciphered")])
def test_the_card_verifies_the_pin_and_the_purchase_goes_online_without_it(
    bank: Bank, tmp_path: Path, rule: str, how: str
) -> None:
    card = _card(bank, tmp_path, "0000000000000000" + rule, f"offline-{how}")
    term = bank.terminal()
    term.kernel = _kernel()
    sale = term.transact("purchase", card, pin=PIN, amount=66_00)
    assert sale.approved and sale.pin_entered, sale.message
    fields = _last_request(bank)
    assert "52" not in fields and fields["22"] == "052"
    icc = dict(item.split("=", 1) for item in fields["55"].split())  # the journal's text form
    assert int(icc["95"], 16) & 0x0000800000 == 0  # TVR: cardholder verification did not fail
    assert EmulatedCard.load(card).image.applications[0].state.pin_tries == 3
    wrong = term.transact("purchase", card, pin="9999", amount=66_00)
    assert (wrong.response_code, wrong.answered) == ("Z1", False), wrong.message
    assert "cardholder verification was not successful" in wrong.message
    assert EmulatedCard.load(card).image.applications[0].state.pin_tries == 2
    assert bank.available(card) == 100_000 - 66_00
    assert balanced(bank)


def test_a_blocked_pin_counter_declines_offline(bank: Bank, tmp_path: Path) -> None:
    card = _card(bank, tmp_path, "00000000000000000103", "offline-blocked")
    image = EmulatedCard.load(card)
    image.image.applications[0].state.pin_tries = 0
    image.save()
    term = bank.terminal()
    term.kernel = _kernel()
    result = term.transact("purchase", card, pin=PIN, amount=10_00)
    assert result.response_code == "Z1" and "PIN try limit exceeded" in result.message
    assert bank.available(card) == 100_000

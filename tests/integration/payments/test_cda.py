"""CDA through the terminal to the host: a card whose AIP offers CDA answers the first GENERATE
AC in format 2 with its cryptogram signed; the kernel checks the signature and the transaction
data hash and sends the recovered ARQC online, which the issuer verifies. An answer altered on
the way fails CDA and declines offline; without the CA key CDA fails before it is asked."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest

from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.oda.base import OdaError
from zhifu.card.oda.ca import builtin_test_ca
from zhifu.card.oda.cda import icc_dynamic_data, split_dynamic_data, verify_cda
from zhifu.card.personalise import icc_public_key, sign_cda
from zhifu.card.readers import InProcessReader
from zhifu.terminal.chip import ChipSession, KernelOptions, OfflineDeclineError, TerminalData
from zhifu.terminal.flow import DEFAULT_KERNEL

from .conftest import Bank
from .test_card_payments import balanced

PIN = "1234"


def _cda_card(bank: Bank, tmp_path: Path) -> Path:
    text = resources.files("zhifu.card").joinpath("profiles/debit.json").read_text("utf-8")
    profile = json.loads(text)
    profile["applications"][0]["paths"]["dc"]["aip"] = "7D00"  # SDA, DDA and CDA
    profile["name"] = "debit-cda"
    path = tmp_path / "debit-cda.json"
    path.write_text(json.dumps(profile), encoding="utf-8")
    card = tmp_path / "cda-card.json"
    bank.issuer.issue_card("debit", 100_000, PIN, card, profile=str(path))
    return card


def test_a_cda_card_signs_its_arqc_and_the_host_approves_it(bank: Bank, tmp_path: Path) -> None:
    card = _cda_card(bank, tmp_path)
    chip = ChipSession(card)
    icc = chip.first_ac(500, 0x00, TerminalData("10000001", "000001"), kernel=DEFAULT_KERNEL)
    result = chip.kernel_result
    assert result is not None and result.oda.method == "cda" and result.oda.icc_key is not None
    trace = chip.terminal.trace
    assert trace.sdad and len(icc[0x9F26]) == 8 and icc[0x9F27] == b"\x80"
    assert chip.terminal.trace.steps[-1][0][2] == 0x90  # P1: ARQC with CDA asked
    chip.close()
    term = bank.terminal()
    sale = term.transact("purchase", card, pin=PIN, amount=77_00)
    assert sale.approved, sale.message  # the issuer verified the ARQC the signature carried
    assert bank.available(card) == 100_000 - 77_00
    assert balanced(bank)


class _Tampering(InProcessReader):
    """A reader that flips the last byte of the card's first GENERATE AC answer (the IAD, which
    the signed transaction hash covers), as a man in the middle would."""

    def transmit(self, apdu: bytes) -> bytes:
        answer = super().transmit(apdu)
        if apdu[:2] == b"\x80\xae" and answer[:1] == b"\x77":
            return answer[:-3] + bytes([answer[-3] ^ 0x01]) + answer[-2:]
        return answer


def test_a_cda_that_does_not_check_declines_offline(bank: Bank, tmp_path: Path) -> None:
    card = EmulatedCard.load(_cda_card(bank, tmp_path))
    chip = ChipSession(_Tampering(card))
    with pytest.raises(OfflineDeclineError, match="CDA failed"):
        chip.first_ac(500, 0x00, TerminalData("10000001", "000001"), kernel=DEFAULT_KERNEL)
    result = chip.kernel_result
    assert result is not None and "CDA failed" in result.tvr.names()
    # without the CA key the ICC key cannot be had: CDA failed before GENERATE AC, not asked
    other = ChipSession(EmulatedCard.load(_cda_card(bank, tmp_path)))
    options = KernelOptions(DEFAULT_KERNEL.config, (builtin_test_ca("sm2"),))
    other.first_ac(500, 0x00, TerminalData("10000001", "000002"), kernel=options)
    assert other.kernel_result is not None
    assert "CDA failed" in other.kernel_result.tvr.names()
    assert other.terminal.trace.steps[-1][0][2] == 0x80  # plain ARQC: the card's codes go online


def test_the_signature_binds_the_cid_and_the_hash() -> None:
    card = EmulatedCard.example()
    app = card.image.applications[0]
    key = icc_public_key(app, sm=False)
    assert key is not None
    tx_hash, un = bytes(range(20)), bytes.fromhex("11223344")
    dynamic = icc_dynamic_data(bytes(8), b"\x80", bytes.fromhex("0102030405060708"), tx_hash)
    sdad = sign_cda(app, False, dynamic, un)
    assert sdad is not None
    ac = verify_cda(key, sdad, unpredictable_number=un, cid=b"\x80", tx_hash=tx_hash)
    assert ac.hex() == "0102030405060708"
    assert split_dynamic_data(dynamic, 20) == (b"\x80", ac, tx_hash)
    for kwargs, check in (
        ({"cid": b"\x40", "tx_hash": tx_hash}, "cda_cid"),
        ({"cid": b"\x80", "tx_hash": bytes(20)}, "cda_hash"),
    ):
        with pytest.raises(OdaError) as caught:
            verify_cda(key, sdad, unpredictable_number=un, **kwargs)
        assert caught.value.check == check
    with pytest.raises(OdaError):
        verify_cda(key, sdad, unpredictable_number=bytes(4), cid=b"\x80", tx_hash=tx_hash)

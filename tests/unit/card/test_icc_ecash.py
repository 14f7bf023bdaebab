"""E-cash load scripts (PUT DATA 9F79 with MAC), limits, offline purchases, qPBOC.

Script MACs are computed here with zhifu.crypto.emv from the card's MK-SMI
(docs/standards/card-terminal.md
1.5: MAC input 04 DA 9F 79 0A ‖ ATC ‖ ARQC ‖ new balance, SK from MK-SMI and the ATC).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from zhifu.card import personalise
from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.image.model import CardImage, n12
from zhifu.card.issuing import IssuerKeys, issue_card
from zhifu.card.oda import methods as oda
from zhifu.card.scripted import Terminal, terminal_values
from zhifu.codec import tlv
from zhifu.crypto import emv
from zhifu.crypto.cipher import Cipher

TODAY = date(2026, 11, 25)
PAN = "6228000000000011"


def _keys(profile: str, cipher: Cipher) -> tuple[bytes, bytes]:
    """(MK-AC, MK-SMI) of the card, derived here from the test issuer's IMKs."""
    if profile == "pboc-reference":
        return (
            bytes.fromhex("11223344006677881122334455007788"),
            bytes.fromhex("8B4F854F0831FBF2635A212E4DDDB92A"),
        )
    imk = IssuerKeys.test().imk["sm4" if cipher is Cipher.SM4 else "tdes"]
    pan = "6228000100001117" if profile == "pboc-reference" else PAN
    return tuple(emv.derive_icc_mk_a(cipher, k, pan, "01") for k in (imk.mk_ac, imk.mk_smi))  # type: ignore[return-value]


class Online:
    """An online load transaction up to the ARQC, then scripts signed like an issuer."""

    def __init__(self, card: EmulatedCard, profile: str, sm: bool, amount: int) -> None:
        self.cipher = Cipher.SM4 if sm else Cipher.TDES
        self.mk_ac, self.mk_smi = _keys(profile, self.cipher)
        card.power_on()
        values = terminal_values(amount, sm=sm, transaction_type=0x60) | {0x8A: b"00"}
        self.term = Terminal(card.transmit, values)
        fci, sw = self.term.select(card.image.applications[0].aid)
        assert sw == 0x9000
        pdol = tlv.find(tlv.decode(fci), 0x9F38)
        assert self.term.gpo(pdol.value if pdol else b"").sw == 0x9000
        self.term.read_afl()
        assert self.term.generate_ac(0x80, 0x8C).sw == 0x9000 and self.term.trace.cid1 == 0x80

    def script(self, header: str, data: bytes, *, good_mac: bool = True) -> int:
        trace = self.term.trace
        sk = emv.derive_pboc_session_key(self.cipher, self.mk_smi, trace.atc)
        head = bytes.fromhex(header) + bytes([len(data) + 4])
        mac = emv.generate_script_mac(
            self.cipher, sk, head, atc=trace.atc, arqc=trace.arqc, data=data
        )
        if not good_mac:
            mac = bytes([mac[0] ^ 1]) + mac[1:]
        return self.term.send(head[0], head[1], head[2], head[3], data + mac, le=None).sw

    def finish(self) -> int:
        trace = self.term.trace
        sk = emv.derive_pboc_session_key(self.cipher, self.mk_ac, trace.atc)
        arpc = emv.generate_arpc_method_1(self.cipher, sk, trace.arqc, b"00")
        assert self.term.send(0x00, 0x82, 0x00, 0x00, arpc + b"00", le=None).sw == 0x9000
        self.term.generate_ac(0x40, 0x8D)
        return self.term.trace.cid2 or 0


def _balance(card: EmulatedCard) -> int:
    card.power_on()
    card.transmit(bytes.fromhex("00A4040008A00000033301010100"))
    answer = card.transmit(bytes.fromhex("80CA9F7900"))
    assert answer[-2:] == b"\x90\x00"
    return int(answer[3:9].hex())


@pytest.fixture
def debit(tmp_path: Path) -> tuple[EmulatedCard, Path]:
    path = tmp_path / "debit.json"
    issue_card("debit", PAN, path, today=TODAY)
    return EmulatedCard.load(path), path


@pytest.mark.parametrize(
    ("profile", "sm"), [("debit", False), ("debit", True), ("pboc-reference", False)]
)
def test_load_script_raises_the_balance_to_the_new_total(
    tmp_path: Path, profile: str, sm: bool
) -> None:
    path = tmp_path / "card.json"
    issue_card(profile, None if profile == "pboc-reference" else PAN, path, today=TODAY)
    card = EmulatedCard.load(path)
    online = Online(card, profile, sm, amount=5000)
    assert online.script("04DA9F79", n12(5000)) == 0x9000
    assert online.finish() == 0x40
    assert _balance(card) == 5000
    assert EmulatedCard.load(path).image.applications[0].state.ec_balance == 5000  # persisted
    online = Online(card, profile, sm, amount=2500)  # a second load: the total, not the amount
    assert online.script("04DA9F79", n12(7500)) == 0x9000
    online.finish()
    assert _balance(card) == 7500


def test_load_log_record(debit: tuple[EmulatedCard, Path]) -> None:
    card, _ = debit
    online = Online(card, "debit", False, amount=3000)
    assert online.script("04DA9F79", n12(3000)) == 0x9000
    record = online.term.send(0x00, 0xB2, 0x01, 12 << 3 | 4)  # DF4D 0C0A: SFI 12
    assert record.sw == 0x9000
    assert record.data[:14] == bytes.fromhex("9F79") + n12(0) + n12(3000)
    dol = card.image.applications[0].data[0xDF4F]
    fields = tlv.split_dol_data(dol, record.data[14:])
    assert fields[0x9A] == bytes.fromhex("261125") and fields[0x9C] == b"\x60"
    assert online.term.send(0x00, 0xB2, 0x02, 12 << 3 | 4).sw == 0x6A83


def test_wrong_mac_gives_6988_and_changes_nothing(debit: tuple[EmulatedCard, Path]) -> None:
    card, path = debit
    online = Online(card, "debit", False, amount=5000)
    before = CardImage.load(path).applications[0]
    assert online.script("04DA9F79", n12(5000), good_mac=False) == 0x6988
    after = CardImage.load(path).applications[0]
    assert after.state.ec_balance == before.state.ec_balance == 0
    assert after.state.load_log == before.state.load_log == []
    assert after.state.last_script_failed  # reported in the CVR of the next transaction
    assert _balance(card) == 0


def test_total_over_the_limit_is_refused(debit: tuple[EmulatedCard, Path]) -> None:
    card, _ = debit
    online = Online(card, "debit", False, amount=100001)
    assert online.script("04DA9F79", n12(100001)) == 0x6A80  # 9F77 = 1000.00 yuan
    assert online.script("04DA9F79", n12(100000)) == 0x9000  # exactly the limit is fine
    assert _balance(card) == 100000


def test_ecash_full_magic_card_refuses_any_load(tmp_path: Path) -> None:
    path = tmp_path / "full.json"
    issue_card("ecash-full", PAN, path, today=TODAY)
    card = EmulatedCard.load(path)
    assert _balance(card) == 100000
    online = Online(card, "debit", False, amount=1)
    assert online.script("04DA9F79", n12(100001)) == 0x6A80


def test_put_data_other_ec_limits(debit: tuple[EmulatedCard, Path]) -> None:
    card, _ = debit
    online = Online(card, "debit", False, amount=0)
    assert online.script("04DA9F78", n12(2000)) == 0x9000
    assert online.script("04DA9F6D", n12(500)) == 0x9000
    assert online.script("04DA9F77", bytes(4)) == 0x6700
    assert online.script("04DA9F77", bytes.fromhex("00000000000A")) == 0x6A80
    assert online.script("04DA9F99", n12(1)) == 0x6A88
    assert card.transmit(bytes.fromhex("80CA9F7800"))[:-2] == bytes.fromhex("9F7806") + n12(2000)


def _offline_purchase(card: EmulatedCard, amount: int) -> tuple[int | None, Terminal]:
    card.power_on()
    term = Terminal(card.transmit, terminal_values(amount, ec=True))
    fci, _ = term.select(card.image.applications[0].aid)
    pdol = tlv.find(tlv.decode(fci), 0x9F38)
    assert term.gpo(pdol.value if pdol else b"").sw == 0x9000
    term.read_afl()
    term.generate_ac(0x40, 0x8C)
    return term.trace.cid1, term


@pytest.mark.parametrize("profile", ["debit", "pboc-reference", "ecash"])
def test_offline_ecash_purchases_lower_the_balance(tmp_path: Path, profile: str) -> None:
    path = tmp_path / "card.json"
    issue_card(profile, None if profile == "pboc-reference" else PAN, path, today=TODAY)
    card = EmulatedCard.load(path)
    card.image.applications[0].state.ec_balance = 1000
    card.save()
    cid, term = _offline_purchase(card, 300)
    assert cid == 0x40  # TC: approved offline
    assert (3, 3) in term.trace.records  # the EC AFL reads 9F74 "ECC001"
    assert term.card_object(0x9F74) == b"ECC001"
    assert EmulatedCard.load(path).image.applications[0].state.ec_balance == 700
    cid, term = _offline_purchase(card, 701)  # more than the balance: the DC path, TC asked
    assert (3, 3) not in term.trace.records
    assert cid == (0x80 if profile == "ecash" else 0x40)  # pure e-cash: DC path online only
    assert EmulatedCard.load(path).image.applications[0].state.ec_balance == 700
    logged = []  # transaction log, SFI 11, most recent first; approved (TC) transactions
    for number in (1, 2, 3):
        log = card.transmit(bytes([0x00, 0xB2, number, 11 << 3 | 4, 0x00]))
        if log[-2:] == b"\x90\x00":
            fields = tlv.split_dol_data(card.image.applications[0].data[0x9F4F], log[:-2])
            logged.append(int(fields[0x9F02].hex()))
        else:
            assert log == b"\x6a\x83"
    assert logged == ([300] if profile == "ecash" else [701, 300])


@pytest.mark.parametrize("sm", [False, True])
def test_qpboc_offline_purchase_with_fdda(debit: tuple[EmulatedCard, Path], sm: bool) -> None:
    card, path = debit
    cipher = Cipher.SM4 if sm else Cipher.TDES
    card.image.applications[0].state.ec_balance = 50000
    card.save()
    card.power_on()
    term = Terminal(card.transmit, terminal_values(1000, sm=sm))
    ppse, sw = term.select(b"2PAY.SYS.DDF01")
    assert sw == 0x9000 and tlv.find(tlv.decode(ppse), 0xBF0C) is not None
    fci, _ = term.select(card.image.applications[0].aid)
    pdol = tlv.find(tlv.decode(fci), 0x9F38)
    assert pdol is not None and any(tag == 0x9F66 for tag, _ in tlv.parse_dol(pdol.value))
    answer = term.gpo(pdol.value)
    assert answer.sw == 0x9000 and answer.data[0] == 0x77
    found = tlv.to_dict(tlv.decode(answer.data))
    assert {"82", "94", "9F36", "9F26", "9F27", "9F10", "57", "5F34", "9F4B", "9F69"} <= set(found)
    assert found["9F27"] == b"\x40"
    assert CardImage.load(path).applications[0].state.ec_balance == 49000
    assert found["9F10"][7] == (0x04 if sm else 0x01)
    icc_pk = personalise.icc_public_key(card.image.applications[0], sm)
    assert icc_pk is not None
    values = term.values
    oda.verify_fdda(
        icc_pk,
        found["9F4B"],
        terminal_un=values[0x9F37],
        amount=values[0x9F02],
        currency=values[0x5F2A],
        card_auth_data_9f69=found["9F69"],
    )
    mk_ac, _ = _keys("debit", cipher)
    sk = emv.derive_pboc_session_key(cipher, mk_ac, found["9F36"])
    data = emv.build_ac_data_pboc(
        tag_9f02=values[0x9F02],
        tag_9f03=values[0x9F03],
        tag_9f1a=values[0x9F1A],
        tag_95=values[0x95],
        tag_5f2a=values[0x5F2A],
        tag_9a=values[0x9A],
        tag_9c=values[0x9C],
        tag_9f37=values[0x9F37],
        tag_82=found["82"],
        tag_9f36=found["9F36"],
        tag_9f10=found["9F10"],
    )
    assert emv.verify_ac(cipher, sk, data, found["9F26"])
    assert term.send(0x80, 0xAE, 0x40, 0x00, bytes(37)).sw == 0x6985  # qPBOC: no GENERATE AC


def test_qpboc_goes_online_below_the_reset_threshold(debit: tuple[EmulatedCard, Path]) -> None:
    card, _ = debit
    card.image.applications[0].state.ec_balance = 10500  # 9F6D = 100.00 yuan
    card.power_on()
    term = Terminal(card.transmit, terminal_values(1000))
    term.select(b"2PAY.SYS.DDF01")
    fci, _ = term.select(card.image.applications[0].aid)
    pdol = tlv.find(tlv.decode(fci), 0x9F38)
    found = tlv.to_dict(tlv.decode(term.gpo(pdol.value if pdol else b"").data))
    assert found["9F27"] == b"\x80" and "9F4B" not in found
    assert card.image.applications[0].state.ec_balance == 10500

"""The reference card (docs/standards/card-terminal.md §1.9) and a full contact
transaction.

Every cryptogram is recomputed here with zhifu.crypto.emv from the card keys (the
reference card's own keys, or option A of the test issuer's IMKs), independently of the
card code.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from zhifu.card import personalise
from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.issuing import IssuerKeys, issue_card
from zhifu.card.oda import methods as oda
from zhifu.card.scripted import Terminal, terminal_values
from zhifu.codec import tlv
from zhifu.crypto import emv
from zhifu.crypto.cipher import Cipher
from zhifu.crypto.kcv import kcv
from zhifu.crypto.rsa import RsaPublicKey

REF_PAN = "6228000100001117"
REF_KEYS = {  # docs/standards/card-terminal.md §1.9, DGI 8000
    "mk_ac": "11223344006677881122334455007788",
    "mk_smi": "8B4F854F0831FBF2635A212E4DDDB92A",
    "mk_smc": "11220044556677881122330055667788",
}
TODAY = date(2026, 11, 25)


def _card(tmp_path: Path, profile: str, pan: str | None = None) -> tuple[EmulatedCard, str]:
    path = tmp_path / "card.json"
    image = issue_card(profile, pan, path, today=TODAY)
    pan_tlv = tlv.find(tlv.decode(image.applications[0].records[(3, 1)]), 0x5A)
    assert pan_tlv is not None
    return EmulatedCard.load(path), pan_tlv.value.hex().upper().rstrip("F")


def _mk_ac(profile: str, pan: str, cipher: Cipher) -> bytes:
    if profile == "pboc-reference":
        return bytes.fromhex(REF_KEYS["mk_ac"])
    imk = IssuerKeys.test().imk["sm4" if cipher is Cipher.SM4 else "tdes"].mk_ac
    return emv.derive_icc_mk_a(cipher, imk, pan, "01")


def _ac_input(values: dict[int, bytes], aip: bytes, atc: bytes, iad: bytes) -> bytes:
    return emv.build_ac_data_pboc(
        tag_9f02=values[0x9F02],
        tag_9f03=values[0x9F03],
        tag_9f1a=values[0x9F1A],
        tag_95=values[0x95],
        tag_5f2a=values[0x5F2A],
        tag_9a=values[0x9A],
        tag_9c=values[0x9C],
        tag_9f37=values[0x9F37],
        tag_82=aip,
        tag_9f36=atc,
        tag_9f10=iad,
    )


def test_reference_card_reproduces_the_kcvs(tmp_path: Path) -> None:
    # docs/standards/card-terminal.md §1.9: DGI 9000 = KCVs of DGI 8000 (3DES, E(K, 0^8), 3 bytes)
    # [V]
    image = issue_card("pboc-reference", None, tmp_path / "ref.json", today=TODAY)
    keys = image.applications[0].keys["tdes"]
    assert keys.mk_ac.hex().upper() == REF_KEYS["mk_ac"]
    found = [kcv(Cipher.TDES, k).hex().upper() for k in (keys.mk_ac, keys.mk_smi, keys.mk_smc)]
    assert found == ["97DCB0", "CE4E2C", "B37DF3"]
    assert "sm4" not in image.applications[0].keys


@pytest.mark.parametrize(
    ("record", "expected"),
    [  # docs/standards/card-terminal.md §1.9 (DGIs of the public personalisation script)
        ((1, 1), "702C57116228000100001117D30122010123456789"),
        ((3, 1), "701B5A0862280001000011175F24033012315F25039507019F08020030"),
        ((3, 3), "70099F7406454343303031"),
        ((4, 1), "70089F1401039F230107"),
        ((4, 2), "70368C189F02069F03069F1A0295055F2A029A039F21039C019F3704"),
    ],
)
def test_reference_card_records(tmp_path: Path, record: tuple[int, int], expected: str) -> None:
    image = issue_card("pboc-reference", None, tmp_path / "ref.json", today=TODAY)
    assert image.applications[0].records[record].hex().upper().startswith(expected)


def test_reference_card_paths_and_limits(tmp_path: Path) -> None:
    app = issue_card("pboc-reference", None, None, today=TODAY).applications[0]
    paths = {name: (p.aip + p.afl).hex().upper() for name, p in app.paths.items()}
    assert paths == {  # DGI 9104, 9203, 9207
        "dc": "7C0008010100100102001801020120010300",
        "ec": "7C0008010100100102001801040120010200",
        "qpboc": "7C001001020018010301",
    }
    assert app.data[0x9F77].hex() == "000000015000"  # DGI 0D01
    assert app.data[0x9F78].hex() == "000000001000"
    assert app.data[0x9F6D].hex() == "000000001500"
    assert app.state.ec_balance == 0 and app.state.pin_tries == 3  # DGI 9010
    assert app.pin_block is not None and app.pin_block.hex().upper() == "241234FFFFFFFFFF"


@pytest.mark.parametrize(
    ("profile", "sm"),
    [("pboc-reference", False), ("debit", False), ("debit", True), ("credit", True)],
)
def test_full_contact_transaction(tmp_path: Path, profile: str, sm: bool) -> None:
    card, pan = _card(tmp_path, profile)
    cipher = Cipher.SM4 if sm else Cipher.TDES
    mk_ac = _mk_ac(profile, pan, cipher)
    aid = card.image.applications[0].aid
    assert card.power_on() == card.image.atr

    term = Terminal(card.transmit, terminal_values(1234, sm=sm) | {0x8A: b"00"})
    fci, sw = term.select(b"1PAY.SYS.DDF01")
    assert sw == 0x9000 and tlv.decode(fci)[0].tag == 0x6F and tlv.find(tlv.decode(fci), 0x88)
    directory = term.send(0x00, 0xB2, 0x01, 0x0C)
    assert directory.sw == 0x9000 and tlv.find(tlv.decode(directory.data), 0x4F).value == aid  # type: ignore[union-attr]
    fci, sw = term.select(aid)
    assert sw == 0x9000
    pdol = tlv.find(tlv.decode(fci), 0x9F38)
    assert pdol is not None
    assert any(tag == 0xDF69 for tag, _ in tlv.parse_dol(pdol.value)) is (
        profile != "pboc-reference"
    )

    gpo = term.gpo(pdol.value)
    assert gpo.sw == 0x9000 and gpo.data[0] == 0x80  # format 1
    assert term.trace.aip == bytes.fromhex("7C00")
    term.read_afl()
    assert all(sw == 0x9000 for cmd, sw in term.trace.steps if cmd[1] == 0xB2)
    assert len(term.trace.records) == sum(
        term.trace.afl[i + 2] - term.trace.afl[i + 1] + 1 for i in range(0, len(term.trace.afl), 4)
    )
    atc = term.send(0x80, 0xCA, 0x9F, 0x36)
    assert atc.sw == 0x9000 and atc.data == bytes.fromhex("9F36020001")
    assert term.send(0x80, 0xCA, 0x9F, 0x17).data == bytes.fromhex("9F170103")
    assert (
        term.send(0x00, 0x20, 0x00, 0x80, bytes.fromhex("241234FFFFFFFFFF"), le=None).sw == 0x9000
    )

    first = term.generate_ac(0x80, 0x8C)
    assert first.sw == 0x9000 and first.data[0] == 0x80 and term.trace.cid1 == 0x80
    trace = term.trace
    assert trace.iad[7] == (0x04 if sm else 0x01)  # algorithm identifier
    assert trace.iad[4] & 0x30 == 0x20 and trace.iad[4] & 0x04  # ARQC, offline PIN performed
    sk = emv.derive_pboc_session_key(cipher, mk_ac, trace.atc)
    assert emv.verify_ac(
        cipher, sk, _ac_input(term.values, trace.aip, trace.atc, trace.iad), trace.arqc
    )

    arpc = emv.generate_arpc_method_1(cipher, sk, trace.arqc, b"00")
    assert term.send(0x00, 0x82, 0x00, 0x00, arpc + b"00", le=None).sw == 0x9000
    second = term.generate_ac(0x40, 0x8D)
    assert second.sw == 0x9000 and trace.cid2 == 0x40
    body = tlv.decode(second.data)[0].value
    tc, iad2 = body[3:11], body[11:]
    assert iad2[4] & 0xF0 == 0x60  # TC in GENERATE AC 2, ARQC in 1
    assert emv.verify_ac(cipher, sk, _ac_input(term.values, trace.aip, trace.atc, iad2), tc)
    assert term.send(0x80, 0xCA, 0x9F, 0x13).data == bytes.fromhex("9F1302") + trace.atc
    assert term.send(0x80, 0xAE, 0x40, 0x00, bytes(37)).sw == 0x6985  # no third GENERATE AC


@pytest.mark.parametrize(
    ("profile", "sm"), [("pboc-reference", False), ("debit", False), ("debit", True)]
)
def test_offline_data_authentication_verifies(tmp_path: Path, profile: str, sm: bool) -> None:
    card, pan = _card(tmp_path, profile)
    term = Terminal(card.transmit, terminal_values(100, sm=sm))
    fci, _ = term.select(card.image.applications[0].aid)
    pdol = tlv.find(tlv.decode(fci), 0x9F38)
    term.gpo(pdol.value if pdol else b"")
    term.read_afl()
    static = b""
    afl = term.trace.afl
    for i in range(0, len(afl), 4):
        for number in range(afl[i + 1], afl[i + 1] + afl[i + 3]):
            static += tlv.decode(term.trace.records[(afl[i] >> 3, number)])[0].value
    obj = term.card_object
    ca = oda.builtin_test_ca("sm2" if sm else "rsa")
    assert obj(0x8F) == bytes([ca.index])
    issuer_pk = oda.recover_issuer_public_key(
        ca, obj(0x90) or b"", obj(0x92) or b"", obj(0x9F32) or b"", pan, today=TODAY
    )
    icc_pk = oda.recover_icc_public_key(
        issuer_pk,
        obj(0x9F46) or b"",
        obj(0x9F48) or b"",
        obj(0x9F47) or b"",
        static,
        term.trace.aip,
        pan,
        today=TODAY,
    )
    ddol_data = bytes.fromhex("CAFEBABE")
    answer = term.send(0x00, 0x88, 0x00, 0x00, ddol_data)
    assert answer.sw == 0x9000 and answer.data[0] == 0x80
    dynamic = oda.verify_dda(icc_pk, tlv.decode(answer.data)[0].value, ddol_data)
    assert len(dynamic) == 9
    if profile != "pboc-reference":
        assert oda.verify_sda(issuer_pk, obj(0x93) or b"", static, term.trace.aip)
    assert personalise.icc_public_key(card.image.applications[0], sm) == icc_pk


def test_reference_icc_key_is_the_personalised_one(tmp_path: Path) -> None:
    # DGI 8204/8205 (q, p) give the ICC modulus whose last 10 bytes are the remainder 9F48
    card, _ = _card(tmp_path, "pboc-reference")
    key = personalise.icc_public_key(card.image.applications[0], False)
    assert isinstance(key, RsaPublicKey)
    assert key.modulus_bytes()[-10:].hex().upper() == "89DD917D3A288B7BDD55"

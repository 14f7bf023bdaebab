"""The terminal's card flow against emulated PBOC cards: selection, records, the ARQC the
issuer can verify, issuer authentication, the second GENERATE AC, scripts."""

from __future__ import annotations

from zhifu.card.apdu import CommandApdu
from zhifu.card.icc.base import CID
from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.readers import InProcessReader
from zhifu.codec.tlv import Tlv, encode
from zhifu.crypto import emv
from zhifu.crypto.cipher import Cipher
from zhifu.iso8583.fields_55 import REQUEST_TAGS, REQUEST_TAGS_OPTIONAL
from zhifu.terminal.chip import CardRefusedError, ChipSession, TerminalData

DATA = TerminalData("10000001", "000042")


def _card() -> EmulatedCard:
    return EmulatedCard.example()


def _arpc(card: EmulatedCard, icc: dict[int, bytes], arc: bytes) -> bytes:
    mk_ac = card.image.applications[0].keys["tdes"].mk_ac
    sk = emv.derive_pboc_session_key(Cipher.TDES, mk_ac, icc[0x9F36])
    return emv.generate_arpc_method_1(Cipher.TDES, sk, icc[0x9F26], arc) + arc


def test_the_card_data_comes_from_the_records_it_read() -> None:
    card = _card()
    chip = ChipSession(card)
    facts = chip.facts()
    app = card.image.applications[0]
    assert facts.pan == (app.internal(0x5A) or b"").hex().upper().rstrip("F")
    assert facts.track2 == (app.internal(0x57) or b"").hex().upper().rstrip("F")
    assert facts.expiry == (app.internal(0x5F24) or b"").hex()[:4]
    assert facts.psn == "001" and chip.aid == bytes.fromhex("A000000333010101")
    assert repr(facts) == f"CardFacts({facts.masked_pan})" and facts.pan not in repr(facts)


def test_without_a_pse_the_terminal_tries_its_aid_list() -> None:
    card = _card()
    card.image.pse_fci = None
    reader = InProcessReader(card)
    chip = ChipSession(reader)
    assert chip.facts().pan.startswith("622800") and chip.aid.hex() == "a000000333010101"
    sent = [step[0][:5].hex() for step in chip._term.trace.steps]  # type: ignore[union-attr]
    assert sent[0] == "00a404000e" and sent[1] == "00a4040008"  # PSE refused, then the AID


def test_the_arqc_is_the_one_the_issuer_computes_and_field_55_has_every_tag() -> None:
    card = _card()
    icc = ChipSession(card).first_ac(12_345, 0x00, DATA)
    tags = {f"{tag:X}" for tag in icc}
    assert set(REQUEST_TAGS) <= tags and set(REQUEST_TAGS_OPTIONAL) - {"9F63"} <= tags
    assert icc[0x9F27] == bytes([CID["ARQC"]]) and icc[0x9F02] == bytes.fromhex("000000012345")
    assert icc[0x9F1E] == b"10000001" and icc[0x9F41] == bytes.fromhex("00000042")
    assert icc[0x95][0] & 0x80 and icc[0x95][2] & 0x04  # no ODA; online PIN entered
    data = emv.build_ac_data_pboc(
        tag_9f02=icc[0x9F02], tag_9f03=icc[0x9F03], tag_9f1a=icc[0x9F1A], tag_95=icc[0x95],
        tag_5f2a=icc[0x5F2A], tag_9a=icc[0x9A], tag_9c=icc[0x9C], tag_9f37=icc[0x9F37],
        tag_82=icc[0x82], tag_9f36=icc[0x9F36], tag_9f10=icc[0x9F10],
    )  # fmt: skip
    mk_ac = card.image.applications[0].keys["tdes"].mk_ac
    sk = emv.derive_pboc_session_key(Cipher.TDES, mk_ac, icc[0x9F36])
    assert emv.generate_ac(Cipher.TDES, sk, data) == icc[0x9F26]


def test_an_approval_with_a_good_arpc_ends_in_a_tc() -> None:
    card = _card()
    chip = ChipSession(card)
    icc = chip.first_ac(500, 0x00, DATA)
    assert chip.complete("00", {0x91: _arpc(card, icc, b"00")}) is True
    steps = chip._term.trace.steps  # type: ignore[union-attr]
    assert [c[:2].hex() for c, _ in steps[-2:]] == ["0082", "80ae"]
    assert steps[-2][1] == 0x9000 and steps[-1][0][2] == 0x40  # TC asked for


def test_a_decline_asks_for_an_aac_and_a_bad_arpc_fails_issuer_authentication() -> None:
    card = _card()
    chip = ChipSession(card)
    icc = chip.first_ac(500, 0x00, DATA)
    assert chip.complete("51", {0x91: _arpc(card, icc, b"51")}) is False
    assert chip._term.trace.steps[-1][0][2] == 0x00  # type: ignore[union-attr]
    chip = ChipSession(card)
    icc = chip.first_ac(500, 0x00, DATA)
    assert chip.complete("00", {0x91: bytes(8) + b"00"}) is False  # the card says AAC
    assert chip._term.values[0x95][4] & 0x40  # type: ignore[union-attr]  # issuer auth failed


def test_scripts_run_around_the_second_generate_ac_and_report_their_result() -> None:
    card = _card()
    chip = ChipSession(card)
    icc = chip.first_ac(500, 0x60, DATA)
    bad_put_data = CommandApdu(0x04, 0xDA, 0x9F, 0x79, bytes(6) + bytes(4)).encode()
    script = encode([Tlv(0x9F18, bytes.fromhex("00000007")), Tlv(0x86, bad_put_data)])
    answer = {0x91: _arpc(card, icc, b"00"), 0x72: script}
    assert chip.complete("00", answer) is True
    steps = chip._term.trace.steps  # type: ignore[union-attr]
    assert [c[:2].hex() for c, _ in steps[-3:]] == ["0082", "80ae", "04da"]  # 72: after GEN AC
    assert steps[-1][1] == 0x6988  # the MAC is wrong: the card refuses
    assert chip.script_results == [bytes.fromhex("1100000007")]  # failed at command 1, id 7


def test_a_card_without_an_application_of_ours_is_refused() -> None:
    card = _card()
    card.image.pse_fci = None
    for app in card.image.applications:
        app.aid = bytes.fromhex("A000000004101001")
    try:
        ChipSession(card).facts()
    except CardRefusedError as exc:
        assert "no application" in str(exc)
    else:
        raise AssertionError("a foreign card was read")

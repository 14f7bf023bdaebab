"""Status words of each command, sequencing, blocking, scripts, ATC."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.image.model import CardImage
from zhifu.card.issuing import IssuerKeys, issue_card
from zhifu.card.profile import load_profile
from zhifu.card.scripted import Terminal, terminal_values
from zhifu.codec import tlv
from zhifu.crypto import emv
from zhifu.crypto.cipher import Cipher

TODAY = date(2026, 11, 25)
PAN = "6228000000000011"
SELECT_DEBIT = "00A4040008A00000033301010100"
REF_PDOL_DATA = "0156" + "00" + "000000001000" + "0156" + "00" * 20
GPO_REF = "80A8000021831F" + REF_PDOL_DATA + "00"
SELECT_PSE = "00A404000E315041592E5359532E444446303100"
SELECT_PSE_NEXT = "00A404020E315041592E5359532E444446303100"
SELECT_PPSE = "00A404000E325041592E5359532E444446303100"
SELECT_PPSE_NEXT = "00A404020E325041592E5359532E444446303100"
SRC = str(Path(__file__).resolve().parents[3] / "src")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> CardImage:
    return issue_card("pboc-reference", None, None, today=TODAY)


def _run(image: CardImage, apdus: list[str]) -> list[str]:
    card = EmulatedCard(CardImage.from_json(image.to_json()), interface="contact")
    return [card.transmit(bytes.fromhex(a)).hex().upper() for a in apdus]


@pytest.mark.parametrize(
    ("apdus", "sw"),
    [
        (["00"], "6700"),  # shorter than a header
        (["00A40400"], "6700"),  # SELECT without a name
        (["00A4040008A000000333010101"], "9000"),  # case 3 is fine
        (["00A4040108A00000033301010100"], "6A86"),  # P2 01
        (["00A4000008A00000033301010100"], "6A86"),  # P1 00: select by FID
        (["00A4040005A00000099900"], "6A82"),  # unknown AID
        (["00A404000E325041592E5359532E444446303100"], "6A82"),  # PPSE on contact
        (["00A4040007A000000333010100"], "9000"),  # partial AID
        (["00A4040007A000000333010100", "00A4040207A000000333010100"], "6A82"),  # no next
        ([SELECT_PSE, SELECT_PSE_NEXT], "6A82"),  # one PSE: no next occurrence
        ([SELECT_PSE_NEXT], "9000"),  # nothing selected by that name yet: the first one
        ([SELECT_PSE, SELECT_PSE_NEXT, "00B2010C00"], "9000"),  # the PSE is still selected
        ([SELECT_DEBIT, SELECT_PSE_NEXT], "9000"),  # the last selection was by another name
        (["12CA9F7900"], "6E00"),  # unknown class
        (["80FF000000"], "6D00"),  # unknown instruction
        (["00CA9F7900"], "6E00"),  # GET DATA with class 00
        (["00DA9F790A000000001000AABBCCDD"], "6982"),  # PUT DATA without secure messaging
        (["80CA9F7900"], "6985"),  # nothing selected
        (["00B2010C00"], "6985"),
        ([SELECT_DEBIT, "00B2000C00"], "6A86"),  # record 0
        ([SELECT_DEBIT, "00B2010800"], "6A86"),  # P2 not SFI<<3|4
        ([SELECT_DEBIT, "00B2090C00"], "6A83"),  # SFI 1 has one record
        ([SELECT_DEBIT, "00B2014C00"], "6A82"),  # SFI 9 does not exist
        ([SELECT_DEBIT, "00B2015C00"], "6A83"),  # transaction log (SFI 11) still empty
        ([SELECT_DEBIT, "00B2010C05"], "6C2E"),  # Le too short: T=0 6Cxx
        ([SELECT_DEBIT, "80CA9F9900"], "6A88"),
        ([SELECT_DEBIT, "80CADF4F00"], "9000"),
        ([SELECT_DEBIT, "0084000004"], "6C08"),
        ([SELECT_DEBIT, "0084010008"], "6A86"),
        ([SELECT_DEBIT, "80A8000002830000"], "6700"),  # PDOL data too short
        ([SELECT_DEBIT, "80A800000A8308" + "00" * 8 + "00"], "6700"),
        ([SELECT_DEBIT, "80A8000021841F" + REF_PDOL_DATA + "00"], "6A80"),  # not tag 83
        ([SELECT_DEBIT, "80A8010021831F" + REF_PDOL_DATA + "00"], "6A86"),
        ([SELECT_DEBIT, GPO_REF, GPO_REF], "6985"),  # one GPO per transaction
        ([SELECT_DEBIT, "80AE8000" + "20" + "00" * 32 + "00"], "6985"),  # GENERATE AC before GPO
        ([SELECT_DEBIT, GPO_REF, "80AE8000" + "10" + "00" * 16 + "00"], "6700"),  # CDOL1 length
        ([SELECT_DEBIT, GPO_REF, "80AEC000" + "20" + "00" * 32 + "00"], "6A86"),
        ([SELECT_DEBIT, GPO_REF, "80AE8001" + "20" + "00" * 32 + "00"], "6A86"),
        ([SELECT_DEBIT, GPO_REF, "0082000008" + "00" * 8], "6985"),  # no ARQC yet
        ([SELECT_DEBIT, GPO_REF, "04DA9F790A000000001000AABBCCDD"], "6985"),  # no ARQC yet
        ([SELECT_DEBIT, "0020008008241234FFFFFFFF"], "6700"),
        ([SELECT_DEBIT, "0020008108241234FFFFFFFFFF"], "6A86"),
        ([SELECT_DEBIT, "0020008008041234FFFFFFFFFF"], "6A80"),  # not a format 2 block
        ([SELECT_DEBIT, "0020008808" + "00" * 8], "6985"),  # enciphered without challenge
        ([SELECT_DEBIT, "0088000004CAFEBABE00"], "9000"),
        ([SELECT_DEBIT, "0088000002CAFE00"], "6700"),  # DDOL 9F3704
        ([SELECT_DEBIT, "0088010004CAFEBABE00"], "6A86"),
    ],
)
def test_status_words(reference: CardImage, apdus: list[str], sw: str) -> None:
    assert _run(reference, apdus)[-1][-4:] == sw


def _transaction(card: EmulatedCard, sm: bool = False) -> Terminal:
    term = Terminal(card.transmit, terminal_values(500, sm=sm) | {0x8A: b"00"})
    fci, _ = term.select(card.image.applications[0].aid)
    pdol = tlv.find(tlv.decode(fci), 0x9F38)
    term.gpo(pdol.value if pdol else b"")
    term.read_afl()
    term.generate_ac(0x80, 0x8C)
    return term


def _script(term: Terminal, header: str, data: bytes = b"", mk_smi: bytes | None = None) -> int:
    cipher = Cipher.TDES
    if mk_smi is None:
        imk = IssuerKeys.test().imk["tdes"]
        mk_smi = emv.derive_icc_mk_a(cipher, imk.mk_smi, PAN, "01")
    atc, arqc = term.trace.atc, term.trace.arqc
    head = bytes.fromhex(header) + bytes([len(data) + 4])
    sk = emv.derive_pboc_session_key(cipher, mk_smi, atc)
    mac = emv.generate_script_mac(cipher, sk, head, atc=atc, arqc=arqc, data=data)
    return term.send(head[0], head[1], head[2], head[3], data + mac, le=None).sw


@pytest.fixture
def debit(tmp_path: Path) -> EmulatedCard:
    path = tmp_path / "debit.json"
    issue_card("debit", PAN, path, today=TODAY)
    return EmulatedCard.load(path)


def test_application_block_and_unblock(debit: EmulatedCard) -> None:
    term = _transaction(debit)
    assert _script(term, "841E0000") == 0x9000
    assert term.generate_ac(0x40, 0x8D).sw == 0x9000 and term.trace.cid2 == 0x00  # AAC
    debit.power_on()
    answer = debit.transmit(bytes.fromhex(SELECT_DEBIT))
    assert answer[-2:] == b"\x62\x83" and answer[0] == 0x6F  # FCI with 6283
    assert debit.transmit(bytes.fromhex("80A80000028300"))[-2:].hex() == "6985"
    debit.image.applications[0].state.blocked = False  # unblock needs an online transaction
    term = _transaction(debit)
    assert _script(term, "841E0000") == 0x9000
    assert _script(term, "84180000") == 0x9000
    debit.power_on()
    assert debit.transmit(bytes.fromhex(SELECT_DEBIT))[-2:] == b"\x90\x00"


def test_card_block(debit: EmulatedCard, tmp_path: Path) -> None:
    term = _transaction(debit)
    assert _script(term, "84160000") == 0x9000
    assert term.generate_ac(0x40, 0x8D).sw == 0x9000 and term.trace.cid2 == 0x00
    reloaded = EmulatedCard.load(tmp_path / "debit.json")
    for apdu in (SELECT_DEBIT, "00A404000E315041592E5359532E444446303100", "80CA9F7900"):
        assert reloaded.transmit(bytes.fromhex(apdu)).hex() == "6a81"


def test_update_record_script(debit: EmulatedCard) -> None:
    term = _transaction(debit)
    record = bytes.fromhex("70089F1401059F230109")
    assert _script(term, "04DC0124", record) == 0x9000  # SFI 4 record 1: LCOL 5, UCOL 9
    assert _script(term, "04DC0924", record) == 0x6A83
    assert _script(term, "04DC014C", record) == 0x6A82
    assert _script(term, "04DC0124", bytes.fromhex("6F00")) == 0x6A80
    assert _script(term, "04DC0120", record) == 0x6A86
    assert debit.transmit(bytes.fromhex("00B2012400"))[:-2] == record
    assert debit.image.applications[0].internal(0x9F14) == b"\x05"


def test_external_authenticate_failure_gives_6300_then_aac(debit: EmulatedCard) -> None:
    term = _transaction(debit)
    assert term.send(0x00, 0x82, 0x00, 0x00, bytes(8) + b"00", le=None).sw == 0x6300
    assert term.send(0x00, 0x82, 0x00, 0x00, bytes(8) + b"00", le=None).sw == 0x6985  # once
    assert term.generate_ac(0x40, 0x8D).sw == 0x9000 and term.trace.cid2 == 0x00
    assert debit.image.applications[0].state.issuer_auth_failed
    next_one = _transaction(debit)  # the CVR tells the issuer: last issuer auth failed
    assert next_one.trace.iad[5] & 0x08


@pytest.mark.parametrize(
    ("arc", "cid"), [(b"00", 0x40), (b"05", 0x00), (b"Y3", 0x40), (b"Z3", 0x00)]
)
def test_second_generate_ac_follows_the_arc(debit: EmulatedCard, arc: bytes, cid: int) -> None:
    term = _transaction(debit)
    term.values[0x8A] = arc
    assert term.generate_ac(0x40, 0x8D).sw == 0x9000 and term.trace.cid2 == cid
    assert term.trace.iad[4] & 0x01 == (arc in (b"Y3", b"Z3"))  # unable to go online


def test_offline_velocity_goes_online_at_lcol(debit: EmulatedCard) -> None:
    cids = []
    for _ in range(4):
        debit.power_on()
        term = Terminal(debit.transmit, terminal_values(100))
        fci, _ = term.select(debit.image.applications[0].aid)
        pdol = tlv.find(tlv.decode(fci), 0x9F38)
        term.gpo(pdol.value if pdol else b"")
        term.read_afl()
        term.generate_ac(0x40, 0x8C)
        cids.append(term.trace.cid1)
    assert cids == [0x40, 0x40, 0x40, 0x80]  # LCOL 9F14 = 3


def test_incomplete_online_transaction_is_reported(debit: EmulatedCard) -> None:
    _transaction(debit)  # ARQC, then the card is pulled: no second GENERATE AC
    debit.power_on()
    term = _transaction(debit)
    assert term.trace.iad[5] & 0x80  # CVR: last online transaction not completed


def test_atc_is_never_reused_after_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    issue_card("debit", PAN, path, today=TODAY)
    code = (
        "import sys, os\n"
        "from zhifu.card.icc.emulated import EmulatedCard\n"
        "from zhifu.card.scripted import contact_transaction\n"
        "card = EmulatedCard.load(sys.argv[1])\n"
        "trace = contact_transaction(card.transmit, amount=100)\n"
        "print(trace.atc.hex())\n"
        "os._exit(0)  # crash: no save, no clean-up\n"
    )
    seen = []
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", code, str(path)],
            capture_output=True,
            text=True,
            check=True,
            env=os.environ | {"PYTHONPATH": SRC},
            timeout=60,
        )
        seen.append(int(done.stdout.strip(), 16))
    card = EmulatedCard.load(path)  # discarded object after transmit: same thing in-process
    term = _transaction(card)
    del card
    seen.append(int(term.trace.atc.hex(), 16))
    seen.append(EmulatedCard.load(path).image.applications[0].state.atc + 1)
    assert seen == [1, 2, 3, 4, 5]


def test_a_failed_write_answers_6581_and_forgets(
    debit: EmulatedCard, monkeypatch: pytest.MonkeyPatch
) -> None:
    debit.transmit(bytes.fromhex(SELECT_DEBIT))

    def broken(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    answer = debit.transmit(bytes.fromhex("0020008008249999FFFFFFFFFF"))
    assert answer.hex() == "6581"
    assert debit.image.applications[0].state.pin_tries == 3  # reloaded from the file


def test_gpo_refuses_when_the_atc_is_exhausted(debit: EmulatedCard) -> None:
    debit.image.applications[0].state.atc = 0xFFFF
    debit.transmit(bytes.fromhex(SELECT_DEBIT))
    pdol_data = "0156" + "00" + "000000001000" + "0156" + "00"
    assert debit.transmit(bytes.fromhex("80A800000E830C" + pdol_data + "00")).hex() == "6985"


def test_interfaces(tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    issue_card("debit", PAN, path, today=TODAY)
    contactless = EmulatedCard.load(path, interface="contactless")
    assert (
        contactless.transmit(bytes.fromhex("00A404000E315041592E5359532E444446303100")).hex()
        == "6a82"
    )
    ppse = contactless.transmit(bytes.fromhex("00A404000E325041592E5359532E444446303100"))
    assert ppse[-2:] == b"\x90\x00"
    fci = contactless.transmit(bytes.fromhex(SELECT_DEBIT))
    pdol = tlv.find(tlv.decode(fci[:-2]), 0x9F38)
    assert pdol is not None and pdol.value.startswith(bytes.fromhex("9F6604"))
    auto = EmulatedCard.load(path)
    auto.transmit(bytes.fromhex("00A404000E325041592E5359532E444446303100"))
    assert auto.session.interface == "contactless"


def test_select_next_occurrence_ends_with_6a82(tmp_path: Path) -> None:
    """Partial AID A0000003330101 over two applications, then the PSE and the PPSE."""
    first = load_profile("debit")["applications"][0]
    second = json.loads(json.dumps(first)) | {"aid": "A000000333010106"}
    path = tmp_path / "two.json"
    profile = {"format": "zhifu-card-profile/1", "extends": "debit"}
    path.write_text(json.dumps(profile | {"applications": [first, second]}))
    image = issue_card(path, PAN, None, today=TODAY)
    card = EmulatedCard(image, interface="contact")
    answers = [
        card.transmit(bytes.fromhex(apdu))
        for apdu in (
            "00A4040007A000000333010100",
            "00A4040207A000000333010100",
            "00A4040207A000000333010100",
            "80CA9F7900",
        )
    ]
    assert bytes.fromhex("A000000333010101") in answers[0] and answers[0][-2:] == b"\x90\x00"
    assert bytes.fromhex("A000000333010106") in answers[1] and answers[1][-2:] == b"\x90\x00"
    assert answers[2] == b"\x6a\x82"  # no third one: 6A82, and nothing else changes
    assert card.session.app is image.applications[1] and answers[3][-2:] == b"\x90\x00"
    assert card.transmit(bytes.fromhex(SELECT_PSE))[-2:] == b"\x90\x00"
    assert card.transmit(bytes.fromhex(SELECT_PSE_NEXT)) == b"\x6a\x82"
    assert card.session.directory == "pse"
    contactless = EmulatedCard(image, interface="contactless")
    assert contactless.transmit(bytes.fromhex(SELECT_PPSE))[-2:] == b"\x90\x00"
    assert contactless.transmit(bytes.fromhex(SELECT_PPSE_NEXT)) == b"\x6a\x82"
    assert contactless.session.directory == "ppse"

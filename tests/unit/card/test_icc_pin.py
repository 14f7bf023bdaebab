"""The offline PIN try counter (63Cx, 6983) survives a restart of the process;
enciphered PIN (GET CHALLENGE + ICC key, RSA and SM2); PIN CHANGE/UNBLOCK scripts."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from zhifu.card import personalise
from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.issuing import IssuerKeys, issue_card
from zhifu.card.scripted import Terminal, terminal_values
from zhifu.codec import tlv
from zhifu.crypto import emv
from zhifu.crypto.cipher import Cipher
from zhifu.crypto.sm2 import Sm2PublicKey

TODAY = date(2026, 11, 25)
PAN = "6228000000000011"
SELECT = bytes.fromhex("00A4040008A00000033301010100")
GOOD = bytes.fromhex("0020008008241234FFFFFFFFFF")
WRONG = bytes.fromhex("0020008008249999FFFFFFFFFF")
SRC = str(Path(__file__).resolve().parents[3] / "src")


def _sw(response: bytes) -> str:
    return response[-2:].hex().upper()


@pytest.fixture
def card_path(tmp_path: Path) -> Path:
    path = tmp_path / "card.json"
    issue_card("pboc-reference", None, path, today=TODAY)
    return path


def test_pin_try_counter_falls_then_blocks(card_path: Path) -> None:
    card = EmulatedCard.load(card_path)
    card.transmit(SELECT)
    assert [_sw(card.transmit(WRONG)) for _ in range(3)] == ["63C2", "63C1", "63C0"]
    assert _sw(card.transmit(WRONG)) == "6983"
    assert _sw(card.transmit(GOOD)) == "6983"  # blocked: even the right PIN
    assert card.transmit(bytes.fromhex("80CA9F1700")).hex().upper() == "9F17010090" + "00"


def test_right_pin_restores_the_counter(card_path: Path) -> None:
    card = EmulatedCard.load(card_path)
    card.transmit(SELECT)
    assert _sw(card.transmit(WRONG)) == "63C2"
    assert _sw(card.transmit(GOOD)) == "9000"
    assert EmulatedCard.load(card_path).image.applications[0].state.pin_tries == 3


def _in_new_process(card_path: Path, apdus: list[bytes]) -> list[str]:
    code = (
        "import sys\n"
        "from zhifu.card.icc.emulated import EmulatedCard\n"
        "card = EmulatedCard.load(sys.argv[1])\n"
        "for hex_apdu in sys.argv[2:]:\n"
        "    print(card.transmit(bytes.fromhex(hex_apdu)).hex().upper())\n"
        "import os; os._exit(0)  # no clean shutdown: what is saved is what was committed\n"
    )
    env = os.environ | {"PYTHONPATH": SRC}
    done = subprocess.run(
        [sys.executable, "-c", code, str(card_path), *(a.hex() for a in apdus)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    return [line[-4:] for line in done.stdout.split()]


def test_pin_try_counter_survives_a_restart(card_path: Path) -> None:
    assert _in_new_process(card_path, [SELECT, WRONG, WRONG]) == ["9000", "63C2", "63C1"]
    assert EmulatedCard.load(card_path).image.applications[0].state.pin_tries == 1
    assert _in_new_process(card_path, [SELECT, WRONG]) == ["9000", "63C0"]
    assert _in_new_process(card_path, [SELECT, GOOD]) == ["9000", "6983"]


@pytest.mark.parametrize(
    ("profile", "sm"), [("pboc-reference", False), ("debit", False), ("debit", True)]
)
def test_enciphered_pin(tmp_path: Path, profile: str, sm: bool) -> None:
    path = tmp_path / "card.json"
    issue_card(profile, None if profile == "pboc-reference" else PAN, path, today=TODAY)
    card = EmulatedCard.load(path)
    term = Terminal(card.transmit, terminal_values(100, sm=sm))
    fci, _ = term.select(card.image.applications[0].aid)
    pdol = tlv.find(tlv.decode(fci), 0x9F38)
    assert term.gpo(pdol.value if pdol else b"").sw == 0x9000
    key = personalise.icc_public_key(card.image.applications[0], sm)
    assert key is not None

    def verify_enciphered(block: str) -> int:
        challenge = term.send(0x00, 0x84, 0x00, 0x00, le=8)
        assert challenge.sw == 0x9000 and len(challenge.data) == 8
        data = personalise.encipher_pin(key, bytes.fromhex(block), challenge.data)
        return term.send(0x00, 0x20, 0x00, 0x88, data, le=None).sw

    assert verify_enciphered("249999FFFFFFFFFF") == 0x63C2
    assert verify_enciphered("241234FFFFFFFFFF") == 0x9000
    length = 114 if isinstance(key, Sm2PublicKey) else key.size
    assert term.send(0x00, 0x20, 0x00, 0x88, bytes(length), le=None).sw == 0x6985  # no challenge
    stale = personalise.encipher_pin(key, bytes.fromhex("241234FFFFFFFFFF"), bytes(8))
    term.send(0x00, 0x84, 0x00, 0x00, le=8)
    assert term.send(0x00, 0x20, 0x00, 0x88, stale, le=None).sw == 0x6A80  # wrong ICC UN


@pytest.mark.parametrize("sm", [False, True])
def test_pin_change_and_unblock_scripts(tmp_path: Path, sm: bool) -> None:
    path = tmp_path / "card.json"
    issue_card("pin-blocked", PAN, path, today=TODAY)
    card = EmulatedCard.load(path)
    cipher = Cipher.SM4 if sm else Cipher.TDES
    imk = IssuerKeys.test().imk["sm4" if sm else "tdes"]
    mk_smi, mk_smc = (emv.derive_icc_mk_a(cipher, k, PAN, "01") for k in (imk.mk_smi, imk.mk_smc))
    term = Terminal(card.transmit, terminal_values(0, sm=sm))
    fci, _ = term.select(card.image.applications[0].aid)
    assert (
        term.send(0x00, 0x20, 0x00, 0x80, bytes.fromhex("241234FFFFFFFFFF"), le=None).sw == 0x6983
    )
    pdol = tlv.find(tlv.decode(fci), 0x9F38)
    term.gpo(pdol.value if pdol else b"")
    term.read_afl()
    assert term.generate_ac(0x40, 0x8C).sw == 0x9000 and term.trace.cid1 == 0x80  # PIN blocked
    atc, arqc = term.trace.atc, term.trace.arqc

    def script(p2: int, data: bytes) -> int:
        sk = emv.derive_pboc_session_key(cipher, mk_smi, atc)
        head = bytes([0x84, 0x24, 0x00, p2, len(data) + 4])
        mac = emv.generate_script_mac(cipher, sk, head, atc=atc, arqc=arqc, data=data)
        return term.send(0x84, 0x24, 0x00, p2, data + mac, le=None).sw

    assert script(0x00, b"") == 0x9000  # PIN UNBLOCK
    sk_smc = emv.derive_pboc_session_key(cipher, mk_smc, atc)
    new_block = emv.encrypt_script_data(cipher, sk_smc, emv.pad_pin_for_script("654321"))
    assert script(0x01, new_block) == 0x9000  # PIN CHANGE
    assert script(0x02, new_block) == 0x6A86
    assert script(0x01, bytes(16)) == 0x6A80
    assert (
        term.send(0x00, 0x20, 0x00, 0x80, bytes.fromhex("26654321FFFFFFFF"), le=None).sw == 0x9000
    )
    assert (
        term.send(0x00, 0x20, 0x00, 0x80, bytes.fromhex("241234FFFFFFFFFF"), le=None).sw == 0x63C2
    )
    assert EmulatedCard.load(path).image.applications[0].pin_block == bytes.fromhex(
        "26654321FFFFFFFF"
    )

"""MAC scope (docs/standards/iso8583-cup.md §6.2): real MACs recomputed from the MTI to field 63."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zhifu.core.errors import DecodeError, EncodeError
from zhifu.crypto.cipher import Cipher, encrypt_ecb, xor
from zhifu.crypto.kcv import kcv
from zhifu.crypto.mac import mac_cup_ecb, mac_x9_19
from zhifu.iso8583 import mac
from zhifu.iso8583.codec import decode, decode_frame
from zhifu.iso8583.framing import MESSAGE_OFFSET
from zhifu.iso8583.message import Message
from zhifu.security.hsm.data import MacAlgorithm
from zhifu.security.hsm.keys import KeyComponent
from zhifu.security.hsm.soft import KeyStore, SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "iso8583"
MAC_VECTORS = json.loads((VECTORS / "mac_vectors.json").read_text(encoding="utf-8"))["vectors"]


def _bytes_of(name: str) -> bytes:
    text = (VECTORS / f"{name}.hex").read_text(encoding="utf-8")
    return bytes.fromhex("".join(line for line in text.splitlines() if not line.startswith("#")))


def _message_bytes(name: str) -> bytes:
    data = _bytes_of(name)
    form = json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))["form"]
    return data[MESSAGE_OFFSET:] if form == "frame" else data


@pytest.mark.parametrize("vector", MAC_VECTORS, ids=[v["id"] for v in MAC_VECTORS])
def test_real_macs(vector: dict[str, str]) -> None:
    key = bytes.fromhex(vector["key"])
    cipher = Cipher.parse(vector["cipher"])
    message = _message_bytes(vector["message"])
    mac_fn = lambda mab: mac_cup_ecb(cipher, key, mab)  # noqa: E731
    assert mac.mac_block(message) == message[:-8]
    assert message[-8:] == vector["mac"].encode("ascii")
    assert mac.verify(message, mac_fn)
    decoded = decode(message)
    assert mac.sign(decoded, mac_fn) == message
    assert mac.mac_of(decoded.replace({"64": None}), mac_fn) == message[-8:]
    assert mac.sign_message(decoded.replace({"64": None}), mac_fn) == decoded


def test_mac_scope_excludes_length_tpdu_and_header() -> None:
    """Only the range from the MTI reproduces M1 (docs/standards/iso8583-cup.md §6.2: offsets 2/7/15
    fail)."""
    data = _bytes_of("t05_go_log_0200_qr_sale")
    key = bytes.fromhex("dab36167e6dfb5ef")
    results = {start: mac_cup_ecb(Cipher.DES, key, data[start:-8]) for start in (2, 7, 13, 15)}
    assert [start for start, value in results.items() if value == data[-8:]] == [13]


def test_verify_rejects_a_changed_message() -> None:
    frame, message = decode_frame(_bytes_of("t15_bl3_0200_qr"))
    key = bytes.fromhex("0723C80DB5F4CD3D0723C80DB5F4CD3D")
    mac_fn = lambda mab: mac_cup_ecb(Cipher.TDES, key, mab)  # noqa: E731
    tampered = mac.sign(message.replace({"4": "000000009999"}), lambda mab: bytes(8))
    assert not mac.verify(tampered, mac_fn)
    assert mac.verify(frame.message, mac_fn)


def test_k1_single_length_mak_equals_double_length_k_k() -> None:
    """docs/standards/iso8583-cup.md §6.3: a single-DES MAK loaded as K||K into 3DES gives the same
    MAC (M1)."""
    message = _message_bytes("t05_go_log_0200_qr_sale")
    key = bytes.fromhex("dab36167e6dfb5ef")
    assert mac_cup_ecb(Cipher.TDES, key + key, message[:-8]) == message[-8:]


def test_which_messages_carry_a_mac() -> None:
    assert mac.carries_mac("0200") and mac.carries_mac("0410")
    assert mac.carries_mac("0800") is False and mac.carries_mac("0510") is False
    assert mac.carries_mac("0320") is None and mac.carries_mac("9999") is None
    for mti, carried in mac.MAC_MESSAGES.items():
        assert len(mti) == 4 and mti.isdigit()
        if carried is not None:
            response = f"{mti[:2]}{int(mti[2]) | 1}{mti[3]}"
            assert mac.MAC_MESSAGES.get(response) == carried, mti


def test_mac_block_errors() -> None:
    with pytest.raises(DecodeError):
        mac.mac_block(bytes(12))
    with pytest.raises(DecodeError, match="field 64"):
        mac.mac_block(bytes.fromhex("02002000000000000000000000") + bytes(8))
    with pytest.raises(EncodeError):
        mac.sign(Message("0200", {"3": "000000"}), lambda mab: b"short")


def test_x9_19_mac_function() -> None:
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    signed = mac.sign(Message("0200", {"3": "000000"}), lambda mab: mac_x9_19(key, mab))
    assert signed[-8:] == mac_x9_19(key, signed[:-8])


def test_mac_through_the_security_module() -> None:
    """The host computes the M1 MAC inside SoftHsm with the MAK formed from two components."""
    hsm = SoftHsm(KeyStore.in_memory())
    key = bytes.fromhex("dab36167e6dfb5ef")
    other = bytes.fromhex("0123456789abcdef")
    parts = [bytes(a ^ b for a, b in zip(key, other, strict=True)), other]
    components = [KeyComponent.from_hex(p.hex(), kcv(Cipher.DES, p).hex()) for p in parts]
    mak = hsm.form_key_from_components(components, KeyUsage.MAC, KeyAlgorithm.DES)
    message = _message_bytes("t05_go_log_0200_qr_sale")
    mac_fn = mac.hsm_mac_fn(hsm, mak, MacAlgorithm.CUP_ECB)
    assert mac.verify(message, mac_fn)
    assert mac.sign(decode(message), mac_fn) == message


def test_m3_intermediate_values() -> None:
    """The blog's worked steps: XOR of the 8-byte blocks, its hex, ENC1, XOR, ENC2."""
    mab = mac.mac_block(_message_bytes("x07_blog_0830_capk_query"))
    key = bytes.fromhex("55036372B17543ECB173730768B8D6C4")
    padded = mab + bytes(-len(mab) % 8)
    folded = bytes(8)
    for start in range(0, len(padded), 8):
        folded = xor(folded, padded[start : start + 8])
    assert folded.hex().upper() == "1212B04E1227809C"
    text = folded.hex().upper().encode("ascii")
    enc1 = encrypt_ecb(Cipher.TDES, key, text[:8])
    assert enc1.hex().upper() == "8B29461A844BA5EC"
    assert xor(enc1, text[8:]).hex().upper() == "BA1B742DBC7B9CAF"
    enc2 = encrypt_ecb(Cipher.TDES, key, xor(enc1, text[8:]))
    assert enc2.hex().upper() == "5FE058DB90680D33"

"""PIN operations: encipher, translate between keys and formats, PIN verification values.

The target keys are formed from known components, so each result is deciphered and decoded in
the test with zhifu.crypto (ISO 9564-1 formats 0, 3, 4) independently of the module."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zhifu.core.errors import UsageError
from zhifu.crypto import pinblock
from zhifu.crypto.cipher import Cipher, decrypt_ecb, encrypt_ecb
from zhifu.crypto.hashes import Hash, hmac
from zhifu.security.errors import KeyUsageError, PinBlockError
from zhifu.security.hsm.soft import PinBlockFormat, SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyUsage
from zhifu.security.secrets import Pan, Pin, PinBlock

KnownKey = Callable[..., KeyHandle]

TPK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")  # 3DES, docs/standards/card-terminal.md T15
ZPK_TDES = bytes.fromhex("1C1C1C1C1C1C1C1C0101010101010101")
ZPK_SM4 = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
ZPK_AES = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
PVK = bytes.fromhex("F0E1D2C3B4A5968778695A4B3C2D1E0F")
PAN = "6225881234566789"
PIN = "987123"
F0, F1, F3, F4 = (
    PinBlockFormat.ISO_0,
    PinBlockFormat.ISO_1,
    PinBlockFormat.ISO_3,
    PinBlockFormat.ISO_4,
)


def _terminal_block(pin: str = PIN, pan: str = PAN) -> bytes:
    """What a PIN pad sends: format 0 enciphered under the TPK (docs/standards/card-terminal.md
    §2.7)."""
    return encrypt_ecb(Cipher.TDES, TPK, pinblock.encode_pinblock_iso_0(pin, pan))


@pytest.fixture
def tpk(known_key: KnownKey) -> KeyHandle:
    return known_key(KeyUsage.PIN, KeyAlgorithm.TDES, TPK)


def test_translate_tdes_format_0_to_tdes_format_3(
    hsm: SoftHsm, known_key: KnownKey, tpk: KeyHandle
) -> None:
    zpk = known_key(KeyUsage.PIN, KeyAlgorithm.TDES, ZPK_TDES)
    out = hsm.translate_pin_block(
        _terminal_block(), source_key=tpk, source_format=F0, target_key=zpk,
        target_format=F3, pan=Pan(PAN),
    )  # fmt: skip
    assert isinstance(out, PinBlock)
    clear = decrypt_ecb(Cipher.TDES, ZPK_TDES, out.reveal())
    assert clear[0] >> 4 == 3
    assert pinblock.decode_pinblock_iso_3(clear, PAN) == PIN


def test_translate_to_sm4_pads_with_ff(hsm: SoftHsm, known_key: KnownKey, tpk: KeyHandle) -> None:
    zpk = known_key(KeyUsage.PIN, KeyAlgorithm.SM4, ZPK_SM4)
    out = hsm.translate_pin_block(
        _terminal_block(), source_key=tpk, source_format=F0, target_key=zpk,
        target_format=F0, pan=PAN,
    )  # fmt: skip
    clear = decrypt_ecb(Cipher.SM4, ZPK_SM4, out.reveal())
    assert len(out) == 16
    assert clear[8:] == b"\xff" * 8
    assert pinblock.decode_pinblock_iso_0(clear[:8], PAN) == PIN
    # and back from SM4 to 3DES
    back = hsm.translate_pin_block(
        out, source_key=zpk, source_format=F0, target_key=tpk, target_format=F0, pan=PAN
    )
    assert back.reveal() == _terminal_block()


def test_translate_to_and_from_format_4(hsm: SoftHsm, known_key: KnownKey, tpk: KeyHandle) -> None:
    zpk = known_key(KeyUsage.PIN, KeyAlgorithm.AES, ZPK_AES)
    out = hsm.translate_pin_block(
        _terminal_block(), source_key=tpk, source_format=F0, target_key=zpk,
        target_format=F4, pan=PAN,
    )  # fmt: skip
    assert pinblock.decipher_pinblock_iso_4(ZPK_AES, out.reveal(), PAN) == PIN
    back = hsm.translate_pin_block(
        out, source_key=zpk, source_format=F4, target_key=tpk, target_format=F0, pan=PAN
    )
    assert back.reveal() == _terminal_block()


def test_format_1_may_become_format_0_but_not_back(hsm: SoftHsm, tpk: KeyHandle) -> None:
    block_1 = encrypt_ecb(Cipher.TDES, TPK, pinblock.encode_pinblock_iso_1(PIN))
    out = hsm.translate_pin_block(
        block_1, source_key=tpk, source_format=F1, target_key=tpk, target_format=F0, pan=PAN
    )
    assert out.reveal() == _terminal_block()
    with pytest.raises(UsageError, match="PCI PIN 3-3") as info:
        hsm.translate_pin_block(
            out, source_key=tpk, source_format=F0, target_key=tpk, target_format=F1, pan=PAN
        )
    assert info.value.argument == "target_format"


def test_key_and_format_must_fit(hsm: SoftHsm, known_key: KnownKey, tpk: KeyHandle) -> None:
    aes = known_key(KeyUsage.PIN, KeyAlgorithm.AES, ZPK_AES)
    with pytest.raises(KeyUsageError, match="AES \\(PIN block format 4\\)"):
        hsm.translate_pin_block(
            _terminal_block(), source_key=tpk, source_format=F0, target_key=tpk,
            target_format=F4, pan=PAN,
        )  # fmt: skip
    with pytest.raises(KeyUsageError, match="DES, TDES or SM4"):
        hsm.translate_pin_block(
            _terminal_block(), source_key=tpk, source_format=F0, target_key=aes,
            target_format=F0, pan=PAN,
        )  # fmt: skip
    with pytest.raises(UsageError, match="8 bytes, not 16") as info:
        hsm.translate_pin_block(
            bytes(16), source_key=tpk, source_format=F0, target_key=tpk, target_format=F0, pan=PAN
        )
    assert info.value.argument == "block"
    with pytest.raises(UsageError, match="needs the PAN"):
        hsm.translate_pin_block(
            _terminal_block(), source_key=tpk, source_format=F0, target_key=tpk,
            target_format=F3, pan=None,
        )  # fmt: skip


@pytest.mark.parametrize("what", ["key", "pan", "format"])
def test_undecodable_block_is_a_pin_block_error(
    hsm: SoftHsm, known_key: KnownKey, tpk: KeyHandle, what: str
) -> None:
    other = known_key(KeyUsage.PIN, KeyAlgorithm.TDES, ZPK_TDES)
    source = other if what == "key" else tpk
    pan = "6225881234560000" if what == "pan" else PAN
    fmt = F3 if what == "format" else F0
    with pytest.raises(PinBlockError) as info:
        hsm.translate_pin_block(
            _terminal_block(), source_key=source, source_format=fmt, target_key=tpk,
            target_format=F0, pan=pan,
        )  # fmt: skip
    message = str(info.value) + repr(info.value)
    assert PIN not in message
    assert PAN not in message
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_encrypt_pin_block_for_the_pin_pad(hsm: SoftHsm, tpk: KeyHandle) -> None:
    block = hsm.encrypt_pin_block(Pin(PIN), tpk, PAN)
    assert block.reveal() == _terminal_block()
    block_3 = hsm.encrypt_pin_block(Pin(PIN), tpk, PAN, format=F3)
    clear = decrypt_ecb(Cipher.TDES, TPK, block_3.reveal())
    assert pinblock.decode_pinblock_iso_3(clear, PAN) == PIN
    with pytest.raises(UsageError, match="Pin value"):
        hsm.encrypt_pin_block(PIN, tpk, PAN)  # type: ignore[arg-type]


def test_pin_verification_value(hsm: SoftHsm, known_key: KnownKey, tpk: KeyHandle) -> None:
    pvk = known_key(KeyUsage.PVK, KeyAlgorithm.AES, PVK)
    pvv = hsm.generate_pin_verification_value(_terminal_block(), tpk, pan=PAN, pvk=pvk)
    # zhifu's PVV: leftmost 8 bytes of HMAC-SM3(PVK, PAN || "|" || PIN), computed here apart.
    assert pvv == hmac(Hash.SM3, PVK, f"{PAN}|{PIN}".encode())[:8]
    assert hsm.verify_pin(_terminal_block(), tpk, pan=PAN, pvv=pvv, pvk=pvk)
    assert not hsm.verify_pin(_terminal_block("987124"), tpk, pan=PAN, pvv=pvv, pvk=pvk)
    other_card = "6225881234566797"
    assert not hsm.verify_pin(
        _terminal_block(PIN, other_card), tpk, pan=other_card, pvv=pvv, pvk=pvk
    )
    with pytest.raises(PinBlockError):
        hsm.verify_pin(bytes(8), tpk, pan=PAN, pvv=pvv, pvk=pvk)
    with pytest.raises(UsageError, match="8 bytes"):
        hsm.verify_pin(_terminal_block(), tpk, pan=PAN, pvv=pvv[:4], pvk=pvk)
    with pytest.raises(KeyUsageError, match="needs usage PVK"):
        hsm.verify_pin(_terminal_block(), tpk, pan=PAN, pvv=pvv, pvk=tpk)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pin=st.text(alphabet="0123456789", min_size=4, max_size=12),
    pan=st.text(alphabet="0123456789", min_size=13, max_size=19),
)
def test_translation_chain_keeps_the_pin(
    hsm: SoftHsm, known_key: KnownKey, tpk: KeyHandle, pin: str, pan: str
) -> None:
    sm4 = hsm.generate_key(KeyUsage.PIN, KeyAlgorithm.SM4)
    aes = hsm.generate_key(KeyUsage.PIN, KeyAlgorithm.AES)
    block = _terminal_block(pin, pan)
    step1 = hsm.translate_pin_block(
        block, source_key=tpk, source_format=F0, target_key=sm4, target_format=F3, pan=pan
    )
    step2 = hsm.translate_pin_block(
        step1, source_key=sm4, source_format=F3, target_key=aes, target_format=F4, pan=pan
    )
    step3 = hsm.translate_pin_block(
        step2, source_key=aes, source_format=F4, target_key=tpk, target_format=F0, pan=pan
    )
    assert step3.reveal() == block

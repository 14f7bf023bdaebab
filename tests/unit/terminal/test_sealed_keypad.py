"""The PIN pad's seal: digits from a keypad outside the module, each enciphered under a key of
that PIN entry; a wrong key, a replayed or reordered digit and a non-digit are refused; the block
is the one clear digits give."""

from __future__ import annotations

import pytest

from zhifu.security.hsm.pin import PinBlockFormat
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.security.secrets import Pin
from zhifu.security.store import KeyStore
from zhifu.terminal.sealed import KeypadSeal, SealError, seal_digit
from zhifu.terminal.secure import PinPad

PAN = "6228000100001117"


def test_sealed_digits_give_the_block_clear_digits_give() -> None:
    hsm = SoftHsm(KeyStore.in_memory())
    pik = hsm.generate_key(KeyUsage.PIN, KeyAlgorithm.TDES)
    pad = PinPad(hsm, pik, PAN)
    public = pad.seal.public_der()
    screens = [pad.press_sealed(seal_digit(public, n, d)) for n, d in enumerate("2468", 1)]
    assert screens == ["*", "**", "***", "****"]
    assert "2468" not in repr(pad) and "2468" not in repr(pad.seal)
    expected = hsm.encrypt_pin_block(Pin("2468"), pik, PAN, format=PinBlockFormat.ISO_0)
    assert pad.confirm() == expected.reveal().hex().upper()


def test_a_replayed_reordered_foreign_or_odd_digit_is_refused() -> None:
    seal, other = KeypadSeal(), KeypadSeal()
    first = seal_digit(seal.public_der(), 1, "5")
    assert seal.open(first) == "5"
    with pytest.raises(SealError, match="expected digit 2, got 1"):
        seal.open(first)
    with pytest.raises(SealError, match="expected digit 2, got 3"):
        seal.open(seal_digit(seal.public_der(), 3, "5"))
    with pytest.raises(SealError, match="not enciphered under this PIN entry's key"):
        seal.open(seal_digit(other.public_der(), 2, "5"))
    with pytest.raises(SealError, match="not a digit"):
        seal.open(seal_digit(seal.public_der(), 2, "x"))
    with pytest.raises(SealError, match="not enciphered"):
        seal.open(b"\x00" * 10)
    assert seal.opened == 1 and seal.key_id != other.key_id

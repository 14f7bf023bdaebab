"""ISO 9564-1 PIN blocks: published vectors, round trips, psec as reference, and refusals."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psec import pinblock as psec_pinblock

from zhifu.core.errors import UsageError
from zhifu.core.rng import SeededRandom
from zhifu.crypto.cipher import Cipher, decrypt_ecb, encrypt_ecb, xor
from zhifu.crypto.errors import CryptoError, InvalidKeyError
from zhifu.crypto.pinblock import (
    CLEAR_FORMATS,
    decipher_pinblock_iso_4,
    decode_pinblock,
    decode_pinblock_iso_0,
    decode_pinblock_iso_1,
    decode_pinblock_iso_2,
    decode_pinblock_iso_3,
    encipher_pinblock_iso_4,
    encode_pinblock,
    encode_pinblock_iso_0,
    encode_pinblock_iso_1,
    encode_pinblock_iso_2,
    encode_pinblock_iso_3,
)

AES_KEY = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
PINS = st.text(alphabet="0123456789", min_size=4, max_size=12)
PANS = st.text(alphabet="0123456789", min_size=13, max_size=19)
PANS_4 = st.text(alphabet="0123456789", min_size=1, max_size=19)
SEEDS = st.integers(min_value=0, max_value=2**32)
psec_warnings = pytest.mark.filterwarnings(
    "ignore::cryptography.utils.CryptographyDeprecationWarning"
)

# --- published vectors ----------------------------------------------------------------------

# (source, format, PIN, PAN or None, clear block)
CLEAR_VECTORS = [
    ("docs/standards/card-terminal.md T24 / ISO 9564-1 format 0", 0, "1234", "43219876543210987",
     "0412AC89ABCDEF67"),
    ("docs/standards/card-terminal.md T25", 0, "1234", "5432101234567891", "041215FEDCBA9876"),
    ("docs/standards/card-terminal.md T28 (clear block)", 0, "123456", "6225880123456789",
     "06126CD6EDCBA987"),
    ("psec doctest encode_pinblock_iso_0", 0, "1234", "5544332211009966", "041277CDDEEFF669"),
    ("docs/standards/card-terminal.md T26 / pyemv, psec doctest", 2, "123456789012", None,
     "2C123456789012FF"),
    ("psec doctest encode_pinblock_iso_2", 2, "1234", None, "241234FFFFFFFFFF"),
]  # fmt: skip


@pytest.mark.parametrize(("source", "fmt", "pin", "pan", "block"), CLEAR_VECTORS)
def test_clear_vectors_encode(source: str, fmt: int, pin: str, pan: str | None, block: str) -> None:
    assert encode_pinblock(fmt, pin, pan).hex().upper() == block, source


@pytest.mark.parametrize(("source", "fmt", "pin", "pan", "block"), CLEAR_VECTORS)
def test_clear_vectors_decode(source: str, fmt: int, pin: str, pan: str | None, block: str) -> None:
    assert decode_pinblock(fmt, bytes.fromhex(block), pan) == pin, source


def test_named_functions_match_the_dispatchers() -> None:
    assert encode_pinblock_iso_2("123456789012") == encode_pinblock(2, "123456789012")
    assert decode_pinblock_iso_2(bytes.fromhex("2C123456789012FF")) == "123456789012"
    assert encode_pinblock_iso_0(PIN, PAN) == encode_pinblock(0, PIN, PAN) == GOOD_0
    one = encode_pinblock_iso_1(PIN, SeededRandom(5))
    assert one == encode_pinblock(1, PIN, None, SeededRandom(5))
    assert encode_pinblock_iso_3(PIN, PAN, SeededRandom(5)) == encode_pinblock(
        3, PIN, PAN, SeededRandom(5)
    )


def test_format_3_decodes_the_psec_doctest_block() -> None:
    """psec doctest decode_pinblock_iso_3: random fill ``A``-``F``."""
    assert decode_pinblock_iso_3(bytes.fromhex("341277EEEFCCB43C"), "5544332211009966") == "1234"


def test_t27_format_4_decipher() -> None:
    """docs/standards/card-terminal.md T27 / psec doctest decipher_pinblock_iso_4."""
    block = bytes.fromhex("E4BE5B623AF7E006AC319E5B93544564")
    assert decipher_pinblock_iso_4(AES_KEY, block, "1234567890123456") == "1234"


def test_t28_field_52_under_double_length_pik() -> None:
    """docs/standards/card-terminal.md T28: format 0 then 3DES-ECB under the PIK = UnionPay field
    52."""
    pik = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    clear = encode_pinblock_iso_0("123456", "6225880123456789")
    field_52 = encrypt_ecb(Cipher.TDES, pik, clear)
    assert field_52.hex().upper() == "677B52BBD03DF776"
    assert decode_pinblock_iso_0(decrypt_ecb(Cipher.TDES, pik, field_52), "6225880123456789") == (
        "123456"
    )


# --- structure of the random formats --------------------------------------------------------


def test_format_1_fill_comes_from_the_random_source() -> None:
    one = encode_pinblock_iso_1("1234", SeededRandom(1))
    assert one == encode_pinblock_iso_1("1234", SeededRandom(1))
    assert one != encode_pinblock_iso_1("1234", SeededRandom(2))
    assert one.hex().upper().startswith("141234")


@settings(max_examples=200, deadline=None)
@given(PINS, PANS, SEEDS)
def test_format_3_fill_is_a_to_f(pin: str, pan: str, seed: int) -> None:
    block = encode_pinblock_iso_3(pin, pan, SeededRandom(seed))
    clear = xor(block, bytes.fromhex("0000" + pan[-13:-1])).hex().upper()
    assert clear[:2] == f"3{len(pin):X}"
    assert clear[2 : 2 + len(pin)] == pin
    assert set(clear[2 + len(pin) :]) <= set("ABCDEF")


@settings(max_examples=200, deadline=None)
@given(PINS, PANS_4, SEEDS)
def test_format_4_layout(pin: str, pan: str, seed: int) -> None:
    """PIN field ``4 L PIN A..A`` + the source's 8 bytes; PAN field ``M PAN 0..0``."""
    block = encipher_pinblock_iso_4(AES_KEY, pin, pan, SeededRandom(seed))
    block_b = decrypt_ecb(Cipher.AES, AES_KEY, block)
    pan_field = psec_pinblock.encode_pan_field_iso_4(pan)
    pin_field = decrypt_ecb(Cipher.AES, AES_KEY, xor(block_b, pan_field))
    assert pin_field[:8].hex().upper() == f"4{len(pin):X}{pin}".ljust(16, "A")
    assert pin_field[8:] == SeededRandom(seed).bytes(8)


def test_format_4_pan_field_length_indicator() -> None:
    """ISO 9564-1:2017: M = PAN length - 12; shorter PANs are left-padded with zeros, M = 0."""
    pin_field = bytes.fromhex("441234AAAAAAAAAA") + bytes(8)
    for pan, pan_field in [
        ("112233445566778899", "61122334455667788990000000000000"),  # psec doctest
        ("12345", "00000000123450000000000000000000"),
        ("123456789012", "01234567890120000000000000000000"),
    ]:
        block_a = encrypt_ecb(Cipher.AES, AES_KEY, pin_field)
        want = encrypt_ecb(Cipher.AES, AES_KEY, xor(block_a, bytes.fromhex(pan_field)))
        assert encipher_pinblock_iso_4(AES_KEY, "1234", pan, _ZeroRandom()) == want


class _ZeroRandom:
    def bytes(self, n: int) -> bytes:
        return bytes(n)

    def below(self, n: int) -> int:
        return 0


# --- round trips ----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CLEAR_FORMATS), PINS, PANS, SEEDS)
def test_clear_round_trip(fmt: int, pin: str, pan: str, seed: int) -> None:
    block = encode_pinblock(fmt, pin, pan, SeededRandom(seed))
    assert len(block) == 8
    assert decode_pinblock(fmt, block, pan) == pin


@settings(max_examples=200, deadline=None)
@given(PINS, PANS_4, st.sampled_from([16, 24, 32]), SEEDS)
def test_format_4_round_trip(pin: str, pan: str, key_size: int, seed: int) -> None:
    key = SeededRandom(seed).bytes(key_size)
    block = encipher_pinblock_iso_4(key, pin, pan, SeededRandom(seed + 1))
    assert len(block) == 16
    assert decipher_pinblock_iso_4(key, block, pan) == pin


def test_default_random_source_is_used() -> None:
    assert decode_pinblock_iso_1(encode_pinblock_iso_1("98765")) == "98765"
    assert decode_pinblock_iso_3(encode_pinblock_iso_3("98765", "6225880123456789"),
                                 "6225880123456789") == "98765"  # fmt: skip
    block = encipher_pinblock_iso_4(AES_KEY, "98765", "6225880123456789")
    assert decipher_pinblock_iso_4(AES_KEY, block, "6225880123456789") == "98765"


# --- differential against psec --------------------------------------------------------------


@psec_warnings
@settings(max_examples=200, deadline=None)
@given(PINS, PANS, SEEDS)
def test_differential_psec_formats_0_2_3(pin: str, pan: str, seed: int) -> None:
    assert encode_pinblock_iso_0(pin, pan) == psec_pinblock.encode_pinblock_iso_0(pin, pan)
    assert encode_pinblock_iso_2(pin) == psec_pinblock.encode_pinblock_iso_2(pin)
    ours_3 = encode_pinblock_iso_3(pin, pan, SeededRandom(seed))
    assert psec_pinblock.decode_pinblock_iso_3(ours_3, pan) == pin
    theirs_3 = psec_pinblock.encode_pinblock_iso_3(pin, pan)
    assert decode_pinblock_iso_3(theirs_3, pan) == pin
    assert psec_pinblock.decode_pinblock_iso_0(encode_pinblock_iso_0(pin, pan), pan) == pin


@psec_warnings
@settings(max_examples=200, deadline=None)
@given(PINS, PANS_4, st.sampled_from([16, 24, 32]), SEEDS)
def test_differential_psec_format_4(pin: str, pan: str, key_size: int, seed: int) -> None:
    key = SeededRandom(seed).bytes(key_size)
    ours = encipher_pinblock_iso_4(key, pin, pan, SeededRandom(seed))
    assert psec_pinblock.decipher_pinblock_iso_4(key, ours, pan) == pin
    theirs = psec_pinblock.encipher_pinblock_iso_4(key, pin, pan)
    assert decipher_pinblock_iso_4(key, theirs, pan) == pin


# --- refusals -------------------------------------------------------------------------------

PIN = "1234"
PAN = "43219876543210987"
GOOD_0 = bytes.fromhex("0412AC89ABCDEF67")  # T24


def _no_echo(err: BaseException, *secrets: str) -> None:
    text = (str(err) + repr(err)).upper()
    for secret in secrets:
        assert secret.upper() not in text


@pytest.mark.parametrize("pin", ["123", "1234567890123", "", "12a4", "12 34", " 1234", "١٢٣٤",
                                 "1234\n"])  # fmt: skip
@pytest.mark.parametrize("fmt", CLEAR_FORMATS)
def test_bad_pin_is_a_usage_error(fmt: int, pin: str) -> None:
    with pytest.raises(UsageError, match="4 to 12 decimal digits") as info:
        encode_pinblock(fmt, pin, PAN)
    assert info.value.argument == "pin"
    _no_echo(info.value, PAN, *([pin.strip()] if pin.strip() else []))


def test_bad_pin_format_4() -> None:
    with pytest.raises(UsageError) as info:
        encipher_pinblock_iso_4(AES_KEY, "123", PAN)
    assert info.value.argument == "pin"


def test_non_string_pin() -> None:
    with pytest.raises(UsageError):
        encode_pinblock_iso_2(1234)  # type: ignore[arg-type]


@pytest.mark.parametrize("pan", ["123456789012", "12345678901234567890", "4321987654321098X",
                                 "", "4321 987654321098"])  # fmt: skip
@pytest.mark.parametrize("fmt", [0, 3])
def test_bad_pan_is_a_usage_error(fmt: int, pan: str) -> None:
    with pytest.raises(UsageError, match="13 to 19 decimal digits") as info:
        encode_pinblock(fmt, PIN, pan)
    assert info.value.argument == "pan"
    with pytest.raises(UsageError) as info:
        decode_pinblock(fmt, GOOD_0, pan)
    assert info.value.argument == "pan"


@pytest.mark.parametrize("pan", ["", "12345678901234567890", "12345x"])
def test_bad_pan_format_4(pan: str) -> None:
    with pytest.raises(UsageError, match="1 to 19") as info:
        encipher_pinblock_iso_4(AES_KEY, PIN, pan)
    assert info.value.argument == "pan"


@pytest.mark.parametrize("fmt", [0, 3])
def test_missing_pan(fmt: int) -> None:
    with pytest.raises(UsageError, match="needs the PAN") as info:
        encode_pinblock(fmt, PIN)
    assert info.value.argument == "pan"
    with pytest.raises(UsageError, match="needs the PAN"):
        decode_pinblock(fmt, GOOD_0)


def test_wrong_pan_is_a_crypto_error() -> None:
    # Differs from PAN in the digits XORed onto the fill, so the fill no longer reads F.
    with pytest.raises(CryptoError, match="fill invalid") as info:
        decode_pinblock_iso_0(GOOD_0, "43219876543210007")
    _no_echo(info.value, PIN, GOOD_0.hex(), PAN, "43219876543210007")


@pytest.mark.parametrize(
    ("fmt", "block", "part"),
    [
        (0, "2C123456789012FF", "format"),  # a format 2 block read as format 0
        (2, "0412AC89ABCDEF67", "format"),
        (1, "041234FFFFFFFFFF", "format"),
        (3, "041234FFFFFFFFFF", "format"),
        (2, "231234FFFFFFFFFF", "length"),  # PIN length 3
        (2, "2D1234567890123F", "length"),  # PIN length 13
        (0, "001234FFFFFFFFFF", "length"),  # PIN length 0
        (2, "24123AFFFFFFFFFF", "digits"),
        (1, "1412B4FFFFFFFFFF", "digits"),
        (2, "241234FFFFFFFFFE", "fill"),
        (0, "041234FFFFFFFFFA", "fill"),
        (3, "341234FFFFFFFF09", "fill"),  # fill 0 and 9 are outside A-F
    ],
)
def test_bad_clear_block_is_a_crypto_error(fmt: int, block: str, part: str) -> None:
    zero_pan = "0" * 13  # its PAN field is all zeros, so formats 0 and 3 read the block as is
    with pytest.raises(CryptoError, match=f"PIN block {part} invalid") as info:
        decode_pinblock(fmt, bytes.fromhex(block), zero_pan)
    _no_echo(info.value, block, "1234")


@pytest.mark.parametrize("size", [0, 7, 9, 16])
@pytest.mark.parametrize("fmt", CLEAR_FORMATS)
def test_clear_block_of_wrong_size(fmt: int, size: int) -> None:
    with pytest.raises(UsageError, match="8 bytes") as info:
        decode_pinblock(fmt, bytes(size), PAN)
    assert info.value.argument == "block"


def test_format_4_block_of_wrong_size() -> None:
    with pytest.raises(UsageError, match="16 bytes") as info:
        decipher_pinblock_iso_4(AES_KEY, bytes(8), PAN)
    assert info.value.argument == "block"


def test_format_4_wrong_key_or_pan_is_a_crypto_error() -> None:
    block = encipher_pinblock_iso_4(AES_KEY, PIN, "1234567890123456", SeededRandom(0))
    with pytest.raises(CryptoError, match=r"PIN block \w+ invalid") as info:
        decipher_pinblock_iso_4(bytes(16), block, "1234567890123456")
    _no_echo(info.value, PIN, block.hex(), "1234567890123456")
    with pytest.raises(CryptoError):
        decipher_pinblock_iso_4(AES_KEY, block, "1234567890123457")


@pytest.mark.parametrize("size", [8, 15, 17])
def test_format_4_needs_an_aes_key(size: int) -> None:
    with pytest.raises(InvalidKeyError):
        encipher_pinblock_iso_4(bytes(size), PIN, PAN)


@pytest.mark.parametrize("fmt", [4, 5, -1, True, "0"])
def test_dispatchers_refuse_other_formats(fmt: object) -> None:
    for call in (
        lambda: encode_pinblock(fmt, PIN, PAN),  # type: ignore[arg-type]
        lambda: decode_pinblock(fmt, GOOD_0, PAN),  # type: ignore[arg-type]
    ):
        with pytest.raises(UsageError) as info:
            call()
        assert info.value.argument == "format"
        if fmt == 4:
            assert "key" in str(info.value)

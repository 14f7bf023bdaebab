"""Tests of zhifu.crypto.mac: ISO/IEC 9797-1, ANSI X9.9/X9.19, UnionPay ECB MAC, PBOC MAC."""

from __future__ import annotations

import pytest
from gmssl import sm4
from hypothesis import given, settings
from hypothesis import strategies as st
from psec import mac as psec_mac
from pyemv import mac as pyemv_mac

from zhifu.core.errors import UsageError
from zhifu.crypto.cipher import Cipher, decrypt_ecb, encrypt_cbc, encrypt_ecb, xor
from zhifu.crypto.errors import CryptoError, InvalidKeyError
from zhifu.crypto.mac import (
    Padding,
    mac_cup_ecb,
    mac_iso9797_1_alg_1,
    mac_iso9797_1_alg_3,
    mac_pboc,
    mac_x9_9,
    mac_x9_19,
    pad,
    pad_iso9797_1_method_1,
    pad_iso9797_1_method_2,
    unpad_iso9797_1_method_2,
)

H = bytes.fromhex
DES_KEY = H("0123456789ABCDEF")
TDES_KEY = H("0123456789ABCDEFFEDCBA9876543210")
NOW_ALL = b"Now is the time for all "  # 24 bytes, the classic FIPS 113 / X9.9 text

ignore_tdes_deprecation = pytest.mark.filterwarnings(
    "ignore::cryptography.utils.CryptographyDeprecationWarning"
)


# --------------------------------------------------------------------------- public vectors


@pytest.mark.parametrize(
    ("vector", "compute", "expected"),
    [
        ("T16 / ANSI X9.9", lambda: mac_x9_9(DES_KEY, NOW_ALL), "70A30640CC76DD8B"),
        ("T17 / ANSI X9.19", lambda: mac_x9_19(TDES_KEY, NOW_ALL), "A1C72E74EA3FA9B6"),
        (
            "T18 / ISO 9797-1 alg 3 pad 2",
            lambda: mac_iso9797_1_alg_3(TDES_KEY, NOW_ALL, Padding.METHOD_2),
            "E9086230CA3BE796",
        ),
        (
            "T19 / ISO 9797-1 alg 3 pad 1",
            lambda: mac_iso9797_1_alg_3(TDES_KEY, b"Now is the time for it"),
            "2E2B1428CC78254F",
        ),
        ("T20 / ANSI X9.9", lambda: mac_x9_9(DES_KEY, NOW_ALL + H("ABCD")), "36611DBB2D0AC1E6"),
        ("T21 / ANSI X9.19", lambda: mac_x9_19(TDES_KEY, NOW_ALL + H("ABCD")), "1C050879D95816B8"),
        (
            "T16 via alg 1 / ISO 9797-1",
            lambda: mac_iso9797_1_alg_1(Cipher.DES, DES_KEY, NOW_ALL),
            "70A30640CC76DD8B",
        ),
        (
            "T18 via PBOC MAC",
            lambda: mac_pboc(Cipher.TDES, TDES_KEY, NOW_ALL),
            "E9086230CA3BE796",
        ),
    ],
)
def test_mac_public_vectors(vector: str, compute: object, expected: str) -> None:
    """docs/standards/card-terminal.md §6.2, T16-T21 (each verified against published values)."""
    assert callable(compute)
    assert compute().hex().upper() == expected, vector


def test_mac_cup_ecb_t22_every_step() -> None:
    """docs/standards/card-terminal.md T22 / UnionPay POS ECB MAC worked example (solo123/pgate,
    Swishcard)."""
    mak = H("2222222222222222")
    mab = H("1234567890ABCDEFABCDEF1234567890")
    folded = xor(mab[:8], mab[8:])
    assert folded.hex().upper() == "B9F9B96AA4FDB57F"
    hex_ascii = folded.hex().upper().encode()
    e1 = encrypt_ecb(Cipher.DES, mak, hex_ascii[:8])
    assert e1.hex().upper() == "9FDE90A34CF73B2E"
    assert xor(e1, hex_ascii[8:]).hex().upper() == "DEEAD6E70EC20C68"
    e2 = encrypt_ecb(Cipher.DES, mak, xor(e1, hex_ascii[8:]))
    assert e2.hex().upper() == "E267B6E21913D339"
    assert mac_cup_ecb(Cipher.DES, mak, mab) == b"E267B6E2"
    assert mac_cup_ecb(Cipher.DES, mak, mab).hex().upper() == "4532363742364532"


# --------------------------------------------------------------------------- padding


@pytest.mark.parametrize(
    ("data", "block", "method_1", "method_2"),
    [
        ("", 8, "0000000000000000", "8000000000000000"),
        ("1234", 8, "1234000000000000", "1234800000000000"),
        ("00000000000000", 8, "0000000000000000", "0000000000000080"),
        ("0000000000000000", 8, "0000000000000000", "00000000000000008000000000000000"),
        ("AB", 16, "AB" + "00" * 15, "AB80" + "00" * 14),
    ],
)
def test_padding_methods(data: str, block: int, method_1: str, method_2: str) -> None:
    """ISO/IEC 9797-1:2011 6.3.1 and 6.3.2 (method 1 keeps aligned data; empty → one block)."""
    assert pad_iso9797_1_method_1(H(data), block).hex().upper() == method_1
    assert pad_iso9797_1_method_2(H(data), block).hex().upper() == method_2
    assert pad(H(data), block, Padding.METHOD_1) == H(method_1)
    assert pad(H(data), block, Padding.METHOD_2) == H(method_2)
    assert unpad_iso9797_1_method_2(H(method_2), block) == H(data)


@pytest.mark.parametrize(
    "bad", ["", "12", "1234000000000000", "0000000000000000" + "8000000000000000" + "00" * 8]
)
def test_unpad_method_2_rejects_bad_padding(bad: str) -> None:
    with pytest.raises(CryptoError):
        unpad_iso9797_1_method_2(H(bad))


@pytest.mark.parametrize("block", [0, -8, True])
def test_padding_rejects_bad_block_size(block: int) -> None:
    with pytest.raises(UsageError) as err:
        pad_iso9797_1_method_2(b"x", block)
    assert err.value.argument == "block"


def test_pad_rejects_unknown_padding() -> None:
    with pytest.raises(UsageError) as err:
        pad(b"x", 8, 3)  # type: ignore[arg-type]
    assert err.value.argument == "padding"


@given(st.binary(max_size=64), st.sampled_from([8, 16]))
def test_padding_properties(data: bytes, block: int) -> None:
    one = pad_iso9797_1_method_1(data, block)
    two = pad_iso9797_1_method_2(data, block)
    assert len(one) % block == 0 and len(two) % block == 0
    assert one.startswith(data) and two.startswith(data + b"\x80")
    assert len(two) - len(data) in range(1, block + 1)
    assert unpad_iso9797_1_method_2(two, block) == data


# --------------------------------------------------------------------------- algorithm 3 keys


def test_alg_3_is_des_chain_then_decrypt_encrypt() -> None:
    """ISO/IEC 9797-1 alg 3 by its definition: H_q = E_K(...), MAC = E_K(D_K'(H_q))."""
    data = pad_iso9797_1_method_2(NOW_ALL)
    k1, k2 = TDES_KEY[:8], TDES_KEY[8:]
    chained = bytes(8)
    for start in range(0, len(data), 8):
        chained = encrypt_ecb(Cipher.DES, k1, xor(chained, data[start : start + 8]))
    expected = encrypt_ecb(Cipher.DES, k1, decrypt_ecb(Cipher.DES, k2, chained))
    assert mac_iso9797_1_alg_3(TDES_KEY, NOW_ALL, Padding.METHOD_2) == expected


def test_alg_3_with_three_keys_enciphers_last_with_k3() -> None:
    """Documented choice: a 24-byte key K1‖K2‖K3 ends with D(K2) then E(K3)."""
    k3 = H("89ABCDEF01234567")
    key = TDES_KEY + k3
    chained = encrypt_cbc(Cipher.DES, TDES_KEY[:8], NOW_ALL)[-8:]
    expected = encrypt_ecb(Cipher.DES, k3, decrypt_ecb(Cipher.DES, TDES_KEY[8:], chained))
    assert mac_iso9797_1_alg_3(key, NOW_ALL) == expected
    # K3 = K1 gives back the two-key MAC (T17)
    assert mac_iso9797_1_alg_3(TDES_KEY + TDES_KEY[:8], NOW_ALL).hex().upper() == (
        "A1C72E74EA3FA9B6"
    )


def test_alg_3_single_block_and_empty_data() -> None:
    block = H("1234567890ABCDEF")
    expected = encrypt_ecb(Cipher.TDES, TDES_KEY, block)
    assert mac_iso9797_1_alg_3(TDES_KEY, block) == expected
    assert mac_iso9797_1_alg_3(TDES_KEY, b"") == encrypt_ecb(Cipher.TDES, TDES_KEY, bytes(8))


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: mac_iso9797_1_alg_3(DES_KEY, b"x"), "key"),
        (lambda: mac_x9_9(TDES_KEY, b"x"), "key"),
        (lambda: mac_iso9797_1_alg_1(Cipher.SM4, DES_KEY, b"x"), "key"),
        (lambda: mac_cup_ecb(Cipher.TDES, DES_KEY, b"x"), "key"),
        (lambda: mac_cup_ecb(Cipher.SM4, TDES_KEY[:15], b"x"), "key"),
    ],
)
def test_wrong_key_length_names_key_but_not_its_bytes(call: object, argument: str) -> None:
    assert callable(call)
    with pytest.raises(InvalidKeyError) as err:
        call()
    assert err.value.argument == argument
    for key in (DES_KEY, TDES_KEY):
        assert key.hex().upper() not in str(err.value).upper()


# --------------------------------------------------------------------------- UnionPay ECB MAC


def _cup_ecb_by_hand(cipher: Cipher, key: bytes, mab: bytes) -> bytes:
    size = cipher.block_size
    mab = mab + bytes(-len(mab) % size) if mab else bytes(size)
    folded = bytes(size)
    for start in range(0, len(mab), size):
        folded = xor(folded, mab[start : start + size])
    text = folded.hex().upper().encode()
    e1 = encrypt_ecb(cipher, key, text[:size])
    e2 = encrypt_ecb(cipher, key, xor(e1, text[size:]))
    return e2.hex().upper()[:8].encode()


def test_mac_cup_ecb_sm4_regression() -> None:
    """SM4 variant (16-byte blocks, 32 hex chars, first 8 of E2) — derived [D]: the value is
    computed here twice, by mac.py and by the step-by-step composition above."""
    key = TDES_KEY
    mab = H("1234567890ABCDEFABCDEF1234567890") + b"0200 MAB spans two SM4 blocks"
    expected = _cup_ecb_by_hand(Cipher.SM4, key, mab)
    assert mac_cup_ecb(Cipher.SM4, key, mab) == expected == b"0505D00F"


def test_mac_cup_ecb_tdes_with_equal_halves_equals_des() -> None:
    mab = H("1234567890ABCDEFABCDEF1234567890")
    mak = H("2222222222222222")
    assert mac_cup_ecb(Cipher.TDES, mak + mak, mab) == b"E267B6E2"


@given(
    st.sampled_from([Cipher.DES, Cipher.TDES, Cipher.SM4]),
    st.binary(min_size=16, max_size=16),
    st.binary(max_size=80),
)
@settings(max_examples=200)
def test_mac_cup_ecb_matches_composition(cipher: Cipher, key: bytes, mab: bytes) -> None:
    key = key[:8] if cipher is Cipher.DES else key
    mac = mac_cup_ecb(cipher, key, mab)
    assert mac == _cup_ecb_by_hand(cipher, key, mab)
    assert len(mac) == 8 and set(mac) <= set(b"0123456789ABCDEF")


def test_mac_cup_ecb_rejects_aes() -> None:
    with pytest.raises(UsageError) as err:
        mac_cup_ecb(Cipher.AES, TDES_KEY, b"x")
    assert err.value.argument == "cipher"


# --------------------------------------------------------------------------- PBOC MAC


def test_mac_pboc_lengths_and_ciphers() -> None:
    full = mac_pboc(Cipher.TDES, TDES_KEY, NOW_ALL)
    assert mac_pboc(Cipher.TDES, TDES_KEY, NOW_ALL, 4) == full[:4]
    sm4 = mac_pboc(Cipher.SM4, TDES_KEY, NOW_ALL)
    sm4_cbc = encrypt_cbc(Cipher.SM4, TDES_KEY, pad_iso9797_1_method_2(NOW_ALL, 16))
    assert sm4 == sm4_cbc[-16:-8]
    des = mac_pboc(Cipher.DES, DES_KEY, NOW_ALL)
    assert des == mac_iso9797_1_alg_1(Cipher.DES, DES_KEY, NOW_ALL, Padding.METHOD_2)


@pytest.mark.parametrize("length", [3, 9, 16, True])
def test_mac_pboc_rejects_length(length: int) -> None:
    with pytest.raises(UsageError) as err:
        mac_pboc(Cipher.TDES, TDES_KEY, b"x", length)
    assert err.value.argument == "length"


def test_mac_pboc_rejects_aes() -> None:
    with pytest.raises(UsageError) as err:
        mac_pboc(Cipher.AES, TDES_KEY, b"x")
    assert err.value.argument == "cipher"


# --------------------------------------------------------------------------- differential tests

keys8 = st.binary(min_size=8, max_size=8)
keys16 = st.binary(min_size=16, max_size=16)
payloads = st.binary(max_size=100)
paddings = st.sampled_from([Padding.METHOD_1, Padding.METHOD_2])


@ignore_tdes_deprecation
@given(keys16, keys8, payloads, paddings)
@settings(max_examples=200)
def test_alg_1_matches_psec(key16: bytes, key8: bytes, data: bytes, padding: Padding) -> None:
    """Differential vs psec.mac.generate_cbc_mac (3DES, single DES and AES)."""
    method = padding.value
    tdes = psec_mac.generate_cbc_mac(key16, data, method)
    assert mac_iso9797_1_alg_1(Cipher.TDES, key16, data, padding) == tdes
    des = psec_mac.generate_cbc_mac(key8, data, method)
    assert mac_iso9797_1_alg_1(Cipher.DES, key8, data, padding) == des
    aes = psec_mac.generate_cbc_mac(key16, data, method, algorithm=psec_mac.Algorithm.AES)
    assert mac_iso9797_1_alg_1(Cipher.AES, key16, data, padding) == aes


@ignore_tdes_deprecation
@given(keys16, payloads, paddings)
@settings(max_examples=200)
def test_alg_3_matches_psec_and_pyemv(key: bytes, data: bytes, padding: Padding) -> None:
    """Differential vs psec.mac.generate_retail_mac and pyemv.mac.mac_iso9797_3."""
    ours = mac_iso9797_1_alg_3(key, data, padding)
    assert ours == psec_mac.generate_retail_mac(key[:8], key[8:], data, padding.value)
    assert ours == pyemv_mac.mac_iso9797_3(key[:8], key[8:], data, padding.value)
    assert mac_pboc(Cipher.TDES, key, data, 4) == pyemv_mac.mac_iso9797_3(
        key[:8], key[8:], data, 2, 4
    )


@given(keys16, st.binary(max_size=70))
@settings(max_examples=100)
def test_sm4_cbc_mac_matches_gmssl(key: bytes, data: bytes) -> None:
    """Differential vs gmssl's pure-Python SM4-CBC (which appends PKCS#7; the MAC is the
    cipher block of the last block of our padded input)."""
    padded = pad_iso9797_1_method_2(data, 16)
    engine = sm4.CryptSM4()
    engine.set_key(key, sm4.SM4_ENCRYPT)
    reference = engine.crypt_cbc(bytes(16), padded)[len(padded) - 16 : len(padded)]
    assert mac_iso9797_1_alg_1(Cipher.SM4, key, data, Padding.METHOD_2) == reference
    assert mac_pboc(Cipher.SM4, key, data) == reference[:8]

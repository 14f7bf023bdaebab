"""Data encryption and MACs through the module, checked against published vectors and against
zhifu.crypto computed with the known clear key."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from zhifu.core.errors import UsageError
from zhifu.crypto import mac
from zhifu.crypto.cipher import Cipher, encrypt_cbc, encrypt_ecb
from zhifu.crypto.mac import Padding
from zhifu.security.errors import KeyUsageError
from zhifu.security.hsm.soft import DataMode, MacAlgorithm, SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyUsage

KnownKey = Callable[..., KeyHandle]

TDES_KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
DES_KEY = bytes.fromhex("0123456789ABCDEF")
NOW_IS = b"Now is the time for all "


@pytest.mark.parametrize(
    "case",
    [
        # docs/standards/card-terminal.md §2.8 / T16: ANSI X9.9
        (KeyAlgorithm.DES, DES_KEY, MacAlgorithm.X9_9, NOW_IS, "70A30640CC76DD8B"),
        # docs/standards/card-terminal.md T17: ANSI X9.19
        (KeyAlgorithm.TDES, TDES_KEY, MacAlgorithm.X9_19, NOW_IS, "A1C72E74EA3FA9B6"),
        # docs/standards/card-terminal.md T22: UnionPay POS ECB MAC (8 ASCII characters)
        (
            KeyAlgorithm.DES,
            bytes.fromhex("2222222222222222"),
            MacAlgorithm.CUP_ECB,
            bytes.fromhex("1234567890ABCDEFABCDEF1234567890"),
            b"E267B6E2".hex().upper(),
        ),
    ],
)
def test_published_mac_vectors(
    hsm: SoftHsm, known_key: KnownKey, case: tuple[KeyAlgorithm, bytes, MacAlgorithm, bytes, str]
) -> None:
    algorithm, clear, mac_algorithm, data, expected = case
    mak = known_key(KeyUsage.MAC, algorithm, clear)
    assert hsm.generate_mac(mak, data, mac_algorithm).hex().upper() == expected
    assert hsm.verify_mac(mak, data, bytes.fromhex(expected), mac_algorithm)


@pytest.mark.parametrize(
    "case",
    [
        (
            KeyAlgorithm.TDES,
            TDES_KEY,
            MacAlgorithm.ISO9797_1_ALG_3,
            lambda k, d: mac.mac_iso9797_1_alg_3(k, d, Padding.METHOD_2),
        ),
        (
            KeyAlgorithm.SM4,
            TDES_KEY,
            MacAlgorithm.ISO9797_1_ALG_1,
            lambda k, d: mac.mac_iso9797_1_alg_1(Cipher.SM4, k, d, Padding.METHOD_2),
        ),
        (
            KeyAlgorithm.AES,
            TDES_KEY,
            MacAlgorithm.ISO9797_1_ALG_1,
            lambda k, d: mac.mac_iso9797_1_alg_1(Cipher.AES, k, d, Padding.METHOD_2),
        ),
        (
            KeyAlgorithm.SM4,
            TDES_KEY,
            MacAlgorithm.PBOC,
            lambda k, d: mac.mac_pboc(Cipher.SM4, k, d),
        ),
        (
            KeyAlgorithm.TDES,
            TDES_KEY,
            MacAlgorithm.CUP_ECB,
            lambda k, d: mac.mac_cup_ecb(Cipher.TDES, k, d),
        ),
    ],
)
def test_mac_matches_the_crypto_core(
    hsm: SoftHsm,
    known_key: KnownKey,
    case: tuple[KeyAlgorithm, bytes, MacAlgorithm, Callable[[bytes, bytes], bytes]],
) -> None:
    algorithm, clear, mac_algorithm, reference = case
    mak = known_key(KeyUsage.MAC, algorithm, clear)
    data = bytes(range(37))
    got = hsm.generate_mac(mak, data, mac_algorithm, padding=Padding.METHOD_2)
    assert got == reference(clear, data)


def test_verify_mac_truncated_and_tampered(hsm: SoftHsm) -> None:
    mak = hsm.generate_key(KeyUsage.MAC, KeyAlgorithm.SM4)
    full = hsm.generate_mac(mak, b"script", MacAlgorithm.PBOC)
    assert hsm.verify_mac(mak, b"script", full[:4], MacAlgorithm.PBOC)
    assert not hsm.verify_mac(mak, b"scripT", full[:4], MacAlgorithm.PBOC)
    assert not hsm.verify_mac(mak, b"script", bytes([full[0] ^ 1]) + full[1:], MacAlgorithm.PBOC)
    assert not hsm.verify_mac(mak, b"script", full + b"\x00", MacAlgorithm.PBOC)
    with pytest.raises(UsageError, match="at least 4 bytes"):
        hsm.verify_mac(mak, b"script", full[:3], MacAlgorithm.PBOC)


def test_mac_algorithm_needs_the_right_key(hsm: SoftHsm) -> None:
    tdes = hsm.generate_key(KeyUsage.MAC, KeyAlgorithm.TDES)
    triple = hsm.generate_key(KeyUsage.MAC, KeyAlgorithm.TDES, length=24)
    aes = hsm.generate_key(KeyUsage.MAC, KeyAlgorithm.AES)
    with pytest.raises(
        KeyUsageError, match="has algorithm TDES; this operation needs algorithm DES"
    ):
        hsm.generate_mac(tdes, b"x", MacAlgorithm.X9_9)
    with pytest.raises(KeyUsageError, match="has length 24 bytes"):
        hsm.generate_mac(triple, b"x", MacAlgorithm.X9_19)
    with pytest.raises(KeyUsageError, match="algorithm"):
        hsm.generate_mac(aes, b"x", MacAlgorithm.CUP_ECB)


@pytest.mark.parametrize(
    ("algorithm", "clear"),
    [(KeyAlgorithm.TDES, TDES_KEY), (KeyAlgorithm.SM4, TDES_KEY), (KeyAlgorithm.DES, DES_KEY)],
)
def test_data_encryption(
    hsm: SoftHsm, known_key: KnownKey, algorithm: KeyAlgorithm, clear: bytes
) -> None:
    tdk = known_key(KeyUsage.DATA, algorithm, clear)
    cipher = algorithm.cipher
    data = bytes(range(cipher.block_size * 3))
    iv = bytes(range(100, 100 + cipher.block_size))
    ecb = hsm.encrypt_data(tdk, data)
    cbc = hsm.encrypt_data(tdk, data, mode=DataMode.CBC, iv=iv)
    assert ecb == encrypt_ecb(cipher, clear, data)
    assert cbc == encrypt_cbc(cipher, clear, data, iv)
    assert hsm.decrypt_data(tdk, ecb) == data
    assert hsm.decrypt_data(tdk, cbc, mode=DataMode.CBC, iv=iv) == data
    with pytest.raises(UsageError, match="ECB mode takes no IV"):
        hsm.encrypt_data(tdk, data, iv=iv)
    with pytest.raises(UsageError, match="multiple of"):
        hsm.encrypt_data(tdk, data[:-1])

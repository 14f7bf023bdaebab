"""Block ciphers: published vectors, key forms, errors, and differential tests vs gmssl/psec."""

from __future__ import annotations

import warnings

import pytest
from gmssl import sm4 as gm_sm4
from hypothesis import given, settings
from hypothesis import strategies as st
from psec import aes as psec_aes
from psec import des as psec_des

from zhifu.core.errors import UsageError
from zhifu.crypto.cipher import (
    Cipher,
    decrypt_cbc,
    decrypt_ecb,
    encrypt_cbc,
    encrypt_ecb,
    expand_tdes_key,
    xor,
)
from zhifu.crypto.errors import InvalidKeyError

K2 = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")


@pytest.mark.parametrize(
    ("source", "cipher", "key", "plain", "expected"),
    [
        (
            "docs/standards/card-terminal.md T13 / FIPS 81",
            Cipher.DES,
            "0123456789ABCDEF",
            "4E6F772069732074",
            "3FA40E8A984D4815",
        ),
        (
            "docs/standards/card-terminal.md T14 / mbedTLS DES suite",
            Cipher.DES,
            "0123456789ABCDEF",
            "0000000000000000",
            "D5D44FF720683D0D",
        ),
        (
            "docs/standards/card-terminal.md T15 / KCV of the 2-key test key",
            Cipher.TDES,
            K2.hex(),
            "0000000000000000",
            "08D7B4FB629D0885",
        ),
        (
            "docs/standards/card-terminal.md T03 / GB/T 32907 annex A",
            Cipher.SM4,
            K2.hex(),
            K2.hex(),
            "681EDF34D206965E86B3E94F536E4246",
        ),
        (
            "FIPS 197 appendix C.1",
            Cipher.AES,
            "000102030405060708090A0B0C0D0E0F",
            "00112233445566778899AABBCCDDEEFF",
            "69C4E0D86A7B0430D8CDB78070B4C55A",
        ),
        (
            "FIPS 197 appendix C.3",
            Cipher.AES,
            "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
            "00112233445566778899AABBCCDDEEFF",
            "8EA2B7CA516745BFEAFC49904B496089",
        ),
    ],
)
def test_published_vectors(
    source: str, cipher: Cipher, key: str, plain: str, expected: str
) -> None:
    k, p = bytes.fromhex(key), bytes.fromhex(plain)
    assert encrypt_ecb(cipher, k, p).hex().upper() == expected, source
    assert decrypt_ecb(cipher, k, bytes.fromhex(expected)) == p, source


def test_short_tdes_keys_are_expanded_and_raise_no_deprecation() -> None:
    assert expand_tdes_key(K2) == K2 + K2[:8]
    assert expand_tdes_key(K2[:8]) == K2[:8] * 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        single = encrypt_ecb(Cipher.DES, K2[:8], bytes(8))
        double = encrypt_ecb(Cipher.TDES, K2, bytes(8))
    assert single == encrypt_ecb(Cipher.TDES, K2[:8] * 2, bytes(8))
    assert double == encrypt_ecb(Cipher.TDES, K2 + K2[:8], bytes(8))


@pytest.mark.parametrize(
    ("cipher", "key_len"), [(Cipher.DES, 16), (Cipher.TDES, 8), (Cipher.AES, 15), (Cipher.SM4, 24)]
)
def test_wrong_key_length_names_the_key_and_hides_it(cipher: Cipher, key_len: int) -> None:
    key = bytes([0xA5]) * key_len
    with pytest.raises(InvalidKeyError) as exc:
        encrypt_ecb(cipher, key, bytes(cipher.block_size))
    assert exc.value.argument == "key" and "a5" not in str(exc.value).lower()


def test_data_and_iv_lengths_are_checked() -> None:
    with pytest.raises(UsageError, match="multiple of 16"):
        encrypt_ecb(Cipher.SM4, K2, b"\x00" * 15)
    with pytest.raises(UsageError, match="IV"):
        encrypt_cbc(Cipher.AES, K2, bytes(16), iv=bytes(8))
    with pytest.raises(UsageError):
        xor(b"\x00", b"\x00\x00")


@pytest.mark.parametrize("name", ["DES", "3des", "tdes", "AES", "sm4"])
def test_parse_names(name: str) -> None:
    assert Cipher.parse(name).value in {"des", "3des", "aes", "sm4"}


def test_parse_unknown_names_the_cipher_argument() -> None:
    with pytest.raises(UsageError) as exc:
        Cipher.parse("blowfish")
    assert exc.value.argument == "cipher"


blocks16 = st.binary(min_size=1, max_size=8).map(lambda b: (b * 16)[: 16 * len(b)])


@settings(max_examples=200, deadline=None)
@given(
    key=st.binary(min_size=16, max_size=16), data=blocks16, iv=st.binary(min_size=16, max_size=16)
)
def test_sm4_matches_gmssl(key: bytes, data: bytes, iv: bytes) -> None:
    """Differential: SM4 ECB and CBC vs gmssl's pure-Python SM4 (which appends PKCS#7)."""
    gm = gm_sm4.CryptSM4(padding_mode=gm_sm4.PKCS7)
    gm.set_key(key, gm_sm4.SM4_ENCRYPT)
    assert encrypt_ecb(Cipher.SM4, key, data) == bytes(gm.crypt_ecb(data))[: len(data)]
    assert encrypt_cbc(Cipher.SM4, key, data, iv) == bytes(gm.crypt_cbc(iv, data))[: len(data)]
    assert decrypt_cbc(Cipher.SM4, key, encrypt_cbc(Cipher.SM4, key, data, iv), iv) == data


blocks8 = st.integers(min_value=1, max_value=8).flatmap(
    lambda n: st.binary(min_size=8 * n, max_size=8 * n)
)


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
@settings(max_examples=200, deadline=None)
@given(
    key=st.sampled_from([16, 24]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    data=blocks8,
    iv=st.binary(min_size=8, max_size=8),
)
def test_tdes_matches_psec(key: bytes, data: bytes, iv: bytes) -> None:
    assert encrypt_ecb(Cipher.TDES, key, data) == psec_des.encrypt_tdes_ecb(key, data)
    assert encrypt_cbc(Cipher.TDES, key, data, iv) == psec_des.encrypt_tdes_cbc(key, iv, data)


@settings(max_examples=200, deadline=None)
@given(
    key=st.sampled_from([16, 24, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    data=blocks16,
    iv=st.binary(min_size=16, max_size=16),
)
def test_aes_matches_psec(key: bytes, data: bytes, iv: bytes) -> None:
    assert encrypt_ecb(Cipher.AES, key, data) == psec_aes.encrypt_aes_ecb(key, data)
    assert encrypt_cbc(Cipher.AES, key, data, iv) == psec_aes.encrypt_aes_cbc(key, iv, data)
    assert decrypt_ecb(Cipher.AES, key, encrypt_ecb(Cipher.AES, key, data)) == data

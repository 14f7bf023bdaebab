"""Key check values: docs/standards/card-terminal.md vectors, psec and cryptography's CMAC as
references."""

from __future__ import annotations

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.cmac import CMAC
from hypothesis import given, settings
from hypothesis import strategies as st
from psec.des import generate_kcv

from zhifu.core.errors import UsageError
from zhifu.crypto.cipher import Cipher, expand_tdes_key
from zhifu.crypto.errors import InvalidKeyError
from zhifu.crypto.kcv import kcv

K_0123 = "0123456789ABCDEFFEDCBA9876543210"

# (source, cipher, key, length, expected)
ENCRYPT_ZEROS_VECTORS = [
    ("docs/standards/card-terminal.md T14 / mbedTLS DES suite", Cipher.DES, "0123456789ABCDEF", 8,
     "D5D44FF720683D0D"),
    ("docs/standards/card-terminal.md T14, KCV3", Cipher.DES, "0123456789ABCDEF", 3, "D5D44F"),
    ("docs/standards/card-terminal.md T15", Cipher.TDES, K_0123, 8, "08D7B4FB629D0885"),
    ("docs/standards/card-terminal.md T15, KCV3", Cipher.TDES, K_0123, 3, "08D7B4"),
    ("docs/standards/card-terminal.md T15, KCV2 (psec doctest)", Cipher.TDES, K_0123, 2, "08D7"),
    ("docs/standards/card-terminal.md T15, 3-key form K1|K2|K1", Cipher.TDES,
     K_0123 + K_0123[:16], 3, "08D7B4"),
    ("docs/standards/card-terminal.md T05 (derived)", Cipher.SM4, K_0123, 4, "2677F46B"),
    ("docs/standards/card-terminal.md T23 (derived)", Cipher.DES, "2222222222222222", 8,
     "00962B60AA556E65"),
    ("widely published AES-128 E(K=0, P=0)", Cipher.AES, "00" * 16, 16,
     "66E94BD4EF8A2C3B884CFA59CA342B2E"),
]  # fmt: skip


@pytest.mark.parametrize(("source", "cipher", "key", "length", "expected"), ENCRYPT_ZEROS_VECTORS)
def test_encrypt_zeros_vectors(
    source: str, cipher: Cipher, key: str, length: int, expected: str
) -> None:
    assert kcv(cipher, bytes.fromhex(key), length).hex().upper() == expected, source


def test_default_is_three_bytes_encrypt_zeros() -> None:
    key = bytes.fromhex(K_0123)
    assert kcv(Cipher.TDES, key) == bytes.fromhex("08D7B4")
    assert kcv(Cipher.TDES, key, method="encrypt-zeros") == bytes.fromhex("08D7B4")


def test_single_des_equals_tdes_with_three_equal_keys() -> None:
    key = bytes.fromhex("0123456789ABCDEF")
    assert kcv(Cipher.DES, key, 8) == kcv(Cipher.TDES, key * 3, 8)


def test_cmac_of_all_zero_aes_key() -> None:
    # Regression value (derived here), recomputed by cryptography's CMAC below.
    assert kcv(Cipher.AES, bytes(16), 5, method="cmac").hex().upper() == "763CBCDE81"


def _reference_cmac(cipher: Cipher, key: bytes) -> bytes:
    algorithm = {
        Cipher.DES: lambda k: TripleDES(expand_tdes_key(k)),
        Cipher.TDES: lambda k: TripleDES(expand_tdes_key(k)),
        Cipher.AES: algorithms.AES,
        Cipher.SM4: algorithms.SM4,
    }[cipher](key)
    mac = CMAC(algorithm)
    mac.update(bytes(cipher.block_size))
    return mac.finalize()


_CIPHER_KEYS = st.sampled_from([(c, n) for c in Cipher for n in c.key_sizes]).flatmap(
    lambda cn: st.tuples(st.just(cn[0]), st.binary(min_size=cn[1], max_size=cn[1]))
)


@settings(max_examples=200, deadline=None)
@given(_CIPHER_KEYS)
def test_cmac_differential_cryptography(cipher_key: tuple[Cipher, bytes]) -> None:
    """CMAC method vs OpenSSL's CMAC (NIST SP 800-38B) over one zero block."""
    cipher, key = cipher_key
    want = _reference_cmac(cipher, key)
    assert kcv(cipher, key, cipher.block_size, method="cmac") == want
    assert kcv(cipher, key, method="cmac") == want[:3]


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
@settings(max_examples=200, deadline=None)
@given(st.sampled_from([8, 16, 24]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
       st.integers(min_value=1, max_value=8))  # fmt: skip
def test_des_differential_psec(key: bytes, length: int) -> None:
    """DES/3DES KCV vs psec.des.generate_kcv (which takes 8, 16 or 24-byte keys)."""
    cipher = Cipher.DES if len(key) == 8 else Cipher.TDES
    assert kcv(cipher, key, length) == generate_kcv(key, length)


@pytest.mark.parametrize("cipher", list(Cipher))
@pytest.mark.parametrize("method", ["encrypt-zeros", "cmac"])
def test_length_bounds(cipher: Cipher, method: str) -> None:
    key = bytes(cipher.key_sizes[0])
    full = kcv(cipher, key, cipher.block_size, method=method)  # type: ignore[arg-type]
    assert kcv(cipher, key, 1, method=method) == full[:1]  # type: ignore[arg-type]
    for length in (0, -1, cipher.block_size + 1):
        with pytest.raises(UsageError, match="KCV is 1 to") as info:
            kcv(cipher, key, length, method=method)  # type: ignore[arg-type]
        assert info.value.argument == "length"


@pytest.mark.parametrize("length", [True, 3.0, "3"])
def test_length_must_be_an_int(length: object) -> None:
    with pytest.raises(UsageError) as info:
        kcv(Cipher.DES, bytes(8), length)  # type: ignore[arg-type]
    assert info.value.argument == "length"


def test_unknown_method() -> None:
    with pytest.raises(UsageError, match="unknown KCV method") as info:
        kcv(Cipher.AES, bytes(16), method="ones")  # type: ignore[arg-type]
    assert info.value.argument == "method"


@pytest.mark.parametrize(
    ("cipher", "size"), [(Cipher.DES, 16), (Cipher.TDES, 8), (Cipher.AES, 8), (Cipher.SM4, 24)]
)
def test_wrong_key_length_is_invalid_key_without_echo(cipher: Cipher, size: int) -> None:
    key = bytes(range(0xA1, 0xA1 + size))
    with pytest.raises(InvalidKeyError) as info:
        kcv(cipher, key)
    assert info.value.argument == "key"
    text = str(info.value) + repr(info.value)
    assert key.hex() not in text.lower()

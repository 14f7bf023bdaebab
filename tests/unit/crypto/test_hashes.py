"""SM3 / SHA-1 / SHA-256 and HMAC: public vectors, the cryptography fallback, and gmssl."""

from __future__ import annotations

import pytest
from gmssl import func as gmssl_func
from gmssl import sm3 as gmssl_sm3
from hypothesis import given, settings
from hypothesis import strategies as st

from zhifu.core.errors import UsageError
from zhifu.crypto import hashes
from zhifu.crypto.hashes import Hash, digest, hmac, sm3

# (source, algorithm, message, expected digest)
DIGEST_VECTORS = [
    (
        "docs/standards/card-terminal.md T01 / GB/T 32905-2016 A.1",
        Hash.SM3,
        b"abc",
        "66C7F0F462EEEDD9D1F2D46BDC10E4E24167C4875CF2F7A2297DA02B8F4BA8E0",
    ),
    (
        "docs/standards/card-terminal.md T02 / GB/T 32905-2016 A.2",
        Hash.SM3,
        b"abcd" * 16,
        "DEBE9FF92275B8A138604889C18E5A4D6FDB70E5387E5765293DCBA39C0C5732",
    ),
    (
        "FIPS 180-2 appendix A.1 (SHA-1 'abc')",
        Hash.SHA1,
        b"abc",
        "A9993E364706816ABA3E25717850C26C9CD0D89D",
    ),
    (
        "FIPS 180-2 appendix B.1 (SHA-256 'abc')",
        Hash.SHA256,
        b"abc",
        "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
    ),
]

# (source, algorithm, key, data, expected MAC)
HMAC_VECTORS = [
    (
        "RFC 4231 test case 1",
        Hash.SHA256,
        b"\x0b" * 20,
        b"Hi There",
        "B0344C61D8DB38535CA8AFCEAF0BF12B881DC200C9833DA726E9376C2E32CFF7",
    ),
    (
        "RFC 4231 test case 2",
        Hash.SHA256,
        b"Jefe",
        b"what do ya want for nothing?",
        "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843",
    ),
    (
        "RFC 4231 test case 6 (key longer than the block)",
        Hash.SHA256,
        b"\xaa" * 131,
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        "60E431591EE0B67F0D8A26AACBF5B77F8E0BC6213728C5140546040F0EE37F54",
    ),
    (
        "RFC 2202 test case 1 (HMAC-SHA-1)",
        Hash.SHA1,
        b"\x0b" * 20,
        b"Hi There",
        "B617318655057264E28BC0B6FB378C8EF146BE00",
    ),
]


def gmssl_sm3_hash(data: bytes) -> bytes:
    """SM3 by the pure-Python reference (gmssl 3.2.2)."""
    return bytes.fromhex(gmssl_sm3.sm3_hash(gmssl_func.bytes_to_list(data)))


def rfc2104_hmac_sm3(key: bytes, data: bytes) -> bytes:
    """HMAC by its RFC 2104 definition over gmssl's SM3 (block B = 64 bytes)."""
    if len(key) > 64:
        key = gmssl_sm3_hash(key)
    key = key.ljust(64, b"\x00")
    ipad = bytes(b ^ 0x36 for b in key)
    opad = bytes(b ^ 0x5C for b in key)
    return gmssl_sm3_hash(opad + gmssl_sm3_hash(ipad + data))


@pytest.fixture(params=[True, False], ids=["hashlib", "cryptography"])
def sm3_backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Run a test with SM3 from hashlib (when present) and from the cryptography fallback."""
    use_hashlib = bool(request.param)
    if use_hashlib and not hashes._HASHLIB_SM3:
        pytest.skip("this OpenSSL has no SM3 in hashlib")
    monkeypatch.setattr(hashes, "_HASHLIB_SM3", use_hashlib)
    return use_hashlib


@pytest.mark.parametrize(("source", "alg", "message", "expected"), DIGEST_VECTORS)
def test_digest_vectors(
    source: str, alg: Hash, message: bytes, expected: str, sm3_backend: bool
) -> None:
    out = digest(alg, message)
    assert out.hex().upper() == expected, source
    assert len(out) == alg.digest_size


def test_sm3_shortcut_is_digest_sm3() -> None:
    assert sm3(b"abc") == digest(Hash.SM3, b"abc")


@pytest.mark.parametrize(("source", "alg", "key", "data", "expected"), HMAC_VECTORS)
def test_hmac_vectors(source: str, alg: Hash, key: bytes, data: bytes, expected: str) -> None:
    assert hmac(alg, key, data).hex().upper() == expected, source


@pytest.mark.parametrize(
    ("key", "data"),
    [
        (b"", b""),
        (b"key", b"abc"),  # also the module doctest
        (b"\x0b" * 20, b"Hi There"),
        (b"\xaa" * 64, b"exactly one block of key"),
        (b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First"),
    ],
)
def test_hmac_sm3_matches_rfc2104_over_gmssl(key: bytes, data: bytes, sm3_backend: bool) -> None:
    assert hmac(Hash.SM3, key, data) == rfc2104_hmac_sm3(key, data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_sm3_differential_gmssl(data: bytes) -> None:
    assert sm3(data) == gmssl_sm3_hash(data)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=150), st.binary(max_size=200))
def test_hmac_sm3_differential_rfc2104(key: bytes, data: bytes) -> None:
    assert hmac(Hash.SM3, key, data) == rfc2104_hmac_sm3(key, data)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=150), st.binary(max_size=200))
def test_cryptography_fallback_agrees_with_hashlib(key: bytes, data: bytes) -> None:
    if not hashes._HASHLIB_SM3:
        pytest.skip("this OpenSSL has no SM3 in hashlib")
    want = (sm3(data), hmac(Hash.SM3, key, data))
    hashes._HASHLIB_SM3 = False
    try:
        got = (sm3(data), hmac(Hash.SM3, key, data))
    finally:
        hashes._HASHLIB_SM3 = True
    assert got == want


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sm3", Hash.SM3),
        ("SM3", Hash.SM3),
        ("sha1", Hash.SHA1),
        ("SHA-1", Hash.SHA1),
        ("sha256", Hash.SHA256),
        (" sha-256 ", Hash.SHA256),
    ],
)
def test_parse(name: str, expected: Hash) -> None:
    assert Hash.parse(name) is expected


@pytest.mark.parametrize("name", ["md5", "sha512", "", "sm4"])
def test_parse_rejects_unknown_names(name: str) -> None:
    with pytest.raises(UsageError, match="unknown hash") as info:
        Hash.parse(name)
    assert info.value.argument == "hash"


def test_digest_sizes() -> None:
    assert {alg: alg.digest_size for alg in Hash} == {
        Hash.SM3: 32,
        Hash.SHA1: 20,
        Hash.SHA256: 32,
    }
    assert all(alg.block_size == 64 for alg in Hash)

"""Tests of zhifu.crypto.registry: the algorithm table and hardware providers."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

import pytest

from zhifu.core.errors import UsageError
from zhifu.crypto import cipher, registry
from zhifu.crypto.errors import CryptoError, UnsupportedAlgorithm
from zhifu.crypto.hashes import Hash
from zhifu.crypto.registry import ALGORITHMS, Kind

# The algorithms the mini terminal specification lists (docs/standards/card-terminal.md §0, terminal
# brief).
SPEC_NAMES = (
    "RSA1024",
    "RSA2048",
    "SM2",
    "DES",
    "3DES",
    "SM4",
    "AES",
    "SM1",
    "SSF33",
    "SHA1",
    "SM3",
)


def test_table_names_are_unique_and_keys_match() -> None:
    names = [row.name for row in ALGORITHMS.values()]
    assert len(names) == len(set(names))
    assert all(name == row.name for name, row in ALGORITHMS.items())


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_every_listed_algorithm_is_present(name: str) -> None:
    assert registry.get(name).name == name


@pytest.mark.parametrize("row", list(ALGORITHMS.values()), ids=list(ALGORITHMS))
def test_sizes_are_sane(row: registry.Algorithm) -> None:
    assert row.spec
    if row.kind is Kind.BLOCK_CIPHER:
        assert row.block_size in (8, 16) and row.digest_size is None
        assert row.key_bits and all(b % 64 == 0 and 64 <= b <= 256 for b in row.key_bits)
    elif row.kind is Kind.HASH:
        assert row.key_bits == () and row.block_size is None and row.digest_size in (20, 32)
    else:
        assert row.block_size is None and row.digest_size is None
        assert row.key_bits == (256,) if row.name == "SM2" else row.key_bits[0] >= 1024
    assert row.provider is None


def test_only_sm1_and_ssf33_lack_a_public_spec_and_an_implementation() -> None:
    hidden = {row.name for row in ALGORITHMS.values() if not row.public}
    unavailable = {row.name for row in ALGORITHMS.values() if not row.available}
    assert hidden == unavailable == {"SM1", "SSF33"}


@pytest.mark.parametrize(
    ("name", "software"),
    [("DES", cipher.Cipher.DES), ("3DES", cipher.Cipher.TDES), ("AES", cipher.Cipher.AES),
     ("SM4", cipher.Cipher.SM4)],
)  # fmt: skip
def test_block_cipher_rows_agree_with_cipher_module(name: str, software: cipher.Cipher) -> None:
    row = registry.get(name)
    assert row.block_size == software.block_size
    assert row.key_bits == tuple(8 * n for n in software.key_sizes)


@pytest.mark.parametrize(
    ("name", "alg"), [("SHA1", Hash.SHA1), ("SHA256", Hash.SHA256), ("SM3", Hash.SM3)]
)
def test_hash_rows_agree_with_hashes_module(name: str, alg: Hash) -> None:
    assert registry.get(name).digest_size == alg.digest_size


@pytest.mark.parametrize(
    ("alias", "name"),
    [("tdes", "3DES"), ("DES3", "3DES"), ("TripleDES", "3DES"), ("sha-1", "SHA1"),
     ("sm4", "SM4"), ("rsa-2048", "RSA2048"), (" ssf33 ", "SSF33"), ("sha_256", "SHA256")],
)  # fmt: skip
def test_aliases(alias: str, name: str) -> None:
    assert registry.get(alias).name == name


@pytest.mark.parametrize("name", ["SM9", "", "RSA4096", "ZUC", "MD5"])
def test_unknown_names_are_usage_errors(name: str) -> None:
    with pytest.raises(UsageError) as err:
        registry.get(name)
    assert err.value.argument == "algorithm"
    with pytest.raises(UsageError):
        registry.require(name)


@pytest.mark.parametrize("name", ["SM1", "SSF33"])
def test_classified_algorithms_need_a_provider(name: str) -> None:
    assert registry.get(name).available is False
    with pytest.raises(UnsupportedAlgorithm) as err:
        registry.require(name)
    message = str(err.value)
    assert name in message and "classified" in message and "hardware" in message
    assert "register_provider" in message and "Provider" in message
    with pytest.raises(UnsupportedAlgorithm):
        registry.encrypt_ecb(name, bytes(16), bytes(16))


@pytest.mark.parametrize("name", [n for n in SPEC_NAMES if n not in ("SM1", "SSF33")])
def test_public_algorithms_are_available(name: str) -> None:
    assert registry.require(name).available


# --- a fake hardware module -------------------------------------------------------------------


@dataclass
class FakeModule:
    """Stands in for a secure element: 'SM1' here is SM4 under a key looked up by handle."""

    name: str = "fake-se"
    algorithms: Collection[str] = ("SM1", "SSF33", "SM4")
    keys: dict[str, bytes] = field(default_factory=lambda: {"tmk": bytes(range(16))})
    calls: list[tuple[str, str]] = field(default_factory=list)

    def _key(self, key: registry.KeyRef) -> bytes:
        return self.keys[key] if isinstance(key, str) else bytes(key)

    def encrypt_ecb(self, alg: str, key: registry.KeyRef, data: bytes) -> bytes:
        self.calls.append(("encrypt", alg))
        return cipher.encrypt_ecb(cipher.Cipher.SM4, self._key(key), data)

    def decrypt_ecb(self, alg: str, key: registry.KeyRef, data: bytes) -> bytes:
        self.calls.append(("decrypt", alg))
        return cipher.decrypt_ecb(cipher.Cipher.SM4, self._key(key), data)


@pytest.fixture
def module() -> Iterator[FakeModule]:
    fake = FakeModule()
    registry.register_provider(fake)
    try:
        yield fake
    finally:
        registry.unregister_provider(fake.name)


def test_provider_makes_sm1_available(module: FakeModule) -> None:
    row = registry.require("SM1")
    assert row.available and row.provider == "fake-se"
    assert registry.provider_for("sm1") is module
    assert ALGORITHMS["SM1"].available is False  # the table itself is unchanged


def test_provider_is_called_for_sm1_with_a_handle(module: FakeModule) -> None:
    data = bytes(32)
    ct = registry.encrypt_ecb("SM1", "tmk", data)
    assert len(ct) == 32 and ct != data
    assert registry.decrypt_ecb("SM1", "tmk", ct) == data
    assert module.calls == [("encrypt", "SM1"), ("decrypt", "SM1")]


def test_clear_keys_of_public_ciphers_stay_in_software(module: FakeModule) -> None:
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    ct = registry.encrypt_ecb("SM4", key, key)
    assert ct.hex().upper() == "681EDF34D206965E86B3E94F536E4246"  # T03 / GB/T 32907
    assert module.calls == []
    assert registry.encrypt_ecb("SM4", "tmk", key) == cipher.encrypt_ecb(
        cipher.Cipher.SM4, module.keys["tmk"], key
    )
    assert module.calls == [("encrypt", "SM4")]


def test_unregistering_makes_sm1_unsupported_again() -> None:
    fake = FakeModule(name="temporary")
    registry.register_provider(fake)
    assert registry.require("SSF33").provider == "temporary"
    registry.unregister_provider("temporary")
    with pytest.raises(UnsupportedAlgorithm):
        registry.require("SSF33")
    registry.unregister_provider("temporary")  # idempotent


def test_software_routing_without_provider() -> None:
    key = bytes.fromhex("0123456789ABCDEF")
    assert registry.encrypt_ecb("des", key, b"Now is t").hex().upper() == "3FA40E8A984D4815"  # T13
    assert registry.decrypt_ecb("DES", key, bytes.fromhex("3FA40E8A984D4815")) == b"Now is t"
    with pytest.raises(UsageError) as err:
        registry.encrypt_ecb("AES", "handle-7", bytes(16))
    assert err.value.argument == "key"


def test_routing_argument_errors(module: FakeModule) -> None:
    with pytest.raises(UsageError) as not_cipher:
        registry.encrypt_ecb("SM3", bytes(16), bytes(16))
    assert not_cipher.value.argument == "algorithm"
    with pytest.raises(UsageError) as partial:
        registry.encrypt_ecb("SM1", "tmk", bytes(15))
    assert partial.value.argument == "data"
    assert module.calls == []


def test_provider_output_length_is_checked() -> None:
    @dataclass
    class Broken(FakeModule):
        def encrypt_ecb(self, alg: str, key: registry.KeyRef, data: bytes) -> bytes:
            return data[:-1]

    broken = Broken(name="broken")
    registry.register_provider(broken)
    try:
        with pytest.raises(CryptoError, match="broken returned 15 bytes for 16"):
            registry.encrypt_ecb("SM1", "tmk", bytes(16))
    finally:
        registry.unregister_provider("broken")


def test_register_rejects_bad_providers(module: FakeModule) -> None:
    with pytest.raises(UsageError, match="registered"):
        registry.register_provider(FakeModule())  # same name
    with pytest.raises(UsageError, match="SM2"):
        registry.register_provider(FakeModule(name="other", algorithms=("SM2",)))
    with pytest.raises(UsageError, match="sm1"):
        registry.register_provider(FakeModule(name="other", algorithms=("sm1",)))
    with pytest.raises(UsageError, match="protocol"):
        registry.register_provider(object())  # type: ignore[arg-type]
    assert registry.provider_for("SM1") is module

"""Data protection by class: the table itself, C2 sealed/looked up/masked, C3 refused, key
rotation (old values open, rewrap and reindex move them), revealing only with the permission
and always audited, and the GCM operations of the security module."""

from __future__ import annotations

import base64

import pytest

from zhifu.core.errors import UsageError
from zhifu.security.access import AccessError, Principal
from zhifu.security.errors import KeyUsageError, SecurityModuleError
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.security.protect import CLASSES, ISO8583_FIELDS, DataClass, DataProtector, mask
from zhifu.security.store import KeyStore

PANS = ["6228480000000000017", "6225881234566789", "4000000000000002"]


@pytest.fixture
def protector() -> DataProtector:
    records: list[tuple[str, ...]] = []
    found = DataProtector(SoftHsm(KeyStore.in_memory()), audit=lambda *r: records.append(r))
    found.records = records  # type: ignore[attr-defined]
    return found


def test_the_table_puts_authentication_data_in_c3() -> None:
    c3 = {k for k, c in CLASSES.items() if c is DataClass.C3}
    assert {"track1", "track2", "track3", "chip_data", "cvn", "expiry", "pin", "pin_block",
            "password"} <= c3  # fmt: skip
    assert {k for k, c in CLASSES.items() if c is DataClass.C2} >= {"pan", "id_number", "phone",
                                                                     "balance"}  # fmt: skip
    for field, kind in ISO8583_FIELDS.items():
        assert kind in CLASSES and 2 <= field <= 128, field
    assert ISO8583_FIELDS[2] == "pan" and CLASSES[ISO8583_FIELDS[35]] is DataClass.C3


def test_c2_is_sealed_hashed_with_a_key_and_masked(protector: DataProtector) -> None:
    kept = [protector.protect("pan", pan) for pan in PANS]
    for pan, k in zip(PANS, kept, strict=True):
        assert pan not in k.sealed and pan not in k.lookup and k.masked == mask("pan", pan)
        assert k.masked.count("*") == len(pan) - 10
        assert protector.lookup("pan", pan) == k.lookup
    assert len({k.lookup for k in kept}) == 3
    again = protector.protect("pan", PANS[0])
    assert again.sealed != kept[0].sealed  # a fresh nonce each time
    other = DataProtector(SoftHsm(KeyStore.in_memory()))
    assert other.lookup("pan", PANS[0]) != kept[0].lookup  # keyed: another key, another hash


def test_c3_is_refused_and_unknown_kinds_too(protector: DataProtector) -> None:
    for kind in ("track2", "cvn", "pin_block", "expiry"):
        with pytest.raises(UsageError, match="C3"):
            protector.protect(kind, "x")
    with pytest.raises(UsageError, match="kind"):
        protector.protect("favourite_colour", "blue")


def test_rotation_keeps_old_values_and_moves_them(protector: DataProtector) -> None:
    kept = [protector.protect("pan", pan) for pan in PANS]
    assert protector.rotate() == (2, 2)
    moved = [protector.rewrap("pan", k.sealed) for k in kept]
    assert all(m.startswith("d2:") for m in moved)
    reindexed = [protector.reindex("pan", k.sealed) for k in kept]
    assert all(r.startswith("i2:") for r in reindexed)
    assert set(reindexed).isdisjoint(k.lookup for k in kept)  # every look-up hash changed
    assert reindexed == [protector.lookup("pan", pan) for pan in PANS]
    assert [protector.unseal("pan", k.sealed) for k in kept] == PANS  # old version opens


def test_reveal_needs_the_permission_and_is_audited(protector: DataProtector) -> None:
    kept = protector.protect("pan", PANS[0])
    admin = Principal("li", "admin", "session")
    operator = Principal("wang", "operator", "session")
    assert protector.reveal("pan", kept.sealed, principal=admin, reason="chargeback 42") == PANS[0]
    with pytest.raises(AccessError):
        protector.reveal("pan", kept.sealed, principal=operator, reason="curious")
    records = protector.records  # type: ignore[attr-defined]
    assert [(r[0], r[1], r[3]) for r in records] == [
        ("li", "data.reveal", "ok: chargeback 42"),
        ("wang", "data.reveal", "refused: curious"),
    ]
    assert PANS[0] not in repr(records)


def test_a_changed_value_or_another_kind_does_not_open(protector: DataProtector) -> None:
    sealed = protector.protect("phone", "13812345678").sealed
    raw = bytearray(base64.b64decode(sealed.partition(":")[2]))
    raw[15] ^= 1
    with pytest.raises(SecurityModuleError):
        protector.unseal("phone", "d1:" + base64.b64encode(bytes(raw)).decode())
    with pytest.raises(SecurityModuleError):
        protector.unseal("id_number", sealed)  # the kind is bound
    with pytest.raises(UsageError):
        protector.unseal("phone", "x9:abc")


def test_gcm_under_aes_and_sm4_data_keys_only() -> None:
    hsm = SoftHsm(KeyStore.in_memory())
    for algorithm in (KeyAlgorithm.AES, KeyAlgorithm.SM4):
        key = hsm.generate_key(KeyUsage.DATA, algorithm)
        sealed = hsm.seal_gcm(key, b"balance 1234", b"aad")
        assert len(sealed) == 12 + 12 + 16 and hsm.open_gcm(key, sealed, b"aad") == b"balance 1234"
    tdes = hsm.generate_key(KeyUsage.DATA, KeyAlgorithm.TDES)
    with pytest.raises(KeyUsageError):
        hsm.seal_gcm(tdes, b"x")
    mac = hsm.generate_key(KeyUsage.MAC, KeyAlgorithm.SM4)
    with pytest.raises(KeyUsageError):
        hsm.seal_gcm(mac, b"x")


def test_masks() -> None:
    assert mask("pan", "6228480000000000017") == "622848*********0017"
    assert mask("phone", "13812345678") == "138****5678"
    assert mask("name", "张三") == "***"

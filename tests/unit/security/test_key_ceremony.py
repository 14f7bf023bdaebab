"""Dual control: two different signed-in custodians, each one component; everything audited."""

from __future__ import annotations

import pytest

from zhifu.core.errors import UsageError
from zhifu.crypto.cipher import xor
from zhifu.security.access import AccessError, AccessStore, totp
from zhifu.security.access.ceremony import KeyCeremony
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage, compute_kcv
from zhifu.security.sealing import LmkSealer
from zhifu.security.secrets import KeyMaterial
from zhifu.security.store import KeyStore

PASSWORD = "custodian password"
C1, C2 = "0123456789ABCDEFFEDCBA9876543210", "00112233445566778899AABBCCDDEEFF"
T0 = 1_800_000_000.0


def _kcv(component: str) -> str:
    return compute_kcv(KeyAlgorithm.SM4, bytes.fromhex(component))


World = tuple[SoftHsm, AccessStore, dict[str, bytes], list[tuple[str, ...]]]


@pytest.fixture
def world() -> World:
    records: list[tuple[str, ...]] = []
    access = AccessStore.open(":memory:", sealer=LmkSealer(KeyMaterial(bytes(32))),
                              now=lambda: T0, audit=lambda *r: records.append(r))  # fmt: skip
    secrets = {}
    for name, role in (("li", "admin"), ("wang", "operator"), ("zhao", "auditor")):
        secret = access.add_user(name, role, PASSWORD, actor="setup")
        assert secret is not None
        secrets[name] = secret
    access.add_user("shop", "merchant", PASSWORD, actor="setup")
    return SoftHsm(KeyStore.in_memory()), access, secrets, records


def _ceremony(world: World) -> KeyCeremony:
    hsm, access, _, _ = world
    return KeyCeremony(hsm, access, usage=KeyUsage.KEK, algorithm=KeyAlgorithm.SM4, label="zmk")


def test_two_custodians_form_the_key(world: World) -> None:
    hsm, _, secrets, records = world
    ceremony = _ceremony(world)
    assert ceremony.enter(user="li", password=PASSWORD, totp=totp(secrets["li"], T0),
                          component=C1, kcv=_kcv(C1)) == 1  # fmt: skip
    with pytest.raises(UsageError, match="more component"):
        ceremony.form()
    with pytest.raises(UsageError, match="different custodian"):
        ceremony.enter(user="li", password=PASSWORD, totp=totp(secrets["li"], T0 + 30),
                       component=C2, kcv=_kcv(C2))  # fmt: skip
    assert ceremony.enter(user="wang", password=PASSWORD, totp=totp(secrets["wang"], T0),
                          component=C2, kcv=_kcv(C2)) == 2  # fmt: skip
    handle = ceremony.form()
    expected = compute_kcv(KeyAlgorithm.SM4, xor(bytes.fromhex(C1), bytes.fromhex(C2)))
    assert hsm.key_info(handle).kcv == expected
    audit = [(r[0], r[1], r[3].split(":")[0]) for r in records if r[1].startswith("key.")]
    assert audit == [("li", "key.component", "ok component 1 kcv " + _kcv(C1)),
                     ("li", "key.component", "refused"),
                     ("wang", "key.component", "ok component 2 kcv " + _kcv(C2)),
                     ("li + wang", "key.formed", audit[-1][2])]  # fmt: skip
    assert C1 not in repr(records) and C2 not in repr(records)


def test_refusals(world: World) -> None:
    _, _, secrets, _ = world
    ceremony = _ceremony(world)
    with pytest.raises(AccessError) as err:
        ceremony.enter(user="zhao", password=PASSWORD, totp=totp(secrets["zhao"], T0),
                       component=C1, kcv=_kcv(C1))  # fmt: skip
    assert err.value.code == "permission_denied"  # an auditor holds no component
    with pytest.raises(AccessError) as err:
        ceremony.enter(user="wang", password="wrong password!", totp="", component=C1,
                       kcv=_kcv(C1))  # fmt: skip
    assert err.value.code == "credentials_invalid"
    with pytest.raises(AccessError) as err:
        ceremony.enter(user="wang", password=PASSWORD, totp="", component=C1, kcv=_kcv(C1))
    assert err.value.code == "totp_required"
    with pytest.raises(UsageError, match="check value"):
        ceremony.enter(user="wang", password=PASSWORD, totp=totp(secrets["wang"], T0),
                       component=C1, kcv=_kcv(C2))  # fmt: skip
    with pytest.raises(UsageError, match="hex digits"):
        ceremony.enter(user="li", password=PASSWORD, totp=totp(secrets["li"], T0),
                       component="0123", kcv="000000")  # fmt: skip
    assert ceremony.pending == 2

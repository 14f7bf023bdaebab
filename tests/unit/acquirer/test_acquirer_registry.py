"""The registry: terminals with TMK handles, components for dual control, no clear keys."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from zhifu.acquirer.database import Database
from zhifu.acquirer.registry import (
    Registry,
    RegistryError,
    WorkingKeys,
    register_terminal,
)
from zhifu.core.errors import UsageError
from zhifu.crypto.cipher import Cipher, xor
from zhifu.crypto.kcv import kcv
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyUsage
from zhifu.security.store import KeyStore

MID, TID = "898100012345678", "10000001"


@pytest.fixture
def hsm() -> SoftHsm:
    return SoftHsm(KeyStore.in_memory())


@pytest.fixture
def registry() -> Registry:
    return Registry(Database())


@pytest.mark.parametrize(("algorithm", "cipher", "size"),
                         [("3des", Cipher.TDES, 16), ("sm4", Cipher.SM4, 16),
                          ("des", Cipher.DES, 8)])  # fmt: skip
def test_components_form_the_tmk(
    registry: Registry, hsm: SoftHsm, algorithm: str, cipher: Cipher, size: int
) -> None:
    reg = register_terminal(registry, hsm, MID, TID, name="till 1", algorithm=algorithm)
    parts = [c.material.reveal() for c in reg.components]
    assert len(parts) == 2 and all(len(p) == size for p in parts)
    for part, component in zip(parts, reg.components, strict=True):
        assert kcv(cipher, part).hex().upper() == component.kcv
    assert kcv(cipher, xor(parts[0], parts[1])).hex().upper() == reg.tmk_kcv
    info = hsm.key_info(reg.terminal.tmk_handle)
    assert info.handle.usage is KeyUsage.KEK and info.kcv == reg.tmk_kcv
    assert not info.exportable
    terminal = registry.terminal(TID)
    assert terminal is not None
    assert (terminal.name, terminal.tmk_algorithm, terminal.batch) == ("till 1", algorithm,
                                                                       "000001")  # fmt: skip
    assert registry.merchant(MID) is not None


def test_no_clear_key_in_the_database(tmp_path: Path, hsm: SoftHsm) -> None:
    path = tmp_path / "acquirer.db"
    db = Database(path)
    reg = register_terminal(Registry(db), hsm, MID, TID)
    db.close()
    raw = path.read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.iterdir() if p.name != path.name
    )
    dump = "\n".join(sqlite3.connect(path).iterdump()).upper()
    for component in reg.components:
        clear = component.material.reveal()
        assert clear not in raw and clear.hex().upper() not in dump
    assert reg.terminal.tmk_handle.upper() in dump
    assert repr(reg).count("redacted") == 2


def test_registration_refusals(registry: Registry, hsm: SoftHsm) -> None:
    register_terminal(registry, hsm, MID, TID)
    keys_before = len(hsm.list_keys())
    with pytest.raises(RegistryError, match="already registered"):
        register_terminal(registry, hsm, MID, TID)
    assert len(hsm.list_keys()) == keys_before
    with pytest.raises(UsageError, match="terminal_id: must be 8 ASCII characters"):
        register_terminal(registry, hsm, MID, "1234")
    with pytest.raises(UsageError, match="merchant_id"):
        register_terminal(registry, hsm, "12345", "10000002")
    with pytest.raises(UsageError, match="algorithm"):
        register_terminal(registry, hsm, MID, "10000002", algorithm="aes")
    with pytest.raises(RegistryError, match="merchant"):
        registry.add_terminal("10000003", "898100099999999", tmk_handle="K-x",
                              tmk_algorithm="3des", tmk_kcv="000000")  # fmt: skip


def test_sign_on_and_sign_off_keep_handles_only(registry: Registry, hsm: SoftHsm) -> None:
    register_terminal(registry, hsm, MID, TID)
    first = WorkingKeys("004", "K-pik", "K-mak", "K-tdk")
    assert registry.sign_on(TID, first, "000002") is None
    terminal = registry.terminal(TID)
    assert terminal is not None and terminal.working_keys == first
    assert terminal.batch == "000002" and terminal.signed_on is not None
    second = WorkingKeys("003", "K-pik2", "K-mak2")
    assert registry.sign_on(TID, second, "000003") == first
    assert registry.sign_off(TID) == second
    terminal = registry.terminal(TID)
    assert terminal is not None and terminal.working_keys is None
    assert terminal.status == "signed-off"
    registry.sign_on(TID, first, "000004")
    assert registry.terminal(TID).status == "active"  # type: ignore[union-attr]
    registry.set_status(TID, "blocked")
    registry.sign_on(TID, first, "000005")
    assert registry.terminal(TID).status == "blocked"  # type: ignore[union-attr]
    with pytest.raises(RegistryError):
        registry.sign_off("99999999")


def test_downloads_and_counters(registry: Registry, hsm: SoftHsm) -> None:
    register_terminal(registry, hsm, MID, TID)
    registry.record_download(TID, "capk", 3)
    registry.record_download(TID, "aid", 2)
    terminal = registry.terminal(TID)
    assert terminal is not None and (terminal.capk_version, terminal.aid_version) == (3, 2)
    with pytest.raises(UsageError):
        registry.record_download(TID, "blacklist", 1)
    assert [registry.next_value("rrn", 4) for _ in range(5)] == [1, 2, 3, 1, 2]


def test_terminal_view_has_no_key_material(registry: Registry, hsm: SoftHsm) -> None:
    reg = register_terminal(registry, hsm, MID, TID)
    view = reg.terminal.as_dict()
    assert view["tmk"] == {"handle": reg.terminal.tmk_handle, "algorithm": "3des",
                           "kcv": reg.tmk_kcv}  # fmt: skip
    text = repr(view).upper()
    for component in reg.components:
        assert component.material.reveal().hex().upper() not in text

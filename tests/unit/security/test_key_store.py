"""The key store: persistence across reopen, LMK from the environment or a file, clear errors for
a missing, malformed or wrong LMK, row integrity (AAD), atomic writes; plus key vocabulary."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from zhifu.core.errors import UsageError
from zhifu.security.errors import KeyNotFoundError, LmkError, SecurityModuleError
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import (
    KeyAlgorithm,
    KeyHandle,
    KeyUsage,
    compute_kcv,
    new_handle_id,
    security_bits,
    with_odd_parity,
)
from zhifu.security.store import KeyStore, load_lmk

LMK_A = "11" * 32
LMK_B = "22" * 32


def _open(path: Path, lmk: str = LMK_A) -> KeyStore:
    return KeyStore.open(path, environ={"ZHIFU_LMK": lmk})


def test_keys_survive_reopen(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    store = _open(path)
    hsm = SoftHsm(store)
    mak = hsm.generate_key(KeyUsage.MAC, KeyAlgorithm.TDES, label="MAK terminal 1")
    mac = hsm.generate_mac(mak, b"message")
    store.close()

    again = SoftHsm(_open(path))
    info = again.key_info(mak.id)
    assert info.handle == mak
    assert info.label == "MAK terminal 1"
    assert again.verify_mac(mak, b"message", mac)
    assert [e.event for e in again.store.audit_trail()] == ["add"]
    again.store.close()


def test_lmk_from_a_file(tmp_path: Path) -> None:
    lmk_file = tmp_path / "lmk.hex"
    lmk_file.write_text(LMK_A + "\n", encoding="ascii")
    store = KeyStore.open(tmp_path / "k.db", environ={"ZHIFU_LMK_FILE": str(lmk_file)})
    store.close()
    # The same LMK given inline opens it too.
    _open(tmp_path / "k.db").close()


def test_wrong_lmk_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    _open(path).close()
    with pytest.raises(LmkError) as info:
        _open(path, LMK_B)
    message = str(info.value)
    assert str(path) in message
    assert "created under another LMK" in message
    assert "ZHIFU_LMK" in message
    assert LMK_B not in message
    assert LMK_A not in message


@pytest.mark.parametrize(
    ("environ", "fragment"),
    [
        ({}, "set ZHIFU_LMK to 64 hex digits or ZHIFU_LMK_FILE to a file holding them"),
        ({"ZHIFU_LMK": "00" * 16}, "ZHIFU_LMK must be 64 hex digits (got 32 characters)"),
        ({"ZHIFU_LMK": "zz" * 32}, "it holds other characters"),
        ({"ZHIFU_LMK": LMK_A, "ZHIFU_LMK_FILE": "/x"}, "set only one"),
        ({"ZHIFU_LMK_FILE": "/nonexistent/lmk"}, "cannot read the LMK file /nonexistent/lmk"),
    ],
)
def test_missing_or_malformed_lmk(environ: dict[str, str], fragment: str) -> None:
    with pytest.raises(LmkError) as info:
        load_lmk(environ)
    assert fragment in str(info.value)
    assert "zz" * 32 not in str(info.value)


def test_malformed_lmk_file(tmp_path: Path) -> None:
    lmk_file = tmp_path / "lmk.hex"
    lmk_file.write_text("abc", encoding="ascii")
    with pytest.raises(LmkError, match=r"the LMK file .* must be 64 hex digits"):
        load_lmk({"ZHIFU_LMK_FILE": str(lmk_file)})


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(SecurityModuleError, match="cannot be opened as a zhifu key store"):
        _open(path)


def test_store_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "keys.db"
    _open(path).close()
    assert path.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("usage", "data"),
        ("algorithm", "des"),
        ("exportable", 1),
        ("kcv", "000000"),
        ("label", "forged"),
    ],
)
def test_relabelled_row_fails_integrity(tmp_path: Path, column: str, value: object) -> None:
    path = tmp_path / "keys.db"
    store = _open(path)
    hsm = SoftHsm(store)
    pin_key = hsm.generate_key(KeyUsage.PIN, KeyAlgorithm.TDES, exportable=False)
    store.close()
    with sqlite3.connect(path) as db:
        db.execute(f"UPDATE keys SET {column} = ? WHERE handle = ?", (value, pin_key.id))
    db.close()
    hsm = SoftHsm(_open(path))
    with pytest.raises(SecurityModuleError, match="failed its integrity check"):
        hsm.key_info(pin_key)
    with pytest.raises(SecurityModuleError, match="failed its integrity check"):
        hsm.encrypt_data(pin_key, bytes(8))
    hsm.store.close()


def test_write_is_atomic(store: KeyStore, hsm: SoftHsm, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_audit(*args: object) -> None:
        raise sqlite3.OperationalError("disk full")

    monkeypatch.setattr(store, "_audit_row", broken_audit)
    with pytest.raises(sqlite3.OperationalError):
        hsm.generate_key(KeyUsage.MAC, KeyAlgorithm.DES)
    monkeypatch.undo()
    assert store.handles() == []
    assert store.audit_trail() == []


def test_unknown_handle(hsm: SoftHsm) -> None:
    with pytest.raises(KeyNotFoundError, match="no key with handle K-0000"):
        hsm.key_info("K-0000")
    with pytest.raises(KeyNotFoundError):
        hsm.delete_key("K-0000")


def test_delete_is_audited(hsm: SoftHsm) -> None:
    key = hsm.generate_key(KeyUsage.DATA, KeyAlgorithm.AES)
    hsm.delete_key(key)
    with pytest.raises(KeyNotFoundError):
        hsm.key_info(key)
    assert [(e.event, e.handle) for e in hsm.store.audit_trail()] == [
        ("add", key.id),
        ("delete", key.id),
    ]


# --- key vocabulary -------------------------------------------------------------------------


def test_handle_repr_shows_only_metadata() -> None:
    handle = KeyHandle("K-0123456789abcdef", KeyUsage.KEK, KeyAlgorithm.SM4, "2677F4")
    assert repr(handle) == "KeyHandle('K-0123456789abcdef', usage=KEK, algorithm=SM4, kcv='2677F4')"


def test_handle_ids_are_unique_and_never_pan_like() -> None:
    ids = {new_handle_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(len(i) == 18 and i.startswith("K-") for i in ids)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("pin", KeyUsage.PIN), ("CARD_MASTER", KeyUsage.CARD_MASTER), ("kek", KeyUsage.KEK)],
)
def test_usage_parse(name: str, expected: KeyUsage) -> None:
    assert KeyUsage.parse(name) is expected


def test_parse_errors_name_the_argument() -> None:
    with pytest.raises(UsageError) as usage:
        KeyUsage.parse("tmk")
    assert usage.value.argument == "usage"
    with pytest.raises(UsageError) as algorithm:
        KeyAlgorithm.parse("ssf33")
    assert algorithm.value.argument == "algorithm"


def test_kcv_and_parity() -> None:
    key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    assert compute_kcv(KeyAlgorithm.TDES, key) == "08D7B4"  # docs/standards/card-terminal.md T15
    # docs/standards/card-terminal.md T05
    assert compute_kcv(KeyAlgorithm.SM4, key, 4) == "2677F46B"
    assert with_odd_parity(bytes.fromhex("0000FEFF")) == bytes.fromhex("0101FEFE")
    assert all(bin(b).count("1") % 2 for b in with_odd_parity(bytes(range(256))))


@pytest.mark.parametrize(
    ("algorithm", "length", "bits"),
    [
        (KeyAlgorithm.DES, 8, 56),
        (KeyAlgorithm.TDES, 16, 80),
        (KeyAlgorithm.TDES, 24, 112),
        (KeyAlgorithm.AES, 16, 128),
        (KeyAlgorithm.SM4, 16, 128),
    ],
)
def test_security_bits(algorithm: KeyAlgorithm, length: int, bits: int) -> None:
    assert security_bits(algorithm, length) == bits


def test_store_in_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(SecurityModuleError, match="cannot create the key store at"):
        _open(tmp_path / "no" / "such" / "keys.db")


def test_store_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        path = tmp_path / "keys.db"
        store = _open(path)
        SoftHsm(store).generate_key(KeyUsage.MAC, KeyAlgorithm.TDES)
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert [stat.S_IMODE(f.stat().st_mode) for f in files] == [0o600] * 3
        store.close()

        # a store made 0644 by an earlier version (WAL left behind) is tightened on open
        old = tmp_path / "old.db"
        _open(old).close()
        keep = sqlite3.connect(old)  # holds the WAL files open, as a crashed run leaves them
        keep.execute("PRAGMA journal_mode = WAL")
        keep.execute("INSERT INTO audit (at, event, handle, detail) VALUES ('', 'x', '', '')")
        keep.commit()
        side = [old, Path(f"{old}-wal"), Path(f"{old}-shm")]
        for f in side:
            os.chmod(f, 0o644)
        _open(old).close()
        assert [stat.S_IMODE(f.stat().st_mode) for f in side] == [0o600] * 3
        keep.close()
    finally:
        os.umask(old_umask)


def test_handles_of_some_usages() -> None:
    hsm = SoftHsm(KeyStore.in_memory())
    pik = hsm.generate_key(KeyUsage.PIN, KeyAlgorithm.TDES)
    kek = hsm.generate_key(KeyUsage.KEK, KeyAlgorithm.TDES)
    mak = hsm.generate_key(KeyUsage.MAC, KeyAlgorithm.DES)
    assert set(hsm.store.handles()) == {pik.id, kek.id, mak.id}
    assert set(hsm.store.handles([KeyUsage.PIN, KeyUsage.MAC])) == {pik.id, mak.id}
    assert hsm.store.handles([]) == []
    hsm.delete_key(mak, reason="a test")
    assert hsm.store.audit_trail()[-1].detail == "a test"

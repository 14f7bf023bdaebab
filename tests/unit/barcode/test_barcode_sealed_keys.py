"""The platform's key files (each institution's master key for device secrets and its
notification-signing key) sealed under the LMK (zhifu.security.sealing over the barcode
platform's SecretSealer contract): no key byte in clear in any file of the platform folder,
clear files of an earlier version sealed and removed on open, a wrong LMK refused by name."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from zhifu.barcode.platform.system import INSTITUTIONS, BarcodeSystem
from zhifu.crypto import sm2
from zhifu.security.errors import LmkError
from zhifu.security.sealing import LmkSealer
from zhifu.security.secrets import KeyMaterial

LMK = KeyMaterial(secrets.token_bytes(32))


def canaries(system: BarcodeSystem) -> dict[str, bytes]:
    """Each key's bytes, in every form a file could hold them in."""
    found: dict[str, bytes] = {}
    for inst, node in system.nodes.items():
        master = node._secrets._master
        pem = sm2.private_key_to_pem(node.signing_key.private_key)
        body = "".join(pem.strip().splitlines()[1:-1])
        found |= {
            f"{inst} master": master,
            f"{inst} master hex": master.hex().encode(),
            f"{inst} notify pem": body[-40:].encode(),  # past the constant header
            f"{inst} notify d": node.signing_key.private_key.secret,
        }
    return found


def leaks(folder: Path, keys: dict[str, bytes]) -> list[str]:
    """(file, key) for each key found in clear in a file under ``folder``."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {name}" for name, key in keys.items() if key in data]
    return found


def test_no_key_byte_in_clear_in_any_file(tmp_path: Path) -> None:
    system = BarcodeSystem.open(tmp_path, sealer=LmkSealer(LMK))
    try:
        system.add_merchant("M1", "zhifu", "Noodles")
        system.open_wallet("zhifu", "C1", "A1")
        system.enroll_device("zhifu", "C1", "A1")
        keys = canaries(system)
        assert leaks(tmp_path, keys) == []  # the database's log is there too while open
    finally:
        system.close()
    assert leaks(tmp_path, keys) == []
    assert {f"{inst}-master.key.sealed" for inst in INSTITUTIONS} <= {
        p.name for p in tmp_path.iterdir()
    }
    again = BarcodeSystem.open(tmp_path, sealer=LmkSealer(LMK))
    try:
        assert canaries(again) == keys  # the same keys come back
    finally:
        again.close()


def test_clear_key_files_are_sealed_and_removed_on_open(tmp_path: Path) -> None:
    old = BarcodeSystem.open(tmp_path)  # as an earlier version kept them: in clear
    keys = canaries(old)
    old.close()
    assert len(leaks(tmp_path, keys)) == 2 * len(INSTITUTIONS)  # hex master key and PEM
    system = BarcodeSystem.open(tmp_path, sealer=LmkSealer(LMK))
    try:
        assert canaries(system) == keys
    finally:
        system.close()
    assert leaks(tmp_path, keys) == []
    names = {p.name for p in tmp_path.iterdir()}
    assert not names & {f"{inst}-master.key" for inst in INSTITUTIONS}
    assert not names & {f"{inst}-notify.pem" for inst in INSTITUTIONS}


def test_a_wrong_lmk_is_refused_by_name(tmp_path: Path) -> None:
    BarcodeSystem.open(tmp_path, sealer=LmkSealer(LMK)).close()
    with pytest.raises(LmkError, match=r"master\.key was sealed under another LMK.*ZHIFU_LMK"):
        BarcodeSystem.open(tmp_path, sealer=LmkSealer(KeyMaterial(secrets.token_bytes(32))))
    assert all((tmp_path / f"{inst}-master.key.sealed").exists() for inst in INSTITUTIONS)


def test_a_sealed_file_given_another_name_is_refused(tmp_path: Path) -> None:
    BarcodeSystem.open(tmp_path, sealer=LmkSealer(LMK)).close()
    swapped = (tmp_path / "huanyu-master.key.sealed").read_bytes()
    (tmp_path / "zhifu-master.key.sealed").write_bytes(swapped)
    with pytest.raises(LmkError, match=r"zhifu-master\.key"):
        BarcodeSystem.open(tmp_path, sealer=LmkSealer(LMK))

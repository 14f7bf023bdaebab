"""The platform's files are its owner's only: under umask 022, every file the platform writes
(its database and side files, the ledgers, the key files) is 0600 and every folder it creates
0700."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from zhifu.barcode.platform.system import BarcodeSystem


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def modes(root: Path) -> dict[str, str]:
    """Relative path -> octal mode of the folder ``root`` and of everything under it."""
    found = {".": oct(stat.S_IMODE(root.stat().st_mode))}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.stat().st_mode))
    return found


@pytest.mark.usefixtures("umask_022")
def test_every_file_is_0600_and_every_folder_0700(tmp_path: Path) -> None:
    home = tmp_path / "var" / "barcode"
    system = BarcodeSystem.open(home)
    try:
        system.add_merchant("M1", "zhifu", "Noodles")
        system.open_wallet("zhifu", "C1", "A1")
        system.top_up("zhifu", "A1", 10_000, "topup-A1")
        handle, secret = system.enroll_device("zhifu", "C1", "A1")
        phone = system.phone("zhifu", handle, secret)
        system.flows.micropay("M1", "T1", phone.next_code(), 100)
        found = modes(home)  # while open: the -wal and -shm files are there
    finally:
        system.close()
    found |= modes(home)
    assert oct(stat.S_IMODE((tmp_path / "var").stat().st_mode)) == "0o700"
    assert {"barcode.db-wal", "barcode.db-shm", "ledger-zhifu.db", "zhifu-master.key"} <= set(found)
    assert {name for name, mode in found.items() if mode != "0o600"} == {"."}
    assert found["."] == "0o700"


@pytest.mark.usefixtures("umask_022")
def test_files_an_earlier_version_left_open_are_tightened(tmp_path: Path) -> None:
    BarcodeSystem.open(tmp_path).close()
    (tmp_path / "barcode.db").chmod(0o644)
    BarcodeSystem.open(tmp_path).close()
    assert oct(stat.S_IMODE((tmp_path / "barcode.db").stat().st_mode)) == "0o600"

"""Private data files: 0700 folders, 0600 files, whatever the umask."""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from zhifu.core.files import mode_of, private_file, private_folder, private_sqlite


@pytest.fixture(params=[0o000, 0o022], ids=["umask000", "umask022"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def test_new_folders_are_0700_up_to_the_first_existing_one(tmp_path: Path, umask: int) -> None:
    os.chmod(tmp_path, 0o755)
    folder = private_folder(tmp_path / "a" / "b" / "var")
    assert folder == tmp_path / "a" / "b" / "var" and folder.is_dir()
    for made in (tmp_path / "a", tmp_path / "a" / "b", folder):
        assert mode_of(made) == 0o700, made
    assert mode_of(tmp_path) == 0o755  # there before: not ours to change


def test_an_existing_open_folder_is_kept_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o755)
    with caplog.at_level(logging.WARNING, logger="zhifu.core.files"):
        private_folder(shared)
    assert mode_of(shared) == 0o755
    assert "open to other users" in caplog.text
    caplog.clear()
    os.chmod(shared, 0o700)
    with caplog.at_level(logging.WARNING, logger="zhifu.core.files"):
        private_folder(shared)
    assert caplog.text == ""


def test_new_file_is_0600_with_its_content(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "lmk.key"
    assert private_file(path, b"abc\n") is True
    assert mode_of(path) == 0o600
    assert path.read_bytes() == b"abc\n"
    empty = tmp_path / "empty.db"
    assert private_file(empty) is True
    assert mode_of(empty) == 0o600 and empty.read_bytes() == b""


def test_existing_file_keeps_its_content_and_loses_group_and_other_access(
    tmp_path: Path,
) -> None:
    path = tmp_path / "acquirer.db"
    path.write_bytes(b"old")
    os.chmod(path, 0o644)
    assert private_file(path, b"new") is False
    assert path.read_bytes() == b"old"
    assert mode_of(path) == 0o600
    os.chmod(path, 0o400)  # stricter than 0600: left so
    private_file(path)
    assert mode_of(path) == 0o400


def test_a_file_in_a_missing_folder_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        private_file(tmp_path / "missing" / "keys.db")


def test_sqlite_side_files_are_tightened(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "old.db"
        db = sqlite3.connect(path)  # as an earlier version made it: 0644, WAL files 0644
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("CREATE TABLE t (x)")
        db.execute("INSERT INTO t VALUES (1)")
        db.commit()
        side = [Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert [mode_of(p) for p in (path, *side)] == [0o644] * 3
        private_sqlite(path)
        assert [mode_of(p) for p in (path, *side)] == [0o600] * 3
        db.close()
    finally:
        os.umask(old)
    private_sqlite(tmp_path / "never-created.db")  # nothing there: nothing to do

"""A ledger file and SQLite's side files are private (0600), whatever the umask."""

from __future__ import annotations

import os
from pathlib import Path

from zhifu.core.files import mode_of
from zhifu.ledger import Account, AccountFlags, Ledger


def test_a_new_ledger_file_is_private(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        ledger = Ledger.open(f"sqlite:///{tmp_path / 'books.db'}")
        ledger.create_accounts([Account(id=1, ledger=156, code=1001, flags=AccountFlags.NONE)])
        files = sorted(tmp_path.iterdir())
        modes = {p.name: oct(mode_of(p)) for p in files}
        ledger.close()
    finally:
        os.umask(previous)
    assert "books.db" in modes
    assert set(modes.values()) == {"0o600"}, modes


def test_an_old_world_readable_ledger_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "books.db"
    Ledger.open(f"sqlite:///{path}").close()
    path.chmod(0o644)
    Ledger.open(f"sqlite:///{path}", create=False).close()
    assert oct(mode_of(path)) == "0o600"

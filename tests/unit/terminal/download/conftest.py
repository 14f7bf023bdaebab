"""A platform and a terminal that trusts it, for the download tests.

The platform is zhifu's acquirer side (an in-memory database and security module) with two
registered terminals; terminal ``10000001`` is a real state folder formed from the TMK
components its registration printed, with the platform key installed, so packages built by
:class:`~zhifu.acquirer.downloads.DownloadBuilder` apply to it for real.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from zhifu.acquirer.database import Database
from zhifu.acquirer.downloads import DownloadBuilder
from zhifu.acquirer.registry import Registry, register_terminal
from zhifu.core.clock import SHANGHAI, FixedClock
from zhifu.security.audit_trail import AuditRecord, AuditTrail
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.store import KeyStore
from zhifu.terminal import Terminal
from zhifu.terminal.download import Applied, apply_package, install_platform_key
from zhifu.terminal.state import open_hsm

MID, TID, OTHER_TID = "898100012345678", "10000001", "10000002"
LMK = "4B" * 32


class Rig:
    """The platform (``builder``, ``platform``) and the terminal folder (``folder``)."""

    def __init__(self, tmp_path: Path) -> None:
        self.db = Database()
        self.platform = SoftHsm(KeyStore.in_memory())
        registry = Registry(self.db)
        reg = register_terminal(registry, self.platform, MID, TID, merchant_name="湖畔面馆")
        register_terminal(registry, self.platform, MID, OTHER_TID)
        self.components = [c.material.reveal().hex().upper() for c in reg.components]
        self.folder = tmp_path / "term"
        Terminal.init(self.folder, MID, TID, self.components).close()
        self.clock = FixedClock(datetime(2026, 1, 5, 9, 0, tzinfo=SHANGHAI))
        self.builder = DownloadBuilder(self.db, self.platform, clock=self.clock)
        key = self.builder.platform_key()
        install_platform_key(self.folder, key.public_key, key.algorithm)

    def apply(self, data: bytes) -> Applied:
        return apply_package(self.folder, data, clock=self.clock)

    def snapshot(self) -> dict[str, str]:
        """SHA-256 of every file of the state folder but the audit trail (the store's files:
        state.json, downloads.json, keys.db and its side files, programs/)."""
        return {
            str(path.relative_to(self.folder)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(self.folder.rglob("*"))
            if path.is_file() and not path.name.startswith("audit.db")
        }

    def audit(self) -> list[AuditRecord]:
        hsm = open_hsm(self.folder)
        trail = AuditTrail.open(self.folder / "audit.db", hsm)
        try:
            assert trail.verify().ok
            return trail.records()
        finally:
            trail.close()
            hsm.store.close()

    def download_keys(self) -> dict[str, str]:
        """Handle -> label of the downloaded keys in the terminal's security module."""
        hsm = open_hsm(self.folder)
        try:
            return {i.handle.id: i.label for i in hsm.list_keys() if i.label.startswith("download")}
        finally:
            hsm.store.close()


@pytest.fixture
def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    monkeypatch.setenv("ZHIFU_LMK", LMK)
    built = Rig(tmp_path)
    yield built
    built.db.close()

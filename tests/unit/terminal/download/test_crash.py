"""A process killed (SIGKILL) at any step of applying a package leaves the old store or the new
one, never a mix; every key and program file the store names exists; the next package applied
removes what the killed one left behind.

The child process applies the package with ``ZHIFU_DOWNLOAD_CRASH_AT`` naming a step of
:mod:`zhifu.terminal.download.apply`; the hook there kills it at that point, as a power cut
would."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from zhifu.security.download.errors import ReplayedPackageError
from zhifu.security.download.kinds import Kind
from zhifu.security.keys import KeyUsage
from zhifu.terminal.download import DownloadStore
from zhifu.terminal.download.store import CRASH_ENV
from zhifu.terminal.state import open_hsm

if TYPE_CHECKING:
    from .conftest import Rig

TID = "10000001"
CHILD = "import sys; from zhifu.terminal.download import apply_file; apply_file(*sys.argv[1:])"
STEPS_BEFORE = ("store-written",)  # the store is still the old one when killed here
STEPS_AFTER = ("store-renamed",)  # the new one is in place


def _apply_and_die(rig: Rig, package: Path, step: str) -> None:
    env = {**os.environ, CRASH_ENV: step}
    child = subprocess.run([sys.executable, "-c", CHILD, str(rig.folder), str(package)],
                           env=env, capture_output=True, timeout=60, check=False)  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()


def _digests(store: DownloadStore, kind: Kind) -> dict[str, str]:
    return {k: v["digest"] for k, v in store.table(kind).entries.items()}


def _consistent(rig: Rig) -> DownloadStore:
    """The store parses, and every key and program file it names is there."""
    store = DownloadStore.load(rig.folder)
    hsm = open_hsm(rig.folder)
    try:
        for handle in store.key_handles():
            assert hsm.key_info(handle).usage in (KeyUsage.PIN, KeyUsage.MAC, KeyUsage.DATA)
    finally:
        hsm.store.close()
    for entry in store.table(Kind.PROGRAM).entries.values():
        blob = (rig.folder / entry["data"]["file"]).read_bytes()
        assert hashlib.sha256(blob).hexdigest().upper() == entry["data"]["sha256"]
    return store


def _leftovers_removed(rig: Rig) -> None:
    store = DownloadStore.load(rig.folder)
    assert set(rig.download_keys()) == store.key_handles()
    programs = rig.folder / "programs"
    names = {p.name for p in programs.iterdir()} if programs.exists() else set()
    assert names == store.program_files()


KEY_STEPS = ("key-imported", "keys-imported", *STEPS_BEFORE, *STEPS_AFTER)
PROGRAM_STEPS = ("program-written", "program-renamed", *STEPS_BEFORE, *STEPS_AFTER)


@pytest.mark.parametrize(("kind", "step"), [(Kind.KEYS, s) for s in KEY_STEPS]
                         + [(Kind.PROGRAM, s) for s in PROGRAM_STEPS])  # fmt: skip
def test_a_kill_at_any_step_leaves_the_old_store_or_the_new_one(
    rig: Rig, tmp_path: Path, kind: Kind, step: str
) -> None:
    first, second = _packages(rig, kind)
    rig.apply(first)
    old = _digests(DownloadStore.load(rig.folder), kind)
    package = tmp_path / "second.zdl"
    package.write_bytes(second)

    _apply_and_die(rig, package, step)

    store = _consistent(rig)
    new_store = step in STEPS_AFTER
    assert store.version(kind) == (2 if new_store else 1)
    if not new_store:
        assert _digests(store, kind) == old
        rig.apply(second)  # the package applies after the crash, and cleans up
    else:
        assert _digests(store, kind) != old
        with pytest.raises(ReplayedPackageError):
            rig.apply(second)
        rig.apply(_packages(rig, kind, third=True)[0])  # the next one cleans up
    _consistent(rig)
    _leftovers_removed(rig)


def _packages(rig: Rig, kind: Kind, *, third: bool = False) -> list[bytes]:
    """Two packages of ``kind`` (or, with ``third``, one more) that change every entry."""
    builder = rig.builder
    if kind is Kind.KEYS:
        wanted = [{"pik": KeyUsage.PIN, "mak": KeyUsage.MAC, "tdk": KeyUsage.DATA},
                  {"pik": KeyUsage.PIN, "mak": KeyUsage.MAC}]  # fmt: skip
        return [builder.build_keys(TID, keys).data for keys in wanted[: 1 if third else 2]]
    blobs = [b"pos 1.0" * 999, b"pos 1.1" * 999] if not third else [b"pos 1.2" * 999]
    return [builder.build(TID, Kind.PROGRAM, builder.program_entries("pos", f"v{n}", blob)).data
            for n, blob in enumerate(blobs)]  # fmt: skip

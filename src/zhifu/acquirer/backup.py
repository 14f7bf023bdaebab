"""Back up a data directory into one encrypted file, and restore it onto a fresh one.

**Backup.** Every file under the data directory goes into a tar stream sealed by
:class:`~zhifu.security.backup.BackupWriter`. An SQLite database is copied with SQLite's online
backup (a consistent snapshot of that database even while a process writes to it; its ``-wal``
and ``-shm`` files are not needed then); any other file (key files, the PKI, sealed secrets) as
it is. The first member, ``MANIFEST.json``, lists each file with its size and SHA-256. For one
point in time across *all* the databases, stop the stack first (``make run`` / Ctrl-C).

**Restore** opens the file (a wrong passphrase, a changed byte or a cut file is refused before
anything is written), extracts into a sibling folder, checks every file against the manifest,
and only then renames the folder into place: the target never holds a partial restore. Then
:func:`verify` runs the checks of a restored installation: every ledger database balanced
(:meth:`zhifu.ledger.Ledger.check`) and the audit trail verified.

>>> import tempfile
>>> home, out = Path(tempfile.mkdtemp()), Path(tempfile.mkdtemp()) / "x.zbak"
>>> _ = (home / "notes.txt").write_text("hello")
>>> made = back_up(home, out, "a passphrase long enough")
>>> made.files
1
>>> target = Path(tempfile.mkdtemp()) / "restored"
>>> restore(out, target, "a passphrase long enough").files, (target / "notes.txt").read_text()
(1, 'hello')
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from zhifu.acquirer.config import LMK_FILE
from zhifu.acquirer.site import open_site
from zhifu.core.errors import UsageError
from zhifu.security.backup import BackupError, BackupReader, BackupWriter
from zhifu.security.errors import LmkError
from zhifu.security.store import LMK_ENV, LMK_FILE_ENV

__all__ = ["Made", "back_up", "restore", "verify"]

MANIFEST: Final = "MANIFEST.json"
_SQLITE: Final = b"SQLite format 3\x00"
_SKIP: Final = ("-wal", "-shm", "-journal")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Made:
    """What a backup or a restore did: files, bytes, seconds, and the checks (restore)."""

    files: int
    bytes: int
    seconds: float
    checks: dict[str, str] = field(default_factory=dict)


def _members(home: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(home.rglob("*")):
        if path.is_file() and not path.name.endswith(_SKIP):
            yield path.relative_to(home).as_posix(), path


def _is_sqlite(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(16) == _SQLITE


def _snapshot(path: Path, into: Path) -> Path:
    """A consistent copy of an SQLite database (the online backup API), else the file."""
    copy = into / hashlib.sha256(str(path).encode()).hexdigest()[:16]
    if _is_sqlite(path):
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        target = sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        shutil.copyfile(path, copy)
    return copy


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def back_up(home: Path, out: Path, passphrase: str, progress: Progress | None = None) -> Made:
    """Write the encrypted backup of ``home`` to ``out`` (see the module docstring)."""
    say, started = progress or (lambda _: None), time.monotonic()
    if not home.is_dir():
        raise UsageError(f"no data directory at {home}", argument="--home")
    with tempfile.TemporaryDirectory(prefix="zhifu-backup-") as scratch:
        copies = [(name, _snapshot(path, Path(scratch))) for name, path in _members(home)]
        say(f"snapshot of {len(copies)} files taken")
        manifest = {name: {"size": p.stat().st_size, "sha256": _digest(p)} for name, p in copies}
        partial = out.with_name(out.name + ".partial")
        with (
            partial.open("wb") as sink,
            BackupWriter(sink, passphrase) as writer,
            tarfile.open(fileobj=writer, mode="w|") as tar,  # type: ignore[call-overload]
        ):
            _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
            for i, (name, copy) in enumerate(copies, 1):
                tar.add(copy, arcname=name, recursive=False)
                say(f"{i}/{len(copies)} {name}")
        os.replace(partial, out)
        total = sum(p.stat().st_size for _, p in copies)
    return Made(len(manifest), total, time.monotonic() - started)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    tar.addfile(info, io.BytesIO(data))


def restore(source: Path, target: Path, passphrase: str, progress: Progress | None = None) -> Made:
    """Restore ``source`` into ``target`` (which must not exist or be empty)."""
    say, started = progress or (lambda _: None), time.monotonic()
    if target.exists() and any(target.iterdir()):
        raise UsageError(f"{target} is not empty; restore onto a fresh one", argument="--home")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.restoring-", dir=target.parent))
    try:
        with source.open("rb") as f:
            reader = BackupReader(f, passphrase)
            with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
                tar.extractall(staging, filter="data")
        manifest = _check_manifest(staging)
        say(f"{len(manifest)} files restored and checked")
        if target.exists():
            target.rmdir()
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    os.chmod(target, 0o700)
    total = sum(p.stat().st_size for _, p in _members(target))
    return Made(len(manifest), total, time.monotonic() - started)


def _check_manifest(staging: Path) -> dict[str, dict[str, object]]:
    path = staging / MANIFEST
    if not path.is_file():
        raise BackupError(f"the backup has no {MANIFEST}")
    manifest: dict[str, dict[str, object]] = json.loads(path.read_text())
    path.unlink()
    found = {name for name, _ in _members(staging)}
    if found != set(manifest):
        raise BackupError(f"the files differ from {MANIFEST}: {sorted(found ^ set(manifest))[:3]}")
    for name, entry in manifest.items():
        if _digest(staging / name) != entry["sha256"]:
            raise BackupError(f"{name} does not match its SHA-256 in {MANIFEST}")
    return manifest


def verify(home: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The checks of a (restored) installation: each ledger database, the audit trail.

    Each entry is ``ok ...`` or ``FAILED ...``; the LMK comes from ``environ`` (or the
    process environment), else the data directory's own ``lmk.key``.
    """
    from zhifu.ledger import Ledger  # noqa: PLC0415

    checks: dict[str, str] = {}
    for name, path in _members(home):
        if _is_sqlite(path) and _has_tables(path, {"accounts", "transfers"}):
            with Ledger.open(f"sqlite:///{path}", create=False) as ledger:
                report = ledger.check()
            checks[f"ledger {name}"] = "ok balanced" if report.balanced else (
                "FAILED " + "; ".join(report.problems[:3]))  # fmt: skip
    if (home / "audit.db").is_file():
        checks["audit audit.db"] = _verify_trail(home, environ)
    return checks


def _verify_trail(home: Path, environ: Mapping[str, str] | None) -> str:

    env = dict(os.environ if environ is None else environ)
    if not (env.get(LMK_ENV) or env.get(LMK_FILE_ENV) or (home / LMK_FILE).is_file()):
        return f"FAILED: set {LMK_ENV} or {LMK_FILE_ENV} to the LMK the installation was made under"
    try:
        with open_site(home, env) as site:
            verdict = site.trail.verify()
    except LmkError as exc:
        return f"FAILED: {exc}"
    broken = f"FAILED at record {verdict.first_bad}: {verdict.reason}"
    return f"ok {verdict.records} records" if verdict.ok else broken


def _has_tables(path: Path, names: set[str]) -> bool:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    finally:
        db.close()
    return names <= {r[0] for r in rows}

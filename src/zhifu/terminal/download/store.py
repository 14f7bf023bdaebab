"""What a terminal holds from downloads: ``downloads.json`` and the program files beside it.

``TERM/downloads.json`` (mode 0600) names the platform key the terminal trusts (its handle in
the terminal's security module, its key id and algorithm) and, per kind, the version applied,
when, and the entries by id, each with the digest it came with and its data — except that a
key is kept as its handle in ``keys.db`` (sealed under the LMK, usage and check value beside
it) and a program as the file ``programs/<SHA-256>.bin`` that holds it. Nothing secret is in
the file: no key, wrapped or clear.

The file is replaced atomically (:meth:`DownloadStore.save`: a temporary file, fsync, rename,
fsync of the folder): a crash leaves the old store or the new one. Program files are written
the same way, before the store that names them.

>>> import tempfile
>>> store = DownloadStore.load(tempfile.mkdtemp())
>>> store.version(Kind.PARAMS), store.signer is None
(0, True)
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
from pathlib import Path
from typing import Any, Final

from zhifu.core.errors import DecodeError
from zhifu.core.files import private_folder, sync_folder, write_synced
from zhifu.security.download.kinds import Kind

__all__ = [
    "CRASH_ENV",
    "PROGRAMS",
    "STORE_FILE",
    "DownloadStore",
    "Table",
    "TrustedKey",
    "crash_point",
    "write_atomically",
]

STORE_FILE: Final = "downloads.json"
PROGRAMS: Final = "programs"
FORMAT: Final = "zhifu-terminal-downloads/1"
CRASH_ENV: Final = "ZHIFU_DOWNLOAD_CRASH_AT"
"""Test hook: the name of the step at which :func:`crash_point` kills the process (SIGKILL)."""


def crash_point(step: str) -> None:
    """Die here, as a power cut would, when the crash test names this step (tests only)."""
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def write_atomically(path: Path, content: bytes, *, step: str) -> None:
    """Replace ``path`` with ``content``: a temporary file, fsync, rename, fsync of the folder.

    ``step`` names the crash points around the rename (``<step>-written``, ``<step>-renamed``).
    """
    temporary = path.with_name(f".{path.name}.tmp")
    write_synced(temporary, content)
    crash_point(f"{step}-written")
    os.replace(temporary, path)
    sync_folder(path.parent)
    crash_point(f"{step}-renamed")


@dataclasses.dataclass(frozen=True)
class TrustedKey:
    """The platform public key a terminal verifies packages with (installed at manufacture)."""

    handle: str
    key_id: str
    algorithm: str


@dataclasses.dataclass
class Table:
    """One kind's applied version and entries (``id -> {"digest": …, "data": {…}}``)."""

    version: int = 0
    applied: str = ""
    entries: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class DownloadStore:
    """``TERM/downloads.json`` in memory (see the module docstring)."""

    folder: Path
    signer: TrustedKey | None = None
    tables: dict[Kind, Table] = dataclasses.field(default_factory=dict)

    @property
    def path(self) -> Path:
        """The store's file."""
        return self.folder / STORE_FILE

    def table(self, kind: Kind) -> Table:
        """The table of ``kind`` (empty, version 0, before its first package)."""
        return self.tables.get(kind) or Table()

    def version(self, kind: Kind) -> int:
        """The version of ``kind`` applied (0: none yet)."""
        return self.table(kind).version

    def key_handles(self) -> set[str]:
        """Handles of the downloaded keys the store names."""
        keys = self.table(Kind.KEYS).entries.values()
        return {str(entry["data"]["handle"]) for entry in keys}

    def program_files(self) -> set[str]:
        """Names (under ``programs/``) of the program files the store names."""
        programs = self.table(Kind.PROGRAM).entries.values()
        return {Path(str(entry["data"]["file"])).name for entry in programs}

    def encode(self) -> bytes:
        """The file's bytes."""
        data = {
            "format": FORMAT,
            "signer": None if self.signer is None else dataclasses.asdict(self.signer),
            "tables": {k.value: dataclasses.asdict(t) for k, t in sorted(
                self.tables.items(), key=lambda item: item[0].value)},
        }  # fmt: skip
        return (json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()

    def save(self) -> None:
        """Replace the file atomically (crash points ``store-written``, ``store-renamed``)."""
        private_folder(self.folder)
        write_atomically(self.path, self.encode(), step="store")

    @classmethod
    def load(cls, folder: Path | str) -> DownloadStore:
        """The store of a state folder (empty when nothing was ever downloaded)."""
        root = Path(folder)
        try:
            raw = (root / STORE_FILE).read_bytes()
        except FileNotFoundError:
            return cls(root)
        try:
            data = json.loads(raw)
            known = isinstance(data, dict) and data.get("format") == FORMAT
            signer, tables = (data["signer"], data["tables"]) if known else (None, {})
            store = cls(
                root,
                None if signer is None else TrustedKey(**signer),
                {Kind(k): Table(**t) for k, t in tables.items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            known = False
        if not known:
            raise DecodeError(f"not a {FORMAT} file: restore it from a backup", field=STORE_FILE)
        return store

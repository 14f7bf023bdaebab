"""Applying a signed package to a terminal: every check first, then the whole package or nothing.

Checks, in this order (the first that fails refuses the package, see
:mod:`zhifu.security.download.errors`): the file's form; a platform key is installed; the
signer is that key; the signature; every entry's digest and content rules; the package is for
this terminal; its version is above the one applied (equal: replayed; below: older); a delta
package was built on the version the terminal holds; every ``add`` is new and every
``update`` and ``delete`` names an entry the terminal holds; the keys fit in the key store.
None of these writes anything.

Then, in this order: the keys are unwrapped under the TMK into the security module (each
checked against its KCV; one that does not match deletes the others again and refuses the
package), the programs are written to ``programs/<SHA-256>.bin``, and ``downloads.json`` is
replaced atomically — the one step that makes the package applied. Only after it are the
replaced keys deleted and unused program files removed; what a crash leaves behind there (keys
no store names, files no store names) is removed by the next package applied. A crash at any
point leaves the old store or the new one, never a mix, and every key and file the store names
exists.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from zhifu.core.clock import Clock, SystemClock
from zhifu.core.errors import UsageError, ZhifuError
from zhifu.core.files import private_folder
from zhifu.security.download.errors import (
    BaseVersionError,
    DownloadError,
    EntryConflictError,
    KeyCheckError,
    NoRoomError,
    NotTrustedError,
    ReplayedPackageError,
    StalePackageError,
    WrongTerminalError,
)
from zhifu.security.download.kinds import Kind
from zhifu.security.download.package import MAX_PACKAGE_BYTES, Entry, Op, Package, decode_file
from zhifu.security.download.signing import verify_package
from zhifu.security.errors import KcvMismatchError, SecurityModuleError
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyUsage
from zhifu.terminal.download.store import (
    PROGRAMS,
    DownloadStore,
    Table,
    crash_point,
    write_atomically,
)
from zhifu.terminal.download.trust import record
from zhifu.terminal.secure import SecureModule, StoreFullError
from zhifu.terminal.state import TerminalState, open_hsm

__all__ = ["KEY_LABEL", "Applied", "apply_file", "apply_package"]

KEY_LABEL: Final = "download key "
"""Label prefix of the keys a package brings (``download key pik``)."""
_WORKING: Final = (KeyUsage.PIN, KeyUsage.MAC, KeyUsage.DATA)


@dataclass(frozen=True)
class Applied:
    """What a package changed: its kind and version, the version before, the entry ids."""

    kind: Kind
    version: int
    previous: int
    full: bool
    added: tuple[str, ...]
    updated: tuple[str, ...]
    deleted: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        """JSON-ready (the ``--json`` output of ``zhifu terminal download apply``)."""
        return {"applied": True, "kind": self.kind.value, "version": self.version,
                "previous_version": self.previous, "full": self.full,
                "added": list(self.added), "updated": list(self.updated),
                "deleted": list(self.deleted)}  # fmt: skip


def apply_file(folder: Path | str, path: Path | str, *, clock: Clock | None = None) -> Applied:
    """Apply the package file at ``path`` to the terminal in ``folder``."""
    package_path = Path(path)
    try:
        with package_path.open("rb") as file:
            data = file.read(MAX_PACKAGE_BYTES + 1)  # one more: the decoder refuses that size
    except OSError as exc:
        raise UsageError(
            f"cannot read {package_path} ({exc.strerror})", argument="PACKAGE"
        ) from None
    return apply_package(folder, data, clock=clock)


def apply_package(folder: Path | str, data: bytes, *, clock: Clock | None = None) -> Applied:
    """Verify the package file ``data`` and apply it to the terminal in ``folder``, or refuse
    it (a :class:`DownloadError`, nothing changed but a record in the audit trail)."""
    root = Path(folder)
    state = TerminalState.load(root)
    store = DownloadStore.load(root)
    hsm = open_hsm(root)
    try:
        try:
            package = decode_file(data)
            applied = _apply(root, state, store, hsm, package, clock=clock or SystemClock())
        except DownloadError as exc:
            if store.signer is not None:  # the trail's keys exist since the key was installed
                name = hashlib.sha256(data).hexdigest().upper()[:16]
                record(root, hsm, state.terminal_id, "download.apply", f"package {name}",
                       outcome="refused", detail=f"{exc.code}: {exc}")  # fmt: skip
            raise
        counts = (len(applied.added), len(applied.updated), len(applied.deleted))
        detail = "{} added, {} updated, {} deleted".format(*counts)
        record(root, hsm, state.terminal_id, "download.apply", package.describe(),
               outcome="applied", detail=detail)  # fmt: skip
        return applied
    finally:
        hsm.store.close()


def _apply(
    root: Path, state: TerminalState, store: DownloadStore, hsm: SoftHsm, package: Package, *,
    clock: Clock,
) -> Applied:  # fmt: skip
    if store.signer is None:
        raise NotTrustedError(
            "this terminal trusts no platform key yet, so it can verify no package: install "
            "the platform's public key first (zhifu terminal download trust)"
        )
    verify_package(hsm, store.signer.handle, package)
    table = store.table(package.kind)
    _check_target(package, state.terminal_id, table.version)
    _check_entries(package, table)
    keys = _import_keys(hsm, state.tmk, package) if package.kind is Kind.KEYS else {}
    try:
        files = _write_programs(root, package) if package.kind is Kind.PROGRAM else {}
        store.tables[package.kind] = _new_table(package, table, keys, files, clock)
    except BaseException:
        _forget(hsm, keys.values())
        raise
    store.save()  # the package is applied once the new store is in place
    _clean_up(root, hsm, store)
    return Applied(package.kind, package.version, table.version, package.full,
                   *(_ids(package, op) for op in Op))  # fmt: skip


def _ids(package: Package, op: Op) -> tuple[str, ...]:
    return tuple(e.id for e in package.entries if e.op is op)


def _check_target(package: Package, terminal_id: str, current: int) -> None:
    what, kind = package.describe(), package.kind.value
    if package.terminal_id != terminal_id:
        raise WrongTerminalError(f"{what} is not for this terminal ({terminal_id}): apply it "
                                 f"on terminal {package.terminal_id}")  # fmt: skip
    if package.version == current:
        raise ReplayedPackageError(f"{kind} version {current} is applied on this terminal "
                                   "already: nothing to do (a replayed package)")  # fmt: skip
    if package.version < current:
        raise StalePackageError(f"{what} is older than {kind} version {current}, applied on "
                                f"this terminal: ask the platform for version {current + 1} "
                                "or later")  # fmt: skip
    if not package.full and package.base_version != current:
        raise BaseVersionError(
            f"{what} changes version {package.base_version}, but this terminal holds {kind} "
            f"version {current}: ask the platform for a full package (zhifu acquirer download "
            "build --full)"
        )


def _check_entries(package: Package, table: Table) -> None:
    if package.full:
        return
    for entry in package.entries:
        held = entry.id in table.entries
        if held == (entry.op is Op.ADD):
            state = "holds it already" if held else "does not hold it"
            raise EntryConflictError(
                f"{package.describe()}: {entry.op.value} {entry.id}, but this terminal "
                f"{state}: ask the platform for a full package (--full)"
            )


def _import_keys(hsm: SoftHsm, tmk: str, package: Package) -> dict[str, str]:
    """Unwrap every key under the TMK into the security module; entry id -> new handle."""
    wanted = [e for e in package.entries if e.data is not None]
    try:
        SecureModule(hsm).check_room(sum(len(e.data["key"]) // 2 for e in wanted if e.data))
    except StoreFullError as exc:
        raise NoRoomError(f"{package.describe()}: {exc}") from None
    imported: dict[str, str] = {}
    try:
        for entry in wanted:
            imported[entry.id] = _import_key(hsm, tmk, entry, package.describe())
            crash_point("key-imported")
    except BaseException:
        _forget(hsm, imported.values())
        raise
    crash_point("keys-imported")
    return imported


def _import_key(hsm: SoftHsm, tmk: str, entry: Entry, what: str) -> str:
    assert entry.data is not None
    data = entry.data
    try:
        return hsm.import_key_wrapped(
            bytes.fromhex(data["key"]), tmk, KeyUsage.parse(data["usage"]),
            KeyAlgorithm.parse(data["algorithm"]), kcv=data["kcv"], exportable=False,
            label=KEY_LABEL + entry.id,
        ).id  # fmt: skip
    except KcvMismatchError:
        raise KeyCheckError(
            f"{what}: key {entry.id} does not match its check value {data['kcv']} once "
            "unwrapped under this terminal's TMK (it was wrapped under another TMK); nothing "
            "was applied: ask the platform to wrap it under this terminal's TMK"
        ) from None
    except (UsageError, SecurityModuleError) as exc:
        raise KeyCheckError(f"{what}: key {entry.id} cannot be unwrapped under this "
                            f"terminal's TMK ({exc}); nothing was applied") from None  # fmt: skip


def _forget(hsm: SoftHsm, handles: Any) -> None:
    for handle in list(handles):
        with contextlib.suppress(ZhifuError):
            hsm.delete_key(handle, reason="download not applied")


def _write_programs(root: Path, package: Package) -> dict[str, str]:
    """Write each program to ``programs/<SHA-256>.bin``; entry id -> that relative path."""
    folder = private_folder(root / PROGRAMS)
    files: dict[str, str] = {}
    for entry in package.entries:
        if entry.data is None:
            continue
        name = f"{entry.data['sha256']}.bin"
        target = folder / name
        blob = base64.b64decode(entry.data["blob"])
        if not (target.exists() and hashlib.sha256(target.read_bytes()).digest() ==
                hashlib.sha256(blob).digest()):  # fmt: skip
            write_atomically(target, blob, step="program")
        files[entry.id] = f"{PROGRAMS}/{name}"
    return files


def _stored(kind: Kind, entry: Entry, keys: dict[str, str], files: dict[str, str]
            ) -> dict[str, Any]:  # fmt: skip
    """What the store keeps of an entry's data: a key by handle, a program by file."""
    assert entry.data is not None
    data = dict(entry.data)
    if kind is Kind.KEYS:
        return {"usage": data["usage"], "algorithm": data["algorithm"], "kcv": data["kcv"],
                "handle": keys[entry.id]}  # fmt: skip
    if kind is Kind.PROGRAM:
        del data["blob"]
        data["file"] = files[entry.id]
    return data


def _new_table(package: Package, table: Table, keys: dict[str, str], files: dict[str, str],
               clock: Clock) -> Table:  # fmt: skip
    entries = {} if package.full else dict(table.entries)
    for entry in package.entries:
        if entry.op is Op.DELETE:
            del entries[entry.id]
        else:
            stored = _stored(package.kind, entry, keys, files)
            entries[entry.id] = {"digest": entry.digest, "data": stored}
    return Table(package.version, clock.now().isoformat(timespec="seconds"), entries)


def _clean_up(root: Path, hsm: SoftHsm, store: DownloadStore) -> None:
    """Delete downloaded keys and program files the store no longer names (replaced ones, and
    what an interrupted apply left)."""
    held = store.key_handles()
    for info in hsm.list_keys():
        if (info.label.startswith(KEY_LABEL) and info.usage in _WORKING
                and info.handle.id not in held):  # fmt: skip
            with contextlib.suppress(ZhifuError):
                hsm.delete_key(info.handle, reason="replaced or left by a download")
    names = store.program_files()
    folder = root / PROGRAMS
    if folder.is_dir():
        for path in folder.iterdir():
            if path.name not in names:
                path.unlink(missing_ok=True)

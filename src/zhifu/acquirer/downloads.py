"""The platform side of signed downloads: the platform key, and packages built per terminal.

The platform key is an SM2 (default) or RSA-2048 key pair generated inside the acquirer's
security module (usage SIGNING, never exportable); its public half is what terminals install at
manufacture (``zhifu acquirer download key``). One key is *current*: it signs every package.

:meth:`DownloadBuilder.build` takes the terminal's wanted table of a kind (entry id -> data, as
:mod:`zhifu.security.download.kinds` describes) and compares it with the table of the last
package built for that terminal and kind: new ids are added, changed ones updated, missing ones
deleted — a *delta* package on the last version. ``full`` (or a first package) sends the whole
table instead. Versions rise by one per terminal and kind, recorded in the acquirer database
with what each package left the terminal holding (a digest per entry, never the data).

The wanted tables come from the acquirer's own tables (:meth:`capk_entries`,
:meth:`params_entries`), from a program file (:meth:`program_entries`), or, for keys,
from :meth:`build_keys`: working keys generated here (or given by handle) and exported wrapped
(ECB) under the terminal's TMK, with their check values — never in clear.

>>> from zhifu.acquirer.database import Database
>>> from zhifu.acquirer.registry import Registry, register_terminal
>>> from zhifu.security.hsm.soft import SoftHsm
>>> from zhifu.security.store import KeyStore
>>> db, hsm = Database(), SoftHsm(KeyStore.in_memory())
>>> _ = register_terminal(Registry(db), hsm, "898100012345678", "10000001")
>>> builder = DownloadBuilder(db, hsm)
>>> first = builder.build("10000001", Kind.CAPK, builder.capk_entries())
>>> first.version, first.base_version, first.added
(1, 0, ('A000000333-80', 'A000000333-81'))
>>> keys = builder.build_keys("10000001", {"pik": KeyUsage.PIN, "mak": KeyUsage.MAC})
>>> keys.added, b"clear" in keys.data
(('mak', 'pik'), False)
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

from zhifu.acquirer.database import Database
from zhifu.acquirer.registry import Registry, Terminal
from zhifu.acquirer.tables import ParameterTables
from zhifu.core.clock import Clock, SystemClock
from zhifu.core.errors import UsageError
from zhifu.security.download.canonical import canonical
from zhifu.security.download.kinds import Kind
from zhifu.security.download.package import Entry, Op, make_entry
from zhifu.security.download.signing import ALGORITHM_NAMES, key_id, sign_package
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyUsage

__all__ = ["Built", "DownloadBuilder", "PlatformKey"]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS download_keys (
    key_id TEXT PRIMARY KEY, algorithm TEXT NOT NULL, handle TEXT NOT NULL,
    created TEXT NOT NULL, current INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS download_packages (
    terminal_id TEXT NOT NULL, kind TEXT NOT NULL, version INTEGER NOT NULL,
    base_version INTEGER NOT NULL, created TEXT NOT NULL, sha256 TEXT NOT NULL,
    content TEXT NOT NULL, PRIMARY KEY (terminal_id, kind, version));
"""
TMK_KEY_ALGORITHMS: Final = {"3des": KeyAlgorithm.TDES, "sm4": KeyAlgorithm.SM4,
                             "des": KeyAlgorithm.DES}  # fmt: skip
"""The algorithm of the working keys a terminal gets, by its TMK algorithm."""
KEY_USAGES: Final = (KeyUsage.PIN, KeyUsage.MAC, KeyUsage.DATA)


@dataclasses.dataclass(frozen=True)
class PlatformKey:
    """The platform's signing key: its handle here, id, algorithm and public half."""

    key_id: str
    algorithm: KeyAlgorithm
    handle: str
    public_key: bytes

    def as_json(self) -> dict[str, str]:
        """What a terminal needs to install it (``zhifu terminal download trust``)."""
        return {"key_id": self.key_id, "algorithm": self.algorithm.value,
                "signature_algorithm": ALGORITHM_NAMES[self.algorithm],
                "public_key": self.public_key.hex().upper(), "handle": self.handle}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Built:
    """A package built: its file bytes (``data``), version and the entries it changes."""

    terminal_id: str
    kind: Kind
    version: int
    base_version: int
    data: bytes
    added: tuple[str, ...]
    updated: tuple[str, ...]
    deleted: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        """JSON-ready, without the file's bytes."""
        return {"terminal_id": self.terminal_id, "kind": self.kind.value,
                "version": self.version, "base_version": self.base_version,
                "full": self.base_version == 0, "bytes": len(self.data),
                "sha256": hashlib.sha256(self.data).hexdigest().upper(),
                "added": list(self.added), "updated": list(self.updated),
                "deleted": list(self.deleted)}  # fmt: skip

    def __repr__(self) -> str:
        return f"Built({self.kind.value} v{self.version} for {self.terminal_id})"


def _data_digest(data: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(dict(data))).hexdigest().upper()


class DownloadBuilder:
    """Builds and signs packages for the acquirer's terminals (see the module docstring)."""

    def __init__(self, db: Database, hsm: SoftHsm, *, clock: Clock | None = None) -> None:
        self._db, self._hsm = db, hsm
        self._clock: Clock = clock or SystemClock()
        self._registry = Registry(db, clock=self._clock)
        db.ensure_schema(_SCHEMA)

    # --- the platform key ----------------------------------------------------------------------

    def platform_key(self, algorithm: KeyAlgorithm = KeyAlgorithm.SM2) -> PlatformKey:
        """The current platform key (made with ``algorithm`` when there is none yet)."""
        row = self._db.query_one("SELECT handle FROM download_keys WHERE current = 1")
        if row is None:
            return self.new_platform_key(algorithm)
        return self._describe(str(row[0]))

    def new_platform_key(self, algorithm: KeyAlgorithm) -> PlatformKey:
        """Generate a new platform key and make it current (terminals must install it)."""
        if algorithm not in ALGORITHM_NAMES:
            raise UsageError("the platform key is sm2 or rsa", argument="algorithm")
        handle = self._hsm.generate_key(KeyUsage.SIGNING, algorithm, label="download platform")
        key = self._describe(handle.id)
        with self._db.transaction() as cur:
            cur.execute("UPDATE download_keys SET current = 0")
            cur.execute("INSERT INTO download_keys VALUES (?, ?, ?, ?, 1)",
                        (key.key_id, algorithm.value, handle.id,
                         self._clock.now().isoformat()))  # fmt: skip
        return key

    def _describe(self, handle: str) -> PlatformKey:
        info, public = self._hsm.key_info(handle), self._hsm.get_public_key(handle)
        return PlatformKey(key_id(info.algorithm, public), info.algorithm, handle, public)

    # --- wanted tables -------------------------------------------------------------------------

    def capk_entries(self) -> dict[str, dict[str, Any]]:
        """The acquirer's CA public key table as capk entries."""
        return {
            f"{k.rid.upper()}-{k.index:02X}": {
                "rid": k.rid.upper(), "index": k.index, "expiry": k.expiry,
                "hash_algorithm": k.hash_algorithm, "pk_algorithm": k.pk_algorithm,
                "modulus": k.modulus.upper(), "exponent": k.exponent.upper(),
                "checksum": k.checksum.upper(),
            }
            for k in ParameterTables(self._db).capks()
        }  # fmt: skip

    def params_entries(self, terminal_id: str) -> dict[str, dict[str, Any]]:
        """The merchant's name and the acquirer's AID table as params entries."""
        terminal = self._terminal(terminal_id)
        merchant = self._registry.merchant(terminal.merchant_id)
        name = (merchant.name if merchant else "") or terminal.merchant_id
        entries: dict[str, dict[str, Any]] = {"terminal": {"merchant_name": name}}
        for aid in ParameterTables(self._db).aids():
            data = {**dataclasses.asdict(aid), "tdol": ""}
            entries[f"aid:{aid.aid.upper()}"] = data
        return entries

    @staticmethod
    def program_entries(name: str, version: str, blob: bytes) -> dict[str, dict[str, Any]]:
        """One program as a program entry."""
        return {name: {"version": version, "size": len(blob),
                       "sha256": hashlib.sha256(blob).hexdigest().upper(),
                       "blob": base64.b64encode(blob).decode("ascii")}}  # fmt: skip

    # --- building ------------------------------------------------------------------------------

    def build_keys(
        self, terminal_id: str, keys: Mapping[str, KeyUsage | KeyHandle], *, full: bool = False,
        algorithm: KeyAlgorithm | None = None,
    ) -> Built:  # fmt: skip
        """A keys package: each name's key generated here (a usage: PIN, MAC or DATA, of the
        TMK's algorithm unless ``algorithm``) or given (a handle of an exportable key), wrapped
        under the terminal's TMK. Keys generated for a package that is not built are deleted."""
        terminal = self._terminal(terminal_id)
        chosen = algorithm or TMK_KEY_ALGORITHMS[terminal.tmk_algorithm]
        made: list[KeyHandle] = []
        entries: dict[str, dict[str, Any]] = {}
        handles: dict[str, str] = {}
        try:
            for name, wanted in sorted(keys.items()):
                key = wanted if isinstance(wanted, KeyHandle) else self._new_key(
                    wanted, chosen, terminal_id
                )  # fmt: skip
                if key is not wanted:
                    made.append(key)
                info = self._hsm.key_info(key)
                block, kcv = self._hsm.export_key_wrapped(key, terminal.tmk_handle)
                entries[name] = {"usage": info.usage.value, "algorithm": info.algorithm.value,
                                 "key": block.hex().upper(), "kcv": kcv.hex().upper()}  # fmt: skip
                handles[name] = key.id
            return self.build(terminal_id, Kind.KEYS, entries, full=full, handles=handles)
        except BaseException:
            for handle in made:
                self._hsm.delete_key(handle, reason="download package not built")
            raise

    def _new_key(self, usage: KeyUsage, algorithm: KeyAlgorithm, terminal_id: str) -> KeyHandle:
        if usage not in KEY_USAGES:
            raise UsageError("a downloaded key is pin, mac or data", argument="keys")
        return self._hsm.generate_key(
            usage, algorithm, exportable=True, label=f"download {usage.name} {terminal_id}"
        )

    def build(
        self, terminal_id: str, kind: Kind, wanted: Mapping[str, Mapping[str, Any]], *,
        full: bool = False, handles: Mapping[str, str] | None = None,
    ) -> Built:  # fmt: skip
        """The signed package that brings the terminal's ``kind`` table to ``wanted``."""
        self._terminal(terminal_id)
        signer = self.platform_key()
        digests = {entry_id: _data_digest(data) for entry_id, data in wanted.items()}
        with self._db.transaction() as cur:
            row = cur.execute(
                "SELECT version, content FROM download_packages WHERE terminal_id = ? AND "
                "kind = ? ORDER BY version DESC LIMIT 1", (terminal_id, kind.value),
            ).fetchone()  # fmt: skip
            last, held = (int(row[0]), json.loads(row[1])["digests"]) if row else (0, {})
            base = 0 if full or last == 0 else last
            entries = _changes(wanted, digests, {} if base == 0 else held)
            if base and not entries:
                raise UsageError(f"the terminal's {kind.value} are as version {last} left them:"
                                 " nothing to send (give --full to send them all again)",
                                 argument="full")  # fmt: skip
            data = sign_package(
                self._hsm, signer.handle, terminal_id=terminal_id, kind=kind, version=last + 1,
                base_version=base, created=self._clock.now().isoformat(timespec="seconds"),
                entries=entries,
            )  # fmt: skip
            content = json.dumps({"digests": digests, "handles": dict(handles or {})},
                                 sort_keys=True)  # fmt: skip
            cur.execute("INSERT INTO download_packages VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (terminal_id, kind.value, last + 1, base,
                         self._clock.now().isoformat(), hashlib.sha256(data).hexdigest().upper(),
                         content))  # fmt: skip
        ids = {op: tuple(e.id for e in entries if e.op is op) for op in Op}
        return Built(terminal_id, kind, last + 1, base, data, ids[Op.ADD], ids[Op.UPDATE],
                     ids[Op.DELETE])  # fmt: skip

    def history(self, terminal_id: str) -> list[dict[str, Any]]:
        """The packages built for a terminal, oldest first (no data, no key)."""
        rows = self._db.query(
            "SELECT kind, version, base_version, created, sha256, content FROM "
            "download_packages WHERE terminal_id = ? ORDER BY kind, version", (terminal_id,),
        )  # fmt: skip
        return [{"kind": k, "version": v, "base_version": b, "created": c, "sha256": s,
                 "entries": sorted(json.loads(content)["digests"])}
                for k, v, b, c, s, content in rows]  # fmt: skip

    def _terminal(self, terminal_id: str) -> Terminal:
        terminal = self._registry.terminal(terminal_id)
        if terminal is None:
            raise UsageError(f"no terminal {terminal_id} is registered", argument="terminal_id")
        return terminal


def _changes(wanted: Mapping[str, Mapping[str, Any]], digests: Mapping[str, str],
             held: Mapping[str, str]) -> list[Entry]:  # fmt: skip
    """The entries that turn the ``held`` table (id -> data digest) into ``wanted``."""
    changes = [
        make_entry(Op.UPDATE if entry_id in held else Op.ADD, entry_id, dict(wanted[entry_id]))
        for entry_id in sorted(wanted)
        if held.get(entry_id) != digests[entry_id]
    ]
    gone = [make_entry(Op.DELETE, entry_id) for entry_id in sorted(held) if entry_id not in wanted]
    return sorted(changes + gone, key=lambda entry: entry.id)

"""The package file: a magic line, the canonical JSON body, the signature — and nothing else.

A package file is three lines, each ending in ``\\n``::

    zhifu-download/1
    {"base_version":2,"created":"…","entries":[…],"kind":"params","signer":{…},…}
    <the signature, upper-case hex>

The body is canonical JSON (:mod:`~zhifu.security.download.canonical`) with exactly the members
``terminal_id`` (8 characters), ``kind`` (:class:`~zhifu.security.download.kinds.Kind`),
``version`` (from 1, rising per terminal and kind), ``base_version`` (0: a *full* package that
replaces the terminal's whole table of that kind, every entry an ``add``; else the version a
*delta* package was built on), ``created`` (ISO 8601), ``signer`` (``algorithm`` and ``key_id``
of the platform key) and ``entries``, sorted by ``id`` without repeats. An entry is ``id``,
``op`` (``add``, ``update`` or ``delete``), ``data`` (the kind's fields; none for a delete) and
``digest``: SHA-256 (upper-case hex) of the entry's canonical JSON without its ``digest``.

The signature covers the first two lines exactly as they are in the file (magic line, body,
their newlines): :attr:`Package.signed_bytes`. :func:`decode_file` reads the form only;
:func:`~zhifu.security.download.signing.verify_package` checks the signature, the digests and
the content rules.

>>> entry = make_entry(Op.UPDATE, "terminal", {"merchant_name": "湖畔面馆"})
>>> entry.digest[:16]
'0A6145A65DB304DD'
>>> body = encode_body("10000001", Kind.PARAMS, 2, 1, "2026-01-05T09:00:00+08:00",
...                    Signer("SM2-SM3", "0" * 32), [entry])
>>> package = decode_file(encode_file(body, bytes(64)))
>>> package.kind, package.version, package.entries[0].op
(<Kind.PARAMS: 'params'>, 2, <Op.UPDATE: 'update'>)
>>> decode_file(encode_file(body, bytes(64))[:-30])
Traceback (most recent call last):
...
zhifu...MalformedPackageError: field signature at offset ...: truncated: the file ends ...
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from zhifu.security.download.canonical import canonical, parse_canonical
from zhifu.security.download.errors import MalformedPackageError
from zhifu.security.download.kinds import Kind, check_data, entry_type

__all__ = [
    "MAGIC",
    "MAX_ENTRIES",
    "MAX_PACKAGE_BYTES",
    "SIGNATURE_LENGTHS",
    "Entry",
    "Op",
    "Package",
    "Signer",
    "decode_file",
    "encode_body",
    "encode_file",
    "entry_digest",
    "make_entry",
]

MAGIC: Final = b"zhifu-download/1\n"
MAX_PACKAGE_BYTES: Final = 16 * 1024 * 1024
MAX_ENTRIES: Final = 1000
MAX_VERSION: Final = 2**31 - 1
SIGNATURE_LENGTHS: Final = {"SM2-SM3": (64, 64), "RSA-PSS-SHA256": (128, 512)}
"""Signature algorithms and their signature sizes in bytes (SM2 ``r‖s``; RSA: the modulus)."""
_BODY_MEMBERS: Final = {"base_version", "created", "entries", "kind", "signer", "terminal_id",
                        "version"}  # fmt: skip
_KEY_ID: Final = re.compile(r"[0-9A-F]{32}")
_DIGEST: Final = re.compile(r"[0-9A-F]{64}")
_SIGNATURE: Final = re.compile(rb"(?:[0-9A-F]{2})+")


class Op(enum.Enum):
    """What an entry does to the terminal's table of its kind."""

    ADD = "add"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class Signer:
    """The platform key that signed: ``algorithm`` (``SM2-SM3`` or ``RSA-PSS-SHA256``) and
    ``key_id`` (:func:`~zhifu.security.download.signing.key_id`)."""

    algorithm: str
    key_id: str


@dataclass(frozen=True)
class Entry:
    """One change: ``op`` on the entry ``id``, with its ``data`` (None for a delete)."""

    id: str
    op: Op
    data: Mapping[str, Any] | None
    digest: str

    def as_json(self) -> dict[str, Any]:
        """The entry as the body holds it."""
        found: dict[str, Any] = {"digest": self.digest, "id": self.id, "op": self.op.value}
        if self.data is not None:
            found["data"] = dict(self.data)
        return found

    def __repr__(self) -> str:  # data may be a wrapped key or a program: not shown
        return f"Entry({self.id!r}, {self.op.value}, digest={self.digest[:16]}…)"


def entry_digest(entry_id: str, op: Op, data: Mapping[str, Any] | None) -> str:
    """SHA-256 (upper-case hex) of the entry's canonical JSON without its digest."""
    unsigned: dict[str, Any] = {"id": entry_id, "op": op.value}
    if data is not None:
        unsigned["data"] = dict(data)
    return hashlib.sha256(canonical(unsigned)).hexdigest().upper()


def make_entry(op: Op, entry_id: str, data: Mapping[str, Any] | None = None) -> Entry:
    """An entry with its digest (``data`` only for add and update)."""
    if (op is Op.DELETE) != (data is None):
        raise MalformedPackageError("add and update carry data, delete none", field=entry_id)
    return Entry(entry_id, op, data, entry_digest(entry_id, op, data))


@dataclass(frozen=True)
class Package:
    """A decoded package file; ``body`` and ``signature`` are the bytes as read."""

    terminal_id: str
    kind: Kind
    version: int
    base_version: int
    created: str
    signer: Signer
    entries: tuple[Entry, ...]
    body: bytes
    signature: bytes

    @property
    def full(self) -> bool:
        """True for a full package (it replaces the whole table of its kind)."""
        return self.base_version == 0

    @property
    def signed_bytes(self) -> bytes:
        """What the signature covers: the magic line and the body line."""
        return MAGIC + self.body + b"\n"

    def describe(self) -> str:
        """``params version 3 (delta on 2) for terminal 10000001``."""
        how = "full" if self.full else f"delta on {self.base_version}"
        return f"{self.kind.value} version {self.version} ({how}) for terminal {self.terminal_id}"

    def __repr__(self) -> str:
        return f"Package({self.describe()}, {len(self.entries)} entries)"


def encode_body(  # noqa: PLR0917 - the body's members, in their order
    terminal_id: str, kind: Kind, version: int, base_version: int, created: str,
    signer: Signer, entries: Sequence[Entry],
) -> bytes:  # fmt: skip
    """The canonical body (entries sorted by id); checked as :func:`decode_file` would."""
    body = canonical({
        "base_version": base_version, "created": created,
        "entries": [e.as_json() for e in sorted(entries, key=lambda e: e.id)],
        "kind": kind.value, "signer": {"algorithm": signer.algorithm, "key_id": signer.key_id},
        "terminal_id": terminal_id, "version": version,
    })  # fmt: skip
    _decode_body(body, len(MAGIC))
    return body


def encode_file(body: bytes, signature: bytes) -> bytes:
    """The package file: magic line, body line, signature line."""
    return MAGIC + body + b"\n" + signature.hex().upper().encode("ascii") + b"\n"


def decode_file(data: bytes) -> Package:
    """Read a package file's form (not its signature): :class:`MalformedPackageError` naming
    the part and the byte offset where it goes wrong."""
    if len(data) > MAX_PACKAGE_BYTES:
        raise MalformedPackageError(f"larger than {MAX_PACKAGE_BYTES} bytes", field="file")
    if not data.startswith(MAGIC):
        where = next((i for i, (a, b) in enumerate(zip(data, MAGIC, strict=False)) if a != b),
                     len(data))  # fmt: skip
        raise MalformedPackageError("not a zhifu download package (zhifu-download/1)",
                                    field="magic", offset=where)  # fmt: skip
    end = data.find(b"\n", len(MAGIC))
    if end < 0:
        raise MalformedPackageError("truncated: the file ends inside the body line",
                                    field="body", offset=len(data))  # fmt: skip
    body = data[len(MAGIC) : end]
    fields = _decode_body(body, len(MAGIC))
    signature = _decode_signature(data, end + 1, fields["signer"].algorithm)
    return Package(body=body, signature=signature, **fields)


def _decode_signature(data: bytes, start: int, algorithm: str) -> bytes:
    end = data.find(b"\n", start)
    if end < 0:
        raise MalformedPackageError("truncated: the file ends before the signature line's end",
                                    field="signature", offset=len(data))  # fmt: skip
    if end + 1 != len(data):
        raise MalformedPackageError("more bytes after the signature line", field="file",
                                    offset=end + 1)  # fmt: skip
    line = data[start:end]
    if not _SIGNATURE.fullmatch(line):
        raise MalformedPackageError("not upper-case hex", field="signature", offset=start)
    low, high = SIGNATURE_LENGTHS[algorithm]
    if not low <= len(line) // 2 <= high:
        raise MalformedPackageError(
            f"an {algorithm} signature is {low} to {high} bytes, not {len(line) // 2}",
            field="signature",
            offset=start,
        )
    return bytes.fromhex(line.decode("ascii"))


def _decode_body(body: bytes, offset: int) -> dict[str, Any]:
    """The body's members as :class:`Package` fields (form checked)."""
    raw = parse_canonical(body, field="body", offset=offset)
    if set(raw) != _BODY_MEMBERS:
        missing, extra = sorted(_BODY_MEMBERS - set(raw)), sorted(set(raw) - _BODY_MEMBERS)
        raise MalformedPackageError(f"members missing {missing}, unknown {extra}", field="body")
    terminal_id = raw["terminal_id"]
    if not (isinstance(terminal_id, str) and len(terminal_id) == 8 and terminal_id.isascii()
            and terminal_id.isprintable()):  # fmt: skip
        raise MalformedPackageError("8 printable ASCII characters", field="terminal_id")
    try:
        kind = Kind(raw["kind"])
    except (ValueError, TypeError):
        names = ", ".join(k.value for k in Kind)
        raise MalformedPackageError(f"one of {names}", field="kind") from None
    version, base = raw["version"], raw["base_version"]
    if type(version) is not int or not 1 <= version <= MAX_VERSION:
        raise MalformedPackageError(f"an integer from 1 to {MAX_VERSION}", field="version")
    if type(base) is not int or not 0 <= base < version:
        raise MalformedPackageError("an integer from 0 to version - 1", field="base_version")
    return {"terminal_id": terminal_id, "kind": kind, "version": version, "base_version": base,
            "created": _created(raw["created"]), "signer": _signer(raw["signer"]),
            "entries": _entries(raw["entries"], kind, full=base == 0)}  # fmt: skip


def _created(value: Any) -> str:
    try:
        if isinstance(value, str) and len(value) <= 40 and datetime.fromisoformat(value).tzinfo:
            return value
    except ValueError:
        pass
    raise MalformedPackageError("an ISO 8601 time with its offset", field="created")


def _signer(value: Any) -> Signer:
    if not isinstance(value, dict) or set(value) != {"algorithm", "key_id"}:
        raise MalformedPackageError("algorithm and key_id", field="signer")
    if value["algorithm"] not in SIGNATURE_LENGTHS:
        names = " or ".join(SIGNATURE_LENGTHS)
        raise MalformedPackageError(names, field="signer.algorithm")
    if not isinstance(value["key_id"], str) or not _KEY_ID.fullmatch(value["key_id"]):
        raise MalformedPackageError("32 upper-case hex digits", field="signer.key_id")
    return Signer(value["algorithm"], value["key_id"])


def _entries(value: Any, kind: Kind, *, full: bool) -> tuple[Entry, ...]:
    if not isinstance(value, list) or len(value) > MAX_ENTRIES:
        raise MalformedPackageError(f"a list of at most {MAX_ENTRIES}", field="entries")
    entries = tuple(_entry(item, kind, f"entries[{n}]") for n, item in enumerate(value))
    for n in range(1, len(entries)):
        if entries[n].id <= entries[n - 1].id:
            raise MalformedPackageError("entries are sorted by id, each id once",
                                        field=f"entries[{n}].id")  # fmt: skip
    if full and any(e.op is not Op.ADD for e in entries):
        raise MalformedPackageError("a full package (base_version 0) only adds",
                                    field="entries")  # fmt: skip
    return entries


def _entry(item: Any, kind: Kind, where: str) -> Entry:
    if not isinstance(item, dict):
        raise MalformedPackageError("an object", field=where)
    try:
        op = Op(item.get("op"))
    except ValueError:
        raise MalformedPackageError("add, update or delete", field=f"{where}.op") from None
    wanted = {"id", "op", "digest"} | ({"data"} if op is not Op.DELETE else set())
    if set(item) != wanted:
        raise MalformedPackageError(f"members {sorted(wanted)}", field=where)
    entry_id, digest = item["id"], item["digest"]
    if not isinstance(entry_id, str):
        raise MalformedPackageError("a string", field=f"{where}.id")
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise MalformedPackageError("64 upper-case hex digits", field=f"{where}.digest")
    data = item.get("data")
    if op is not Op.DELETE:
        check_data(kind, entry_id, data, field=f"{where}.data")
    else:
        entry_type(kind, entry_id, field=f"{where}.id")
    return Entry(entry_id, op, data, digest)

"""Building blocks of the card file: hex/JSON helpers, n12 amounts, record names, atomic
writes, and the small records :class:`KeySet`, :class:`GpoPath`, :class:`AppState`.

:mod:`zhifu.card.image.model` re-exports the public names.

>>> record_key("3.1"), record_name((11, 2))
((3, 1), '11.2')
>>> n12(1000).hex().upper(), n12_value(bytes.fromhex("000000015000"))
('000000001000', 15000)
>>> repr(KeySet(bytes(16), bytes(16), bytes(16)))
'KeySet(<masked>)'
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NotRequired, TypeAlias, TypedDict

from zhifu.core.errors import DecodeError, UsageError

__all__ = [
    "DEFAULT_IAD",
    "FAMILIES",
    "N12_MAX",
    "PATHS",
    "AppState",
    "GpoPath",
    "GpoPathRecord",
    "JsonObject",
    "KeySet",
    "field_bytes",
    "field_int",
    "field_object",
    "field_tag",
    "hexu",
    "n12",
    "n12_value",
    "record_key",
    "record_name",
    "write_atomic",
]

JsonObject: TypeAlias = dict[str, Any]
"""A JSON object read from or written to a file (card, profile, issuer keys, CAPK table): its
shape is checked field by field where it is read, so its values are typed as they come."""

PATHS = ("dc", "ec", "qpboc")
DEFAULT_IAD = "07010103000000010A01000000000000000000"  # 9F10 template: PBOC layout, CVN 01
FAMILIES = ("tdes", "sm4")
N12_MAX = 999_999_999_999

# ------------------------------------------------------------------------------ helpers


def field_bytes(value: object, where: str) -> bytes:
    if not isinstance(value, str):
        raise DecodeError("expected a hex string", field=where)
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise DecodeError("not hexadecimal", field=where) from None


def hexu(data: bytes) -> str:
    return data.hex().upper()


def field_tag(text: str, where: str) -> int:
    raw = field_bytes(text, where)
    if not 1 <= len(raw) <= 3:
        raise DecodeError("a tag is 1 to 3 bytes", field=where)
    return int.from_bytes(raw, "big")


def field_int(value: object, where: str, low: int = 0, high: int = 0xFFFF) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DecodeError(f"expected an integer {low}..{high}", field=where)
    return value


def field_object(value: object, where: str) -> JsonObject:
    if not isinstance(value, dict):
        raise DecodeError("expected an object", field=where)
    return value


def n12(amount: int) -> bytes:
    """An amount as 6 bytes of BCD (format n12), e.g. 9F02 / 9F79."""
    if not 0 <= amount <= N12_MAX:
        raise UsageError("an n12 amount is 0 to 999999999999", argument="amount")
    return bytes.fromhex(f"{amount:012d}")


def n12_value(data: bytes) -> int | None:
    """The integer of 6 BCD bytes, or None when they are not 12 decimal digits."""
    text = data.hex()
    if len(data) != 6 or not text.isdigit():
        return None
    return int(text)


def record_key(name: str) -> tuple[int, int]:
    """``"3.1"`` -> (SFI 3, record 1)."""
    sfi, _, number = name.partition(".")
    if not (sfi.isdigit() and number.isdigit()):
        raise DecodeError("a record is named SFI.number", field=f"records.{name}")
    key = int(sfi), int(number)
    if not (1 <= key[0] <= 30 and 1 <= key[1] <= 255):
        raise DecodeError("SFI 1..30, record 1..255", field=f"records.{name}")
    return key


def record_name(key: tuple[int, int]) -> str:
    """(3, 1) -> ``"3.1"``."""
    return f"{key[0]}.{key[1]}"


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically: temporary file, fsync, rename, dir fsync."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(dir_fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(dir_fd)


# ------------------------------------------------------------------------------ model


@dataclass
class KeySet:
    """The three card keys of one algorithm family (3DES or SM4), 16 bytes each."""

    mk_ac: bytes
    mk_smi: bytes
    mk_smc: bytes

    def __repr__(self) -> str:
        return "KeySet(<masked>)"

    def to_json(self) -> dict[str, str]:
        return {"mk_ac": hexu(self.mk_ac), "mk_smi": hexu(self.mk_smi), "mk_smc": hexu(self.mk_smc)}

    @classmethod
    def from_json(cls, data: object, where: str) -> KeySet:
        body = field_object(data, where)
        keys = [
            field_bytes(body.get(name), f"{where}.{name}") for name in ("mk_ac", "mk_smi", "mk_smc")
        ]
        if any(len(key) != 16 for key in keys):
            raise DecodeError("card keys are 16 bytes", field=where)
        return cls(*keys)


class GpoPathRecord(TypedDict):
    """:meth:`GpoPath.to_json`: AIP and AFLs as upper-case hex."""

    aip: str
    afl: str
    afl_sm: NotRequired[str]
    online_only: NotRequired[bool]


@dataclass
class GpoPath:
    """What GET PROCESSING OPTIONS answers on one path: AIP and AFL (and the SM AFL)."""

    aip: bytes
    afl: bytes
    afl_sm: bytes | None = None
    online_only: bool = False  # a TC asked on this path becomes an ARQC (pure e-cash DC path)

    def to_json(self) -> GpoPathRecord:
        out: GpoPathRecord = {"aip": hexu(self.aip), "afl": hexu(self.afl)}
        if self.afl_sm is not None:
            out["afl_sm"] = hexu(self.afl_sm)
        if self.online_only:
            out["online_only"] = True
        return out

    @classmethod
    def from_json(cls, data: object, where: str) -> GpoPath:
        body = field_object(data, where)
        aip = field_bytes(body.get("aip"), f"{where}.aip")
        afl = field_bytes(body.get("afl"), f"{where}.afl")
        afl_sm = body.get("afl_sm")
        sm = None if afl_sm is None else field_bytes(afl_sm, f"{where}.afl_sm")
        for value, name in ((afl, "afl"), (sm, "afl_sm")):
            if value is not None and len(value) % 4:
                raise DecodeError("an AFL is a multiple of 4 bytes", field=f"{where}.{name}")
        if len(aip) != 2:
            raise DecodeError("the AIP is 2 bytes", field=f"{where}.aip")
        return cls(aip, afl, sm, body.get("online_only") is True)


@dataclass
class AppState:
    """The changing part of one application (the chip's EEPROM counters and logs)."""

    atc: int = 0
    last_online_atc: int = 0
    pin_tries: int = 3
    ec_balance: int = 0
    blocked: bool = False
    offline_count: int = 0
    online_pending: bool = False
    issuer_auth_failed: bool = False
    last_scripts: int = 0
    last_script_failed: bool = False
    transaction_log: list[bytes] = field(default_factory=list)
    load_log: list[bytes] = field(default_factory=list)

    _INTS = ("atc", "last_online_atc", "pin_tries", "offline_count", "last_scripts")
    _BOOLS = ("blocked", "online_pending", "issuer_auth_failed", "last_script_failed")

    def to_json(self) -> JsonObject:
        out: JsonObject = {name: getattr(self, name) for name in (*self._INTS, *self._BOOLS)}
        out["ec_balance"] = self.ec_balance
        out["transaction_log"] = [hexu(r) for r in self.transaction_log]
        out["load_log"] = [hexu(r) for r in self.load_log]
        return out

    @classmethod
    def from_json(cls, data: object, where: str) -> AppState:
        body = field_object(data, where)
        state = cls()
        for name in cls._INTS:
            setattr(state, name, field_int(body.get(name, getattr(state, name)), f"{where}.{name}"))
        for name in cls._BOOLS:
            value = body.get(name, False)
            if not isinstance(value, bool):
                raise DecodeError("expected true or false", field=f"{where}.{name}")
            setattr(state, name, value)
        state.ec_balance = field_int(body.get("ec_balance", 0), f"{where}.ec_balance", 0, N12_MAX)
        for name in ("transaction_log", "load_log"):
            items = body.get(name, [])
            if not isinstance(items, list):
                raise DecodeError("expected a list", field=f"{where}.{name}")
            setattr(state, name, [field_bytes(r, f"{where}.{name}") for r in items])
        return state

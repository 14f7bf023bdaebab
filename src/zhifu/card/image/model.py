"""The card file: an emulated PBOC card's personalisation and state, as JSON.

The file stands for the chip's memory, so it holds the card's own keys (these are test
cards; nothing else in zhifu reads them from it). Layout (``"format": "zhifu-card/1"``)::

    {"format": "zhifu-card/1", "profile": "pboc-reference", "atr": "3B8B...",
     "pse": {"fci": "6F..", "records": {"1": "70.."}} | null,
     "ppse": {"fci": "6F.."} | null,
     "applications": [{
        "aid": "A000000333010101",
        "fci": {"contact": "6F..", "contactless": "6F.."},       # full FCI templates
        "paths": {"dc": {"aip": "7C00", "afl": "0801..", "afl_sm": "0801..",
                         "online_only": false},                   # GPO answer per path
                  "ec": {...}, "qpboc": {...}},                   # (afl_sm: SM chosen)
        "iad": "0701010300000001 0A01 ..",                         # 9F10 template
        "records": {"1.1": "70..", "3.1": "70.."},                # SFI.record -> template 70
        "data": {"9F51": "0156", "9F77": "000000015000"},         # GET DATA objects
        "qpboc_data": {"57": "..", "5F34": "01"},                  # extra qPBOC GPO objects
        "keys": {"tdes": {"mk_ac": "..", "mk_smi": "..", "mk_smc": ".."}, "sm4": {...}},
        "icc_key": {"rsa": {...IccKey.to_dict()...}, "sm2": {...}},
        "pin": {"block": "241234FFFFFFFFFF", "try_limit": 3}}],
     "state": {"card_blocked": false, "applications": {"A000000333010101": {
        "atc": 0, "last_online_atc": 1, "pin_tries": 3, "ec_balance": 0, "blocked": false,
        "offline_count": 0, "online_pending": false, "issuer_auth_failed": false,
        "last_scripts": 0, "last_script_failed": false,
        "transaction_log": ["..."], "load_log": ["..."]}}}}

Bytes are upper-case hex; ``ec_balance`` is the 9F79 amount in fen (minor units).
:meth:`CardImage.save` writes atomically (temporary file, fsync, ``os.replace``).

>>> record_key("3.1"), record_name((11, 2))
((3, 1), '11.2')
>>> n12(1000).hex().upper(), n12_value(bytes.fromhex("000000015000"))
('000000001000', 15000)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from zhifu.card.image.parts import (
    DEFAULT_IAD,
    FAMILIES,
    PATHS,
    AppState,
    GpoPath,
    JsonObject,
    KeySet,
    field_bytes,
    field_int,
    field_object,
    field_tag,
    hexu,
    n12,
    n12_value,
    record_key,
    record_name,
    write_atomic,
)
from zhifu.card.oda.keys import IccKey
from zhifu.codec import tlv
from zhifu.core.errors import DecodeError, UsageError

__all__ = [
    "DEFAULT_ATR",
    "FORMAT",
    "AppState",
    "Application",
    "CardImage",
    "GpoPath",
    "JsonObject",
    "KeySet",
    "n12",
    "n12_value",
    "record_key",
    "record_name",
    "write_atomic",
]

FORMAT = "zhifu-card/1"
# TS 3B, T0 8B (TD1, 11 historical bytes), TD1 80 (TD2, T=0), TD2 01 (T=1), "ZHIFU-PBOC3", TCK
DEFAULT_ATR = bytes.fromhex("3B8B80015A484946552D50424F433342")


@dataclass
class Application:
    """One payment application: its personalisation and its :class:`AppState`."""

    aid: bytes
    fci: dict[str, bytes]
    paths: dict[str, GpoPath]
    iad: bytes
    records: dict[tuple[int, int], bytes]
    data: dict[int, bytes]
    qpboc_data: dict[int, bytes]
    keys: dict[str, KeySet]
    icc_key: dict[str, IccKey]  # the ICC key pair and certificate per ODA family
    pin_block: bytes | None
    pin_try_limit: int
    state: AppState = field(default_factory=AppState)
    _index: dict[int, bytes] | None = field(default=None, repr=False, compare=False)
    _logs: dict[int, tuple[int, int] | None] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"Application(aid={hexu(self.aid)}, records={len(self.records)})"

    def internal(self, tag: int) -> bytes | None:
        """The card's own value of ``tag``: a GET DATA object, else the first in a record."""
        if tag in self.data:
            return self.data[tag]
        if self._index is None:
            index: dict[int, bytes] = {}
            for key in sorted(self.records):
                for name, value in tlv.to_dict(tlv.decode(self.records[key])).items():
                    index.setdefault(int(name, 16), value)
            self._index = index
        return self._index.get(tag)

    def log_entry(self, tag: int) -> tuple[int, int] | None:
        """(SFI, record count) of the log entry 9F4D or DF4D in an FCI, if personalised."""
        if tag not in self._logs:
            found = None
            for fci in self.fci.values():
                item = tlv.find(tlv.decode(fci), tag)
                if item is not None and len(item.value) == 2 and all(item.value):
                    found = (item.value[0], item.value[1])
                    break
            self._logs[tag] = found
        return self._logs[tag]

    def set_record(self, key: tuple[int, int], record: bytes) -> None:
        """Replace a record (UPDATE RECORD) and forget the cached tag index."""
        self.records[key] = record
        self._index = None

    def to_json(self) -> JsonObject:
        return {
            "aid": hexu(self.aid),
            "fci": {name: hexu(value) for name, value in self.fci.items()},
            "paths": {name: path.to_json() for name, path in self.paths.items()},
            "iad": hexu(self.iad),
            "records": {record_name(k): hexu(self.records[k]) for k in sorted(self.records)},
            "data": {tlv.tag_hex(t): hexu(v) for t, v in self.data.items()},
            "qpboc_data": {tlv.tag_hex(t): hexu(v) for t, v in self.qpboc_data.items()},
            "keys": {name: keys.to_json() for name, keys in self.keys.items()},
            "icc_key": {name: key.to_dict() for name, key in self.icc_key.items()},
            "pin": {
                "block": None if self.pin_block is None else hexu(self.pin_block),
                "try_limit": self.pin_try_limit,
            },
        }

    @classmethod
    def from_json(cls, data: object, where: str) -> Application:
        body = field_object(data, where)
        aid = field_bytes(body.get("aid"), f"{where}.aid")
        if not 5 <= len(aid) <= 16:
            raise DecodeError("an AID is 5 to 16 bytes", field=f"{where}.aid")
        fci = {
            name: field_bytes(value, f"{where}.fci.{name}")
            for name, value in field_object(body.get("fci"), f"{where}.fci").items()
            if name in ("contact", "contactless")
        }
        paths = {
            name: GpoPath.from_json(value, f"{where}.paths.{name}")
            for name, value in field_object(body.get("paths"), f"{where}.paths").items()
            if name in PATHS
        }
        records = {
            record_key(name): field_bytes(value, f"{where}.records.{name}")
            for name, value in field_object(body.get("records", {}), f"{where}.records").items()
        }
        app = cls(
            aid=aid,
            fci=fci,
            paths=paths,
            iad=field_bytes(body.get("iad", DEFAULT_IAD), f"{where}.iad"),
            records=records,
            data=_tag_map(body.get("data", {}), f"{where}.data"),
            qpboc_data=_tag_map(body.get("qpboc_data", {}), f"{where}.qpboc_data"),
            keys={
                name: KeySet.from_json(value, f"{where}.keys.{name}")
                for name, value in field_object(body.get("keys", {}), f"{where}.keys").items()
                if name in FAMILIES
            },
            icc_key=_icc_keys(body.get("icc_key", {}), f"{where}.icc_key"),
            pin_block=None,
            pin_try_limit=3,
        )
        _check_templates(app, where)
        pin = field_object(body.get("pin", {}), f"{where}.pin")
        if pin.get("block") is not None:
            app.pin_block = field_bytes(pin["block"], f"{where}.pin.block")
            if len(app.pin_block) != 8:
                raise DecodeError("the PIN block is 8 bytes", field=f"{where}.pin.block")
        app.pin_try_limit = field_int(pin.get("try_limit", 3), f"{where}.pin.try_limit", 1, 15)
        return app


def _icc_keys(data: object, where: str) -> dict[str, IccKey]:
    keys = {}
    for name, value in field_object(data, where).items():
        if name not in ("rsa", "sm2"):
            continue
        try:
            keys[name] = IccKey.from_dict(field_object(value, f"{where}.{name}"))
        except DecodeError as exc:
            raise DecodeError(exc.reason, field=f"{where}.{name}.{exc.field}") from None
    return keys


def _tag_map(data: object, where: str) -> dict[int, bytes]:
    return {
        field_tag(name, f"{where}.{name}"): field_bytes(value, f"{where}.{name}")
        for name, value in field_object(data, where).items()
    }


def _check_templates(app: Application, where: str) -> None:
    """Every FCI is a 6F template and every record a 70 template (decoded once here)."""
    for name, value in app.fci.items():
        items = tlv.decode(value)
        if len(items) != 1 or items[0].tag != 0x6F:
            raise DecodeError("an FCI is one 6F template", field=f"{where}.fci.{name}")
    for key, value in app.records.items():
        items = tlv.decode(value)
        if len(items) != 1 or items[0].tag != 0x70:
            raise DecodeError("a record is one 70 template", field=f"{where}.records")
        if not 1 <= key[0] <= 10:
            raise DecodeError("application records live in SFI 1..10", field=f"{where}.records")
    if len(app.iad) < 8 or app.iad[0] != 0x07 or app.iad[3] != 0x03:
        raise DecodeError("9F10 must follow the PBOC layout 07 DKI CVN 03 CVR..", field="iad")


@dataclass
class CardImage:
    """The whole card: ATR, PSE/PPSE directories, applications and the card-level state."""

    profile: str
    atr: bytes
    applications: list[Application]
    pse_fci: bytes | None = None
    pse_records: dict[int, bytes] = field(default_factory=dict)
    ppse_fci: bytes | None = None
    card_blocked: bool = False

    def __repr__(self) -> str:
        return f"CardImage(profile={self.profile!r}, applications={len(self.applications)})"

    def to_json(self) -> JsonObject:
        """The JSON object of the card file."""
        pse = None
        if self.pse_fci is not None:
            records = {str(n): hexu(r) for n, r in sorted(self.pse_records.items())}
            pse = {"fci": hexu(self.pse_fci), "records": records}
        return {
            "format": FORMAT,
            "profile": self.profile,
            "atr": hexu(self.atr),
            "pse": pse,
            "ppse": None if self.ppse_fci is None else {"fci": hexu(self.ppse_fci)},
            "applications": [app.to_json() for app in self.applications],
            "state": {
                "card_blocked": self.card_blocked,
                "applications": {hexu(a.aid): a.state.to_json() for a in self.applications},
            },
        }

    @classmethod
    def from_json(cls, data: object) -> CardImage:
        """Check and load a card file object; any problem raises DecodeError naming the field."""
        body = field_object(data, "card")
        if body.get("format") != FORMAT:
            raise DecodeError(f"not a {FORMAT} card file", field="format")
        apps_json = body.get("applications")
        if not isinstance(apps_json, list) or not apps_json:
            raise DecodeError("expected a non-empty list", field="applications")
        apps = [Application.from_json(a, f"applications[{i}]") for i, a in enumerate(apps_json)]
        state = field_object(body.get("state", {}), "state")
        states = field_object(state.get("applications", {}), "state.applications")
        for app in apps:
            name = hexu(app.aid)
            if name in states:
                app.state = AppState.from_json(states[name], f"state.applications.{name}")
        blocked = state.get("card_blocked", False)
        if not isinstance(blocked, bool):
            raise DecodeError("expected true or false", field="state.card_blocked")
        image = cls(str(body.get("profile", "")), field_bytes(body.get("atr"), "atr"), apps)
        image.card_blocked = blocked
        if body.get("pse") is not None:
            pse = field_object(body["pse"], "pse")
            image.pse_fci = field_bytes(pse.get("fci"), "pse.fci")
            for number, value in field_object(pse.get("records", {}), "pse.records").items():
                image.pse_records[
                    field_int(int(number) if number.isdigit() else -1, "pse", 1, 255)
                ] = field_bytes(value, f"pse.records.{number}")
        if body.get("ppse") is not None:
            image.ppse_fci = field_bytes(field_object(body["ppse"], "ppse").get("fci"), "ppse.fci")
        return image

    def dumps(self) -> bytes:
        """The card file bytes (UTF-8 JSON, stable key order)."""
        return (json.dumps(self.to_json(), indent=1, sort_keys=False) + "\n").encode()

    def save(self, path: Path | str) -> None:
        """Write the card file atomically (see :func:`write_atomic`)."""
        write_atomic(Path(path), self.dumps())

    @classmethod
    def load(cls, path: Path | str) -> CardImage:
        """Read a card file; a missing file raises UsageError, a bad one DecodeError."""
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            reason = f"cannot read the card file ({exc.strerror})"
            raise UsageError(reason, argument="card") from None
        try:
            data = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise DecodeError("not UTF-8 text", field="card", offset=exc.start) from None
        except ValueError as exc:
            raise DecodeError("not JSON", field="card", offset=getattr(exc, "pos", None)) from None
        return cls.from_json(data)

"""Card profiles: personalisation templates (JSON) that :mod:`zhifu.card.issuing` turns into
card files.

A profile (``"format": "zhifu-card-profile/1"``) looks like a card file without state, with
templates where a card file has bytes. Built-in profiles live in ``zhifu/card/profiles``;
``"extends": "debit"`` merges a profile over another (objects merge, other values replace).
Top-level keys: ``name``, ``description``, ``card`` (``pan`` or ``bin``/``pan_length``,
``psn``, ``expiry``/``effective`` as YYMMDD, ``+5y`` or ``today``, ``service_code``,
``name``, ``discretionary``, ``track1_discretionary``), ``algorithms`` (``tdes``, ``sm4``),
``oda`` (``rsa``, ``sm2``), ``keys`` (fixed card keys; else derived), ``icc_key`` (a fixed
RSA ICC key as ``p``/``q``/``e`` hex), ``pin`` (``pin`` or ``block``, ``try_limit``), ``atr``,
``pse``/``ppse`` (``"auto"``: built from the applications), ``applications`` (``aid``,
``fci``, ``paths``, ``iad``, ``records``, ``data``, ``qpboc_data``, ``state``) and
``state`` (``card_blocked``, ``blocked``, ``pin_tries``, ``ec_balance`` as fen or
``"limit"``, ``atc``, ``last_online_atc``; 9F79/9F36/9F13 in ``data`` are initial state).

Templates (FCIs, records, PSE/PPSE): either hex (the whole 6F / 70 object) or a list of
``[tag, value]`` pairs giving the *content* (the A5 proprietary template of an FCI, the
content of a 70 record, of a 61 directory entry). A value is hex, ``"ascii:TEXT"``, a
nested list (a constructed object) or a ``"$name"`` placeholder:

``$pan`` (5A), ``$track2`` (57), ``$expiry`` / ``$effective`` (YYMMDD), ``$psn`` (5F34),
``$name`` (5F20), ``$service_code`` (5F30, ``0`` + 3 digits), ``$track1_dd`` (9F1F) and the
ODA objects ``$ca_index``, ``$issuer_cert``, ``$issuer_remainder``, ``$issuer_exponent``,
``$icc_cert``, ``$icc_remainder``, ``$icc_exponent``, ``$ssad`` (RSA family) and the same
names prefixed ``$sm2.`` (SM2 family). A placeholder without a value (an empty remainder, ODA
left out) drops its object.

>>> render_items([["50", "ascii:PBOC"], ["87", "01"], ["92", "$none"]], {}).hex().upper()
'500450424F43870101'
>>> merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}})
{'a': {'b': 1, 'c': 3}}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal, TypedDict, cast

from zhifu.card.image.parts import JsonObject
from zhifu.codec import tlv
from zhifu.core.errors import DecodeError, UsageError

__all__ = [
    "PROFILE_FORMAT",
    "ApplicationSpec",
    "CardSpec",
    "DirectorySpec",
    "PinSpec",
    "ProfileSpec",
    "StateSpec",
    "Template",
    "builtin_profiles",
    "check_profile",
    "load_profile",
    "merge",
    "render_fci",
    "render_items",
    "render_record",
    "render_value",
]

PROFILE_FORMAT = "zhifu-card-profile/1"
Values = Mapping[str, bytes | None]
Template = str | list[Any]
"""An FCI or record template: hex of the whole object, or its content as [tag, value] pairs."""
_MAX_EXTENDS = 8


class CardSpec(TypedDict, total=False):
    """``card``: the cardholder data the placeholders are made of."""

    pan: str
    bin: str
    pan_length: int
    psn: str
    expiry: str
    effective: str
    service_code: str
    name: str
    discretionary: str
    track1_discretionary: str


class PinSpec(TypedDict, total=False):
    """``pin``: the offline PIN (``pin`` digits or a format 2 ``block``) and its try limit."""

    pin: str
    block: str
    try_limit: int


class StateSpec(TypedDict, total=False):
    """``state`` of the card or of one application, as issued."""

    card_blocked: bool
    blocked: bool
    pin_tries: int
    ec_balance: int | Literal["limit"]
    atc: int
    last_online_atc: int


class DirectorySpec(TypedDict, total=False):
    """``pse`` / ``ppse`` given in full: the FCI and (PSE) the directory records."""

    fci: Template
    records: dict[str, Template]


class ApplicationSpec(TypedDict, total=False):
    """One entry of ``applications``."""

    aid: str
    fci: dict[str, Template]
    paths: dict[str, JsonObject]
    iad: str
    records: dict[str, Template]
    data: dict[str, str]
    qpboc_data: dict[str, str]
    algorithms: list[str]
    oda: list[str]
    state: StateSpec


class ProfileSpec(TypedDict, total=False):
    """A whole profile after :func:`load_profile` (``extends`` merged in, shapes checked)."""

    format: str
    name: str
    description: str
    card: CardSpec
    algorithms: list[str]
    oda: list[str]
    keys: dict[str, JsonObject]
    icc_key: dict[str, dict[str, str]]
    pin: PinSpec | None
    atr: str
    pse: Literal["auto"] | DirectorySpec | None
    ppse: Literal["auto"] | DirectorySpec | None
    applications: list[ApplicationSpec]
    state: StateSpec


# What each key of a profile object must hold (checked by _check_keys).
Kinds = type | tuple[type, ...]
_TEXT, _NUMBER, _FLAG, _OBJECT, _LIST = str, int, bool, dict, list
_KIND_NAMES: Final[dict[type, str]] = {
    str: "text", int: "an integer", bool: "true or false", dict: "an object", list: "a list",
    type(None): "null",
}  # fmt: skip
_CARD_KEYS: Final[dict[str, Kinds]] = {
    "pan": _TEXT, "bin": _TEXT, "pan_length": _NUMBER, "psn": _TEXT, "expiry": _TEXT,
    "effective": _TEXT, "service_code": _TEXT, "name": _TEXT, "discretionary": _TEXT,
    "track1_discretionary": _TEXT,
}  # fmt: skip
_PIN_KEYS: Final[dict[str, Kinds]] = {"pin": _TEXT, "block": _TEXT, "try_limit": _NUMBER}
_STATE_KEYS: Final[dict[str, Kinds]] = {
    "card_blocked": _FLAG, "blocked": _FLAG, "pin_tries": _NUMBER, "ec_balance": (_NUMBER, _TEXT),
    "atc": _NUMBER, "last_online_atc": _NUMBER,
}  # fmt: skip
_APPLICATION_KEYS: Final[dict[str, Kinds]] = {
    "aid": _TEXT, "fci": _OBJECT, "paths": _OBJECT, "iad": _TEXT, "records": _OBJECT,
    "data": _OBJECT, "qpboc_data": _OBJECT, "algorithms": _LIST, "oda": _LIST, "state": _OBJECT,
}  # fmt: skip
_PROFILE_KEYS: Final[dict[str, Kinds]] = {
    "name": _TEXT, "description": _TEXT, "card": _OBJECT, "algorithms": _LIST, "oda": _LIST,
    "keys": _OBJECT, "icc_key": _OBJECT, "pin": (_OBJECT, type(None)), "atr": _TEXT,
    "pse": (_TEXT, _OBJECT, type(None)), "ppse": (_TEXT, _OBJECT, type(None)),
    "applications": _LIST, "state": _OBJECT,
}  # fmt: skip


def builtin_profiles() -> list[str]:
    """The names of the built-in profiles."""
    folder = resources.files("zhifu.card") / "profiles"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def _read(source: str | Path) -> JsonObject:
    if isinstance(source, str) and source in builtin_profiles():
        text = (resources.files("zhifu.card") / "profiles" / f"{source}.json").read_text("utf-8")
    else:
        try:
            raw = Path(source).read_bytes()
        except OSError:
            names = ", ".join(builtin_profiles())
            raise UsageError(
                f"not a built-in profile ({names}) nor a readable file", argument="profile"
            ) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError("not UTF-8 text", field="profile", offset=exc.start) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise DecodeError("not JSON", field="profile", offset=getattr(exc, "pos", None)) from None
    if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
        raise DecodeError(f"not a {PROFILE_FORMAT} profile", field="format")
    return data


def _check_keys(data: Mapping[str, Any], kinds: Mapping[str, Kinds], where: str) -> None:
    for key, kind in kinds.items():
        if key not in data:
            continue
        wanted = kind if isinstance(kind, tuple) else (kind,)
        value = data[key]
        if (isinstance(value, bool) and bool not in wanted) or not isinstance(value, wanted):
            names = " or ".join(_KIND_NAMES[k] for k in wanted)
            raise DecodeError(f"expected {names}", field=where + key)


def _check_texts(data: Mapping[str, Any], where: str) -> None:
    for key in ("algorithms", "oda"):
        if not all(isinstance(item, str) for item in data.get(key, [])):
            raise DecodeError("expected a list of names", field=where + key)


def _check_state(data: Mapping[str, Any], where: str) -> None:
    state = data.get("state", {})
    _check_keys(state, _STATE_KEYS, f"{where}state.")
    if isinstance(state.get("ec_balance"), str) and state["ec_balance"] != "limit":
        raise DecodeError('expected fen or "limit"', field=f"{where}state.ec_balance")


def check_profile(data: JsonObject) -> ProfileSpec:
    """``data`` as a :class:`ProfileSpec` once every key it has holds the right kind of value
    (DecodeError naming the first that does not); unknown keys are left alone."""
    _check_keys(data, _PROFILE_KEYS, "")
    _check_keys(data.get("card", {}), _CARD_KEYS, "card.")
    _check_keys(data.get("pin") or {}, _PIN_KEYS, "pin.")
    _check_state(data, "")
    _check_texts(data, "")
    for key in ("pse", "ppse"):
        if isinstance(data.get(key), str) and data[key] != "auto":
            raise DecodeError('expected "auto", null or an object', field=key)
        if isinstance(data.get(key), dict) and "fci" not in data[key]:
            raise DecodeError("expected the FCI template", field=f"{key}.fci")
    for i, app in enumerate(data.get("applications", [])):
        where = f"applications[{i}]."
        if not isinstance(app, dict):
            raise DecodeError("expected an object", field=where[:-1])
        _check_keys(app, _APPLICATION_KEYS, where)
        _check_state(app, where)
        _check_texts(app, where)
    return cast(ProfileSpec, data)


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> JsonObject:
    """``over`` merged onto ``base``: objects merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def load_profile(source: str | Path) -> ProfileSpec:
    """A profile by built-in name or file path, with its ``extends`` chain merged in and its
    shape checked (:func:`check_profile`)."""
    data = _read(source)
    for _ in range(_MAX_EXTENDS):
        parent = data.get("extends")
        if not parent:
            return check_profile(data)
        if not isinstance(parent, str) or parent not in builtin_profiles():
            raise DecodeError("extends must name a built-in profile", field="extends")
        child = dict(data)
        child.pop("extends")
        data = merge(_read(parent), child)
    raise DecodeError(f"more than {_MAX_EXTENDS} levels of extends", field="extends")


def render_value(value: object, values: Values, where: str = "value") -> bytes | None:
    """One template value as bytes (None: a placeholder without value)."""
    if not isinstance(value, str):
        raise DecodeError("expected a string value", field=where)
    if value.startswith("$"):
        return values.get(value[1:]) or None
    if value.startswith("ascii:"):
        return value[6:].encode("ascii", errors="strict")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise DecodeError("not hexadecimal", field=where) from None


def render_items(items: object, values: Values, where: str = "template") -> bytes:
    """A list of ``[tag, value]`` pairs as encoded TLV objects."""
    if not isinstance(items, list):
        raise DecodeError("expected a list of [tag, value] pairs", field=where)
    out = b""
    for i, entry in enumerate(items):
        here = f"{where}[{i}]"
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)):
            raise DecodeError("expected [tag, value]", field=here)
        try:
            tag = int(entry[0], 16)
        except ValueError:
            raise DecodeError("the tag is not hex", field=here) from None
        if isinstance(entry[1], list):
            content: bytes | None = render_items(entry[1], values, here)
        else:
            content = render_value(entry[1], values, here)
        if content is None:
            continue
        try:
            out += tlv.Tlv(tag, content).encode()
        except UsageError:
            raise DecodeError("not a valid BER tag", field=here) from None
    return out


def _whole_or_content(template: object, tag: int, values: Values, where: str) -> bytes:
    if isinstance(template, str):
        data = render_value(template, values, where) or b""
        items = tlv.decode(data)
        if len(items) != 1 or items[0].tag != tag:
            raise DecodeError(f"expected one {tlv.tag_hex(tag)} template", field=where)
        return data
    return tlv.Tlv(tag, render_items(template, values, where)).encode()


def render_record(template: object, values: Values, where: str = "record") -> bytes:
    """A record: hex of the whole 70 template, or the list of its content."""
    return _whole_or_content(template, 0x70, values, where)


def render_fci(template: object, df_name: bytes, values: Values, where: str = "fci") -> bytes:
    """An FCI: hex of the whole 6F template, or the list of the A5 proprietary template."""
    if isinstance(template, str):
        return _whole_or_content(template, 0x6F, values, where)
    a5 = tlv.Tlv(0xA5, render_items(template, values, where))
    return tlv.Tlv(0x6F, tlv.Tlv(0x84, df_name).encode() + a5.encode()).encode()

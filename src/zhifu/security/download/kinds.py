"""The four kinds of download and what their entries hold, as tables.

=========  =========================  =========  ==============================================
kind       entry id                   schema     holds
=========  =========================  =========  ==============================================
keys       a name (``pik``)           key        a working key wrapped (ECB) under the TMK, KCV
capk       ``RID-II`` (index, hex)    capk       a CA public key and its check value (EMV)
params     ``terminal``               terminal   the merchant name
params     ``aid:<AID>``              aid        one AID's TACs, DOLs, limits (amounts in fen)
program    a name (``pos``)           program    a program: version, size, SHA-256, the bytes
=========  =========================  =========  ==============================================

Every field of a schema is required and no other is allowed. :func:`check_data` checks the
form (types, lengths, ranges: a :class:`MalformedPackageError`); :func:`check_content` the
rules between fields (a CA key's check value, a program's digest, an id that matches its
content: a :class:`ContentError`). The CA public key check value is SHA-1 over RID ‖ index ‖
modulus ‖ exponent (EMV 4.3 Book 2 §11.2.2); for an SM2 key (algorithm indicator 04, hash 07)
zhifu's convention, as :mod:`zhifu.card.oda` uses it, is SM3 over RID ‖ index ‖ x‖y.

>>> check_data(Kind.PARAMS, "terminal", {"merchant_name": "湖畔面馆"}, field="e")
>>> check_data(Kind.PARAMS, "terminal", {"merchant_name": 7}, field="e")
Traceback (most recent call last):
...
zhifu...MalformedPackageError: field e.merchant_name: text of 1 to 40 characters
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from zhifu.crypto.hashes import Hash, digest
from zhifu.security.download.errors import ContentError, MalformedPackageError
from zhifu.security.keys import KeyAlgorithm

__all__ = [
    "ENTRY_TYPES",
    "MAX_AMOUNT",
    "MAX_PROGRAM_BYTES",
    "SCHEMAS",
    "EntryType",
    "Field",
    "Kind",
    "capk_checksum",
    "check_content",
    "check_data",
    "entry_type",
]

MAX_AMOUNT: Final = 999_999_999_999
"""The largest amount in fen (12 digits, as the n12 amounts of EMV)."""
MAX_PROGRAM_BYTES: Final = 8 * 1024 * 1024


class Kind(enum.Enum):
    """What a package carries; the value is its name in the package and on the command line."""

    KEYS = "keys"
    CAPK = "capk"
    PARAMS = "params"
    PROGRAM = "program"


@dataclass(frozen=True)
class Field:
    """One field of an entry: ``type`` and the bounds ``low``..``high`` (bytes for ``hex``
    and ``base64``, characters for ``text`` and ``digits``, the value for ``int``), or the
    allowed ``choices``."""

    name: str
    type: str
    low: int = 0
    high: int = 0
    choices: tuple[int | str, ...] = ()


def _amount(name: str) -> Field:
    return Field(name, "int", 0, MAX_AMOUNT)


def _hex(name: str, low: int, high: int | None = None) -> Field:
    return Field(name, "hex", low, low if high is None else high)


SCHEMAS: Final[Mapping[str, tuple[Field, ...]]] = {
    "key": (
        Field("usage", "choice", choices=("pin", "mac", "data")),
        Field("algorithm", "choice", choices=("des", "3des", "aes", "sm4")),
        _hex("key", 8, 32),  # enciphered (ECB) under the TMK
        _hex("kcv", 3),
    ),
    "capk": (
        _hex("rid", 5),
        Field("index", "int", 0, 255),  # 9F22
        Field("expiry", "digits", 8, 8),  # YYYYMMDD
        Field("hash_algorithm", "choice", choices=(1, 7)),  # 01 SHA-1, 07 SM3
        Field("pk_algorithm", "choice", choices=(1, 4)),  # 01 RSA, 04 SM2
        _hex("modulus", 64, 248),  # RSA modulus, or the SM2 point x‖y
        _hex("exponent", 0, 3),  # 03 or 010001; empty for SM2
        _hex("checksum", 20, 32),
    ),
    "terminal": (Field("merchant_name", "text", 1, 40),),
    "aid": (
        _hex("aid", 5, 16),
        Field("label", "text", 0, 32),
        Field("asi", "choice", choices=(0, 1)),  # application selection indicator
        _hex("app_version", 2),  # 9F09
        _hex("tac_default", 5),
        _hex("tac_online", 5),
        _hex("tac_denial", 5),
        _amount("floor_limit"),  # 9F1B
        _amount("threshold"),  # random selection threshold
        Field("max_target_percent", "int", 0, 99),
        Field("target_percent", "int", 0, 99),
        _hex("ddol", 0, 252),
        _hex("tdol", 0, 252),
        Field("online_pin", "choice", choices=(0, 1)),
        _amount("ec_limit"),  # 9F7B e-cash terminal limit
        _amount("cl_floor_limit"),  # DF19
        _amount("cl_limit"),  # DF20
        _amount("cvm_limit"),  # DF21
    ),
    "program": (
        Field("version", "text", 1, 32),
        Field("size", "int", 0, MAX_PROGRAM_BYTES),
        _hex("sha256", 32),
        Field("blob", "base64", 0, MAX_PROGRAM_BYTES),
    ),
}
"""Each schema's fields, in the order the documentation lists them."""


@dataclass(frozen=True)
class EntryType:
    """Entries of ``kind`` whose id matches ``pattern`` hold the fields of ``schema``."""

    kind: Kind
    pattern: re.Pattern[str]
    schema: str


ENTRY_TYPES: Final = (
    EntryType(Kind.KEYS, re.compile(r"[a-z][a-z0-9_-]{0,15}"), "key"),
    EntryType(Kind.CAPK, re.compile(r"[0-9A-F]{10}-[0-9A-F]{2}"), "capk"),
    EntryType(Kind.PARAMS, re.compile(r"terminal"), "terminal"),
    EntryType(Kind.PARAMS, re.compile(r"aid:(?:[0-9A-F]{2}){5,16}"), "aid"),
    EntryType(Kind.PROGRAM, re.compile(r"[a-z][a-z0-9_.-]{0,31}"), "program"),
)


def entry_type(kind: Kind, entry_id: str, *, field: str) -> EntryType:
    """The entry type of ``entry_id`` in a package of ``kind`` (malformed when none)."""
    for candidate in ENTRY_TYPES:
        if candidate.kind is kind and candidate.pattern.fullmatch(entry_id):
            return candidate
    raise MalformedPackageError(f"{entry_id!r} is not an entry id of a {kind.value} package",
                                field=field)  # fmt: skip


_HEX = re.compile(r"(?:[0-9A-F]{2})*")


def _field_problem(spec: Field, value: Any) -> str | None:
    """What is wrong with ``value`` for ``spec``, or None."""
    kind = spec.type
    if kind == "choice":
        ok = value in spec.choices and type(value) is type(spec.choices[0])
        return None if ok else "one of " + ", ".join(str(c) for c in spec.choices)
    if kind == "int":
        ok = type(value) is int and spec.low <= value <= spec.high
        return None if ok else f"an integer from {spec.low} to {spec.high}"
    if not isinstance(value, str):
        return _expected(spec)
    if kind == "hex":
        ok = bool(_HEX.fullmatch(value)) and spec.low <= len(value) // 2 <= spec.high
    elif kind == "text":
        ok = spec.low <= len(value) <= spec.high and value.isprintable()
    elif kind == "digits":
        ok = value.isascii() and value.isdigit() and spec.low <= len(value) <= spec.high
    else:  # base64, in its one canonical spelling
        ok = _base64_ok(value, spec.high)
    return None if ok else _expected(spec)


def _expected(spec: Field) -> str:
    span = f"{spec.low}" if spec.low == spec.high else f"{spec.low} to {spec.high}"
    return {
        "hex": f"upper-case hex of {span} bytes",
        "text": f"text of {span} characters",
        "digits": f"{span} digits",
        "base64": f"base64 of at most {spec.high} bytes",
    }[spec.type]


def _base64_ok(value: str, limit: int) -> bool:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return len(raw) <= limit and base64.b64encode(raw).decode("ascii") == value


def check_data(kind: Kind, entry_id: str, data: Any, *, field: str) -> None:
    """Refuse (malformed) data that lacks a field, has another, or has one of the wrong form."""
    schema = SCHEMAS[entry_type(kind, entry_id, field=field).schema]
    if not isinstance(data, dict):
        raise MalformedPackageError("an object", field=field)
    names = {spec.name for spec in schema}
    if set(data) != names:
        missing, extra = sorted(names - set(data)), sorted(set(data) - names)
        parts = ([f"lacks {', '.join(missing)}"] if missing else []) + (
            [f"has unknown {', '.join(extra)}"] if extra else []
        )
        raise MalformedPackageError("; ".join(parts), field=field)
    for spec in schema:
        problem = _field_problem(spec, data[spec.name])
        if problem is not None:
            raise MalformedPackageError(problem, field=f"{field}.{spec.name}")


def capk_checksum(rid: bytes, index: int, modulus: bytes, exponent: bytes, hash_algorithm: int
                  ) -> bytes:  # fmt: skip
    """The CA public key check value: SHA-1 (01) or SM3 (07) of RID ‖ index ‖ modulus ‖ exponent.

    >>> capk_checksum(bytes(5), 1, bytes(64), b"\\x03", 1).hex()[:8]
    'a349f0c4'
    """
    alg = Hash.SHA1 if hash_algorithm == 1 else Hash.SM3
    return digest(alg, rid + bytes([index]) + modulus + exponent)


def check_content(kind: Kind, entry_id: str, data: Mapping[str, Any]) -> None:
    """Refuse data (already well-formed) whose fields contradict each other or the id."""
    schema = entry_type(kind, entry_id, field="id").schema
    problem = _CONTENT_CHECKS[schema](entry_id, data)
    if problem:
        raise ContentError(f"{kind.value} entry {entry_id}: {problem}; nothing was applied: "
                           "ask the platform for a corrected package")  # fmt: skip


def _key_problem(entry_id: str, data: Mapping[str, Any]) -> str:
    algorithm = KeyAlgorithm.parse(data["algorithm"])
    if len(data["key"]) // 2 not in algorithm.key_lengths:
        return f"a {algorithm.name} key is not {len(data['key']) // 2} bytes long"
    return ""


_RSA_CA: Final = {(1, "03"), (1, "010001")}  # (hash indicator, exponent) of an RSA CA key


def _capk_problem(entry_id: str, data: Mapping[str, Any]) -> str:
    rid, modulus, exponent = (bytes.fromhex(data[n]) for n in ("rid", "modulus", "exponent"))
    shape = (data["hash_algorithm"], data["exponent"])
    problem = ""
    if entry_id != f"{data['rid']}-{data['index']:02X}":
        problem = "the id is not RID-index of the key"
    elif not _is_date(data["expiry"]):
        problem = "the expiry is not a date YYYYMMDD"
    elif data["pk_algorithm"] == 1 and shape not in _RSA_CA:
        problem = "an RSA CA key has hash 01 (SHA-1) and exponent 03 or 010001"
    elif data["pk_algorithm"] == 4 and (shape, len(modulus)) != ((7, ""), 64):
        problem = "an SM2 CA key has hash 07 (SM3), no exponent and a 64-byte point"
    else:
        check = capk_checksum(rid, data["index"], modulus, exponent, data["hash_algorithm"])
        if check.hex().upper() != data["checksum"]:
            problem = "the check value does not match the key"
    return problem


def _is_date(text: str) -> bool:
    try:
        date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return False
    return True


def _aid_problem(entry_id: str, data: Mapping[str, Any]) -> str:
    if entry_id != f"aid:{data['aid']}":
        return "the id is not aid: and the AID"
    if data["target_percent"] > data["max_target_percent"]:
        return "the target percentage is above the maximum target percentage"
    if data["threshold"] > data["floor_limit"]:
        return "the random selection threshold is above the floor limit"
    return ""


def _program_problem(entry_id: str, data: Mapping[str, Any]) -> str:
    blob = base64.b64decode(data["blob"])
    if len(blob) != data["size"]:
        return f"the program is {len(blob)} bytes, not the {data['size']} announced"
    if hashlib.sha256(blob).hexdigest().upper() != data["sha256"]:
        return "the program's SHA-256 does not match its bytes"
    return ""


_CONTENT_CHECKS = {
    "key": _key_problem,
    "capk": _capk_problem,
    "terminal": lambda entry_id, data: "",
    "aid": _aid_problem,
    "program": _program_problem,
}

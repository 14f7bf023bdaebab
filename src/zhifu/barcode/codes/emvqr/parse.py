"""The lenient EMVCo MPM parser: decodes what it can and reports every deviation.

Parsing never raises on bad input: a broken header ends its level (the rest is kept raw in the
parent's value), a length that overruns is cut, a length that counts UTF-8 bytes or UTF-16
units instead of characters is recognised when it is the only reading that lands on the next
header, a bad CRC is diagnosed (XMODEM, GBK, UTF-16 low bytes, without ``6304``). Validation is
strict: a payload is valid when no deviation of severity ``error`` is reported.

>>> m5 = ("00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000"
...       "5204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D")
>>> result = parse_mpm(m5)
>>> result.valid, result.value("26.00"), result.value("62.05")
(True, 'br.gov.bcb.pix', '***')
>>> [d.code.value for d in validate_mpm(m5.replace("Fulano", "Beltra"))]
['CRC_MISMATCH']
"""

from __future__ import annotations

import binascii
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from zhifu.barcode.codes.emvqr.ids import MAX_PAYLOAD_CHARS, spec_for
from zhifu.barcode.codes.emvqr.model import (
    DataObject,
    Deviation,
    DeviationCode,
    Severity,
    crc16_ccitt_false,
)
from zhifu.barcode.codes.emvqr.rules import check_tree
from zhifu.core.errors import UsageError

D = DeviationCode
_DIGITS: Final = frozenset("0123456789")
_HEX: Final = frozenset("0123456789abcdefABCDEF")
MAX_DEPTH: Final = 3

FieldValue = str | dict[str, Any]


@dataclass(frozen=True, slots=True)
class ParseResult:
    """The decoded tree (root objects in payload order) and every deviation found."""

    payload: str
    tree: tuple[DataObject, ...]
    deviations: list[Deviation]

    @property
    def valid(self) -> bool:
        return not any(d.severity is Severity.ERROR for d in self.deviations)

    @property
    def errors(self) -> list[Deviation]:
        return [d for d in self.deviations if d.severity is Severity.ERROR]

    def find(self, path: str) -> DataObject | None:
        """The object at a dotted path such as ``"62.05"`` (first occurrence), or None."""
        level: tuple[DataObject, ...] | None = self.tree
        found = None
        for part in path.split("."):
            found = next((o for o in level or () if o.id == part), None)
            if found is None:
                return None
            level = found.children
        return found

    def value(self, path: str) -> str | None:
        found = self.find(path)
        return None if found is None else found.value

    def as_fields(self) -> dict[str, FieldValue]:
        """The tree as the nested mapping :func:`build_mpm` takes (without the CRC)."""
        return {o.id: _fields_of(o) for o in self.tree if o.id != "63"}

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "tree": [o.to_dict() for o in self.tree],
            "deviations": [d.to_dict() for d in self.deviations],
        }


def _fields_of(obj: DataObject) -> FieldValue:
    if obj.children is None:
        return obj.value
    return {c.id: _fields_of(c) for c in obj.children}


def parse_mpm(payload: str | bytes) -> ParseResult:
    """Decode an EMVCo merchant-presented payload leniently (see the module docstring)."""
    deviations: list[Deviation] = []
    if isinstance(payload, bytes | bytearray):
        try:
            text = bytes(payload).decode("utf-8")
        except UnicodeDecodeError as exc:
            text = bytes(payload).decode("utf-8", errors="replace")
            at = len(bytes(payload)[: exc.start].decode("utf-8"))  # offsets count characters
            message = f"invalid UTF-8 byte (byte offset {exc.start})"
            deviations.append(Deviation(D.NOT_UTF8, message, at))
    elif isinstance(payload, str):
        text = payload
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            deviations.append(Deviation(D.NOT_UTF8, "lone surrogate: no UTF-8 form", exc.start))
    else:
        raise UsageError("a payload is text or bytes", argument="payload")
    if not text:
        deviations.append(Deviation(D.PAYLOAD_EMPTY, "empty payload", 0))
        return ParseResult(text, (), deviations)
    if len(text) > MAX_PAYLOAD_CHARS:
        deviations.append(Deviation(D.PAYLOAD_TOO_LONG, f"{len(text)} characters", 0))
    parser = _Parser(text, deviations)
    tree = parser.level(0, len(text), "root", "", 0)
    check_tree(tree, deviations)
    _check_crc(text, tree, deviations)
    deviations.sort(key=lambda d: (d.offset is None, d.offset or 0))
    return ParseResult(text, tree, deviations)


def validate_mpm(payload: str | bytes) -> list[Deviation]:
    """Every deviation of the payload; it is valid when none has severity ``error``."""
    return parse_mpm(payload).deviations


def _is_header(text: str, pos: int) -> bool:
    head = text[pos : pos + 4]
    return len(head) == 4 and all(c in _DIGITS for c in head)


class _Parser:
    def __init__(self, text: str, deviations: list[Deviation]) -> None:
        self.text = text
        self.devs = deviations

    def level(
        self, start: int, end: int, table: str, parent: str, depth: int
    ) -> tuple[DataObject, ...]:
        text, objs, pos = self.text, [], start
        while pos < end:
            where = parent or "root"
            if not _is_header(text, pos) or pos + 4 > end:
                self.devs.append(Deviation(D.BAD_HEADER, f"in {where}", pos, parent or None))
                break
            data_id, length = text[pos : pos + 2], int(text[pos + 2 : pos + 4])
            path = f"{parent}.{data_id}" if parent else data_id
            start_v = pos + 4
            if length == 0:
                self.devs.append(Deviation(D.ZERO_LENGTH, f"{path} has length 00", pos, path))
            end_v = self._value_end(start_v, length, end, path, pos)
            if end_v > end:
                if not (table == "root" and data_id == "63"):  # a short CRC is judged below
                    self.devs.append(
                        Deviation(D.VALUE_OVERRUN, f"{path} declares {length}", pos, path)
                    )
                end_v = end
            spec = spec_for(table, data_id)
            children = None
            if spec.template is not None and depth < MAX_DEPTH:
                children = self.level(start_v, end_v, spec.template, path, depth + 1)
            value = text[start_v:end_v]
            objs.append(DataObject(data_id, length, value, pos, path, spec.name, children))
            pos = end_v
        return tuple(objs)

    def _value_end(self, start: int, length: int, end: int, path: str, at: int) -> int:
        """Where the value ends: characters first, then the byte/unit readings real codes use."""
        text = self.text
        by_chars = start + length
        if by_chars == end or (by_chars < end and _is_header(text, by_chars)):
            return by_chars
        for code, size in (
            (D.LENGTH_IN_UTF8_BYTES, _utf8_len),
            (D.LENGTH_IN_UTF16_UNITS, _utf16_len),
        ):
            alt = _end_by_units(text, start, min(end, by_chars), length, size)
            if alt is not None and alt != by_chars and (alt == end or _is_header(text, alt)):
                self.devs.append(Deviation(code, f"{path} length {length}", at, path))
                return alt
        return by_chars


def _utf8_len(c: str) -> int:
    return len(c.encode("utf-8", errors="replace"))


def _utf16_len(c: str) -> int:
    return 2 if ord(c) > 0xFFFF else 1


def _end_by_units(
    text: str, start: int, stop: int, units: int, size: Callable[[str], int]
) -> int | None:
    """The index where ``units`` units (counted by ``size``) end, if on a character boundary."""
    count, pos = 0, start
    while count < units and pos < stop:
        count += size(text[pos])
        pos += 1
    return pos if count == units else None


def _check_crc(text: str, tree: tuple[DataObject, ...], devs: list[Deviation]) -> None:
    crcs = [o for o in tree if o.id == "63"]
    if not crcs:
        devs.append(Deviation(D.CRC_MISSING, "no 63 object", len(text), "63"))
        return
    obj = crcs[0]
    if obj is not tree[-1]:
        devs.append(Deviation(D.CRC_NOT_LAST, "objects follow the CRC", obj.offset, "63"))
    covered, value = text[: obj.offset + 4], obj.value
    if not value or len(value) > 4 or any(c not in _HEX for c in value):
        devs.append(Deviation(D.CRC_NOT_HEX, "the CRC is not 1-4 hex digits", obj.offset, "63"))
        return
    given = int(value, 16)
    if len(value) < 4 or obj.length != 4:
        readings = (covered, covered[:-2] + "04")
        ok = any(crc16_ccitt_false(r.encode("utf-8", "replace")) == given for r in readings)
        code = D.CRC_NOT_ZERO_PADDED if ok else D.CRC_MISMATCH
        devs.append(Deviation(code, f"{len(value)} hex digits", obj.offset, "63"))
        return
    if value != value.upper():
        devs.append(Deviation(D.CRC_LOWER_CASE, "lower-case hex", obj.offset, "63"))
    if crc16_ccitt_false(covered.encode("utf-8", "replace")) != given:
        code = _diagnose(covered, text[: obj.offset], given)
        devs.append(Deviation(code, f"CRC {value.upper()} does not match", obj.offset, "63"))


def _diagnose(covered: str, without_header: str, given: int) -> DeviationCode:
    """Which common wrong computation gives the stated CRC (docs/standards/barcode.md §7 mode 3)."""
    utf8 = covered.encode("utf-8", "replace")
    if binascii.crc_hqx(utf8, 0) == given:
        return D.CRC_XMODEM
    gbk = _gbk(covered)
    if gbk is not None and gbk != utf8 and crc16_ccitt_false(gbk) == given:
        return D.CRC_GBK
    low_bytes = covered.encode("utf-16-be", "surrogatepass")[1::2]
    if low_bytes != utf8 and crc16_ccitt_false(low_bytes) == given:
        return D.CRC_UTF16_LOW_BYTE
    if crc16_ccitt_false(without_header.encode("utf-8", "replace")) == given:
        return D.CRC_WITHOUT_HEADER
    return D.CRC_MISMATCH


def _gbk(text: str) -> bytes | None:
    try:
        return text.encode("gbk")
    except UnicodeEncodeError:
        return None

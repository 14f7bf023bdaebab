"""EMVCo merchant-presented QR payloads (MPM v1.1): the strict generator, and the lenient
parser re-exported from :mod:`emvqr_parse`.

:func:`build_mpm` takes a mapping of two-digit ids to values (a nested mapping for a
template), keeps the caller's order except that 00 goes first, appends ``6304`` and the
CRC-16/CCITT-FALSE of the UTF-8 bytes, and refuses anything :func:`validate_mpm` would report
(warnings included) with an :class:`EncodeError` naming the field. Chinese names go in template
64 (format S); 59 and 60 are ans.

>>> payload = build_mpm({
...     "01": "12",
...     "26": {"00": "test.zhifu.pay", "01": "M0001"},
...     "52": "5812", "53": "156", "54": "12.34", "58": "CN",
...     "59": "ZHIFU NOODLES", "60": "SHANGHAI",
...     "64": {"00": "ZH", "01": "知付面馆", "02": "上海"},
... })
>>> payload[:12], payload[-8:-4]
('000201010212', '6304')
>>> parse_mpm(payload).value("64.01")
'知付面馆'
>>> build_mpm({"26": {"00": "x"}, "59": "面馆"})  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
zhifu.core.errors.EncodeError: field 59 at offset 15: FORMAT_ANS: 59 has a non-ans...
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zhifu.barcode.codes.emvqr.ids import spec_for
from zhifu.barcode.codes.emvqr.model import (
    DEVIATIONS,
    DataObject,
    Deviation,
    DeviationCode,
    Severity,
    crc16_ccitt_false,
    crc_text,
)
from zhifu.barcode.codes.emvqr.parse import ParseResult, parse_mpm, validate_mpm
from zhifu.core.errors import EncodeError, UsageError
from zhifu.core.money import Money

__all__ = [
    "DEVIATIONS",
    "DataObject",
    "Deviation",
    "DeviationCode",
    "ParseResult",
    "Severity",
    "build_mpm",
    "crc16_ccitt_false",
    "crc_text",
    "merchant_fields",
    "parse_mpm",
    "validate_mpm",
]


def build_mpm(fields: Mapping[str, Any]) -> str:
    """A payload from ``fields``, or an :class:`EncodeError` if any rule would be broken."""
    if not isinstance(fields, Mapping):
        raise UsageError("fields is a mapping of two-digit ids", argument="fields")
    if "63" in fields:
        raise EncodeError("63 (CRC) is computed, do not give it", field="63")
    pfi = fields.get("00", "01")
    body = _encode_object("00", pfi, "root", "00") + "".join(
        _encode_object(key, value, "root", str(key)) for key, value in fields.items() if key != "00"
    )
    payload = body + "6304"
    payload += crc_text(payload.encode("utf-8"))
    deviations = parse_mpm(payload).deviations
    if deviations:
        first = deviations[0]
        more = f" (and {len(deviations) - 1} more)" if len(deviations) > 1 else ""
        raise EncodeError(
            f"{first.code.value}: {first.message}{more}", field=first.path, offset=first.offset
        )
    return payload


def _encode_object(key: object, value: object, table: str, path: str) -> str:
    if not (isinstance(key, str) and len(key) == 2 and key.isascii() and key.isdigit()):
        raise EncodeError("ids are two digits", field=path)
    spec = spec_for(table, key)
    if isinstance(value, Mapping):
        if spec.template is None:
            raise EncodeError(f"{path} is primitive, not a template", field=path)
        sub = spec.template
        inner = "".join(_encode_object(k, v, sub, f"{path}.{k}") for k, v in value.items())
    elif isinstance(value, str):
        inner = value
        try:
            inner.encode("utf-8")
        except UnicodeEncodeError:
            raise EncodeError(f"{path} has a lone surrogate (no UTF-8 form)", field=path) from None
    else:
        raise EncodeError(f"{path} must be text or a mapping", field=path)
    if not 1 <= len(inner) <= 99:
        raise EncodeError(f"{path} has {len(inner)} characters; 1-99 allowed", field=path)
    return f"{key}{len(inner):02d}{inner}"


def merchant_fields(
    *,
    gui: str,
    merchant_id: str,
    name: str,
    city: str,
    mcc: str,
    amount: Money | None = None,
    country: str = "CN",
    name_zh: str | None = None,
    city_zh: str | None = None,
    reference: str | None = None,
    template_id: str = "26",
) -> dict[str, Any]:
    """The fields of a typical code: one merchant account template, CNY (or the amount's
    currency), static without an amount and dynamic (01 = 12) with one.

    >>> merchant_fields(gui="test.zhifu.pay", merchant_id="M1", name="N", city="C", mcc="5812")
    ... # doctest: +NORMALIZE_WHITESPACE
    {'01': '11', '26': {'00': 'test.zhifu.pay', '01': 'M1'}, '52': '5812', '53': '156',
     '58': 'CN', '59': 'N', '60': 'C'}
    """
    fields: dict[str, Any] = {
        "01": "12" if amount is not None else "11",
        template_id: {"00": gui, "01": merchant_id},
        "52": mcc,
        "53": amount.currency.numeric if amount is not None else "156",
    }
    if amount is not None:
        if amount.minor <= 0:
            raise UsageError("the amount must be positive", argument="amount")
        fields["54"] = amount.format()
    fields.update({"58": country, "59": name, "60": city})
    if reference is not None:
        fields["62"] = {"05": reference}
    if name_zh is not None:
        fields["64"] = {"00": "ZH", "01": name_zh, **({"02": city_zh} if city_zh else {})}
    elif city_zh is not None:
        raise UsageError("a Chinese city needs a Chinese name (64/01)", argument="city_zh")
    return fields

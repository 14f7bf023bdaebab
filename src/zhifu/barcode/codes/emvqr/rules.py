"""The content rules of EMVCo MPM v1.1 checked over a parsed tree (the CRC is checked by the
parser): formats, lengths, presence, ordering, amounts, tip rules, template rules.

>>> from zhifu.barcode.codes.emvqr.model import DataObject
>>> devs = []
>>> check_tree((DataObject("00", 2, "02", 0, "00", "Payload Format Indicator"),), devs)
>>> sorted({d.code.value for d in devs})[:3]
['MISSING_MANDATORY', 'MISSING_MERCHANT_ACCOUNT', 'PFI_VALUE']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction
from typing import Final

from zhifu.barcode.codes.emvqr.ids import (
    MERCHANT_ACCOUNT_IDS,
    Fmt,
    mandatory_ids,
    spec_for,
)
from zhifu.barcode.codes.emvqr.model import DataObject, Deviation, DeviationCode
from zhifu.core.errors import UsageError
from zhifu.core.money import Currency

D = DeviationCode
_AMOUNT: Final = re.compile(r"(\d+\.?\d*|\.\d+)")
_GUI_TABLES: Final = frozenset({"merchant_account", "payment_system"})


def is_ans(value: str) -> bool:
    """True if every character is in the EMV common character set (printable ASCII)."""
    return all(" " <= c <= "~" for c in value)


def is_n(value: str) -> bool:
    return all("0" <= c <= "9" for c in value)


def check_tree(tree: Sequence[DataObject], devs: list[Deviation]) -> None:
    """Append the deviations of a whole payload tree to ``devs``."""
    _check_level(tree, "root", devs)
    _check_root(tree, devs)


def _check_level(objs: Sequence[DataObject], table: str, devs: list[Deviation]) -> None:
    seen: set[str] = set()
    for obj in objs:
        if obj.id in seen:
            devs.append(
                Deviation(D.DUPLICATE_ID, f"{obj.path} appears again", obj.offset, obj.path)
            )
        seen.add(obj.id)
        _check_object(obj, table, devs)
    if table in _GUI_TABLES and "00" not in seen:
        parent = objs[0].path.rsplit(".", 1)[0] if objs else table
        devs.append(Deviation(D.GUI_MISSING, f"{parent} has no 00", _first(objs), parent))
    if table == "language":
        for data_id in mandatory_ids("language"):
            if data_id not in seen:
                path = objs[0].path.rsplit(".", 1)[0] + "." + data_id if objs else "64." + data_id
                devs.append(Deviation(D.MISSING_MANDATORY, f"{path} absent", _first(objs), path))


def _first(objs: Sequence[DataObject]) -> int | None:
    return objs[0].offset if objs else None


def _check_object(obj: DataObject, table: str, devs: list[Deviation]) -> None:
    spec = spec_for(table, obj.id)
    at, path = obj.offset, obj.path
    if table == "root" and obj.id == "63":
        return  # the parser judges the CRC
    if spec.rfu:
        if table == "additional_data" and obj.id == "00":
            devs.append(Deviation(D.SUB_ID_00_IN_62, f"{path} present", at, path))
        else:
            devs.append(Deviation(D.RFU_ID, f"{path} is reserved ({spec.name})", at, path))
        return
    if spec.template is not None and obj.children is not None:
        if not obj.children:
            devs.append(Deviation(D.TEMPLATE_EMPTY, f"{path} is empty", at, path))
        _check_level(obj.children, spec.template, devs)
        return
    if obj.value and not spec.min_len <= len(obj.value) <= spec.max_len:
        span = f"{spec.min_len}-{spec.max_len}" if spec.min_len != spec.max_len else spec.max_len
        message = f"{path} has {len(obj.value)} characters, {span} allowed"
        devs.append(Deviation(D.LENGTH_RANGE, message, at, path))
    if spec.fmt is Fmt.N and not is_n(obj.value):
        devs.append(Deviation(D.FORMAT_N, f"{path} is not all digits", at, path))
    elif spec.fmt is Fmt.ANS and not is_ans(obj.value):
        devs.append(Deviation(D.FORMAT_ANS, f"{path} has a non-ans character", at, path))
    _check_special(obj, table, devs)


def _check_special(obj: DataObject, table: str, devs: list[Deviation]) -> None:
    at, path, value = obj.offset, obj.path, obj.value
    bad_letters = not value or any(c not in "AME" for c in value) or len(set(value)) < len(value)
    if table == "additional_data" and obj.id == "09" and bad_letters:
        devs.append(Deviation(D.CONSUMER_DATA_REQUEST, f"{path} = {value!r}", at, path))
    if table == "language" and obj.id == "00" and not re.fullmatch(r"[A-Za-z]{2}", value):
        devs.append(Deviation(D.LANGUAGE_CODE, f"{path} is not two letters", at, path))


def _check_root(tree: Sequence[DataObject], devs: list[Deviation]) -> None:
    by_id = {o.id: o for o in reversed(tree)}  # first occurrence wins
    if tree and tree[0].id != "00":
        devs.append(Deviation(D.PFI_NOT_FIRST, f"first object is {tree[0].id}", 0, "00"))
    pfi = by_id.get("00")
    if pfi is not None and pfi.value != "01":
        devs.append(Deviation(D.PFI_VALUE, f"00 = {pfi.value!r}", pfi.offset, "00"))
    poi = by_id.get("01")
    if poi is not None and poi.value not in ("11", "12"):
        devs.append(Deviation(D.POI_VALUE, f"01 = {poi.value!r}", poi.offset, "01"))
    for data_id in mandatory_ids("root"):
        if data_id not in by_id and data_id != "63":
            devs.append(Deviation(D.MISSING_MANDATORY, f"{data_id} absent", None, data_id))
    if not MERCHANT_ACCOUNT_IDS & by_id.keys():
        devs.append(Deviation(D.MISSING_MERCHANT_ACCOUNT, "no id 02-51", None, None))
    _check_amounts(by_id, devs)


def _exponent(by_id: dict[str, DataObject]) -> int | None:
    currency = by_id.get("53")
    if currency is None:
        return None
    try:
        return Currency.of(currency.value).exponent
    except UsageError:
        return None


def _check_amount(obj: DataObject, exponent: int | None, devs: list[Deviation]) -> bool:
    if not _AMOUNT.fullmatch(obj.value):
        devs.append(Deviation(D.AMOUNT_FORMAT, f"{obj.path} = {obj.value!r}", obj.offset, obj.path))
        return False
    decimals = obj.value.partition(".")[2]
    if exponent is not None and len(decimals) > exponent:
        message = f"{obj.path} has {len(decimals)} decimals, the currency {exponent}"
        devs.append(Deviation(D.AMOUNT_DECIMALS, message, obj.offset, obj.path))
    return True


def _is_zero(value: str) -> bool:
    return not value.replace(".", "").strip("0")


def _percent(value: str) -> bool:
    """True if an amount-formatted value lies in 00.01-99.99."""
    return Fraction("0.01") <= Fraction(value) <= Fraction("99.99")


def _check_amounts(by_id: dict[str, DataObject], devs: list[Deviation]) -> None:
    exponent = _exponent(by_id)
    amount = by_id.get("54")
    if amount is not None and _check_amount(amount, exponent, devs) and _is_zero(amount.value):
        devs.append(Deviation(D.AMOUNT_ZERO, "54 is zero", amount.offset, "54"))
    tip = by_id.get("55")
    indicator = tip.value if tip is not None else None
    fixed, percent = by_id.get("56"), by_id.get("57")
    problems = []
    if indicator is not None and indicator not in ("01", "02", "03"):
        problems.append(f"55 = {indicator!r}")
    if (fixed is not None) != (indicator == "02"):
        problems.append("56 is present if and only if 55 = 02")
    if (percent is not None) != (indicator == "03"):
        problems.append("57 is present if and only if 55 = 03")
    if fixed is not None and _check_amount(fixed, exponent, devs) and _is_zero(fixed.value):
        problems.append("56 is zero")
    if percent is not None and _check_amount(percent, None, devs) and not _percent(percent.value):
        problems.append("57 is outside 00.01-99.99")
    for problem in problems:
        at = tip.offset if tip is not None else None
        devs.append(Deviation(D.TIP_RULES, problem, at, "55"))

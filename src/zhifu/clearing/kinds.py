"""Business categories (业务类型, ``CtgyPurp``) and CNAPS1 sub-kinds (业务种类) as data.

An item may name its category purpose code (CNAPS2 ``PmtTpInf/CtgyPurp/Prtry``); the code must be
one of its business type's (``docs/standards/clearing.md`` §1.3: A1xx/A2xx/A3xx ordinary credits,
B ordinary debits, C real-time credits, D real-time debits, E periodic credits, F periodic
debits). The CNAPS1 transaction numbers (TXNUM) of each packet are kept beside them as the
sub-kinds a bank's core system uses for the same business (§1.2).

>>> CATEGORY["C210"].name_en, CATEGORY["C210"].business_type.value
('salaries', 'real_time_credit')
>>> category_reason(BusinessType.PERIODIC_DEBIT, "A100")
<Reason.BUSINESS_KIND: 'business_kind'>
>>> category_reason(BusinessType.PERIODIC_DEBIT, None) is None
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from zhifu.clearing.codes import BusinessType, Reason

_OC, _OD = BusinessType.ORDINARY_CREDIT, BusinessType.ORDINARY_DEBIT
_RC, _RD = BusinessType.REAL_TIME_CREDIT, BusinessType.REAL_TIME_DEBIT
_PC, _PD = BusinessType.PERIODIC_CREDIT, BusinessType.PERIODIC_DEBIT


@dataclass(frozen=True, slots=True)
class Category:
    """One category purpose code (业务类型) and the business type it belongs to."""

    code: str
    business_type: BusinessType
    name_zh: str
    name_en: str


CATEGORY_TABLE: Final[tuple[Category, ...]] = (
    Category("A100", _OC, "普通汇兑", "ordinary remittance"),
    Category("A101", _OC, "公益性资金汇划", "public-welfare funds"),
    Category("A102", _OC, "国库汇款", "treasury remittance"),
    Category("A104", _OC, "国库贷记划拨", "treasury credit transfer"),
    Category("A108", _OC, "现金汇款", "cash remittance"),
    Category("A109", _OC, "委托收款划回", "collection proceeds"),
    Category("A110", _OC, "托收承付划回", "托收承付 proceeds"),
    Category("A200", _OC, "行间资金汇划", "interbank funds"),
    Category("A201", _OC, "支票", "cheque"),
    Category("A202", _OC, "银行汇票", "bank draft"),
    Category("A301", _OC, "缴费", "fee payment"),
    Category("A307", _OC, "国债兑付贷记", "treasury bond credit"),
    Category("B100", _OD, "普通借记", "ordinary debit"),
    Category("B104", _OD, "国库借记", "treasury debit"),
    Category("B307", _OD, "国债兑付借记", "treasury bond debit"),
    Category("B308", _OD, "支票截留", "cheque truncation"),
    Category("B309", _OD, "通用凭证截留", "general instrument truncation"),
    Category("C100", _RC, "实时贷记", "real-time credit"),
    Category("C101", _RC, "实时代付", "real-time payment"),
    Category("C102", _RC, "个人通存", "cross-bank deposit"),
    Category("C210", _RC, "工资", "salaries"),
    Category("D100", _RD, "实时借记", "real-time debit"),
    Category("D102", _RD, "个人通兑", "cross-bank withdrawal"),
    Category("D200", _RD, "实时代收", "real-time collection"),
    Category("E100", _PC, "定期贷记", "periodic credit"),
    Category("F100", _PD, "定期借记", "periodic debit"),
)
CATEGORY: Final = {c.code: c for c in CATEGORY_TABLE}


@dataclass(frozen=True, slots=True)
class SubKind:
    """A CNAPS1 transaction number (TXNUM) of a packet: the core systems' 业务种类."""

    txnum: str
    business_type: BusinessType
    name_en: str


SUBKIND_TABLE: Final[tuple[SubKind, ...]] = (
    SubKind("00100", _OC, "remittance"),
    SubKind("00101", _OC, "collection proceeds"),
    SubKind("00102", _OC, "托收承付 proceeds"),
    SubKind("00103", _OC, "treasury credit"),
    SubKind("20001", _OC, "tax"),
    SubKind("30002", _OC, "fees"),
    SubKind("00113", _OD, "treasury debit"),
    SubKind("30102", _OD, "cheque truncation"),
    SubKind("30103", _OD, "general truncation"),
    SubKind("30001", _RC, "cross-bank deposit (通存)"),
    SubKind("20101", _RD, "real-time tax"),
    SubKind("30101", _RD, "cross-bank withdrawal (通兑)"),
    SubKind("00104", _PC, "periodic credit"),
    SubKind("00114", _PD, "periodic debit"),
    SubKind("20102", _PD, "batch tax"),
    SubKind("00108", BusinessType.CREDIT_RETURN, "credit return"),
)
SUBKIND: Final = {s.txnum: s for s in SUBKIND_TABLE}


def category_reason(business: BusinessType, code: str | None) -> Reason | None:
    """``business_kind`` when ``code`` is not a category of ``business`` (None: no code)."""
    if code is None:
        return None
    found = CATEGORY.get(code)
    same = (
        business is BusinessType.CREDIT_RETURN and found is not None and found.business_type is _OC
    )
    if found is None or (found.business_type is not business and not same):
        return Reason.BUSINESS_KIND
    return None

"""The BEPS tables as data (style habit 1): each table checked against its source.

Sources (docs/clearing.md#sources): digest §1.2 (CNAPS2 messages, CNAPS1 packets), §1.3
(business type codes, PrcSts statuses, receipt codes), §1.6 (per-item limit), design decisions.
"""

from __future__ import annotations

import re

import pytest

from zhifu.clearing.codes import (
    BUSINESS,
    BUSINESS_TABLE,
    REASON_TEXT,
    RECEIPT_CODES,
    SIX,
    STATUS,
    STATUS_TABLE,
    BusinessType,
    Deadline,
    Direction,
    Reason,
    Status,
)
from zhifu.clearing.kinds import CATEGORY, CATEGORY_TABLE, SUBKIND, SUBKIND_TABLE

# (type, messages, receipt message, CNAPS1 packet, receipt packet, CtgyPurp) per
# docs/standards/clearing.md §1.2
EXPECTED = [
    (BusinessType.ORDINARY_CREDIT, ("beps.121", "beps.122"), None, "001", None, "A100"),
    (BusinessType.PERIODIC_CREDIT, ("beps.125",), None, "005", None, "E100"),
    (BusinessType.ORDINARY_DEBIT, ("beps.127",), "beps.128", "002", "008", "B100"),
    (BusinessType.PERIODIC_DEBIT, ("beps.133",), "beps.134", "006", "011", "F100"),
    (BusinessType.REAL_TIME_CREDIT, ("beps.123",), "beps.124", "003", "009", "C100"),
    (BusinessType.REAL_TIME_DEBIT, ("beps.131",), "beps.132", "004", "010", "D100"),
    (BusinessType.CREDIT_RETURN, ("beps.121",), None, "007", None, "A100"),
]


@pytest.mark.parametrize("row", EXPECTED, ids=[r[0].value for r in EXPECTED])
def test_business_table_matches_the_digest(row: tuple) -> None:
    business, messages, receipt, pkg, receipt_pkg, purpose = row
    spec = BUSINESS[business]
    assert (spec.messages, spec.receipt_message, spec.pkg, spec.receipt_pkg) == (
        messages,
        receipt,
        pkg,
        receipt_pkg,
    )
    assert spec.category_purpose == purpose


def test_business_table_shape() -> None:
    assert len(SIX) == 6 and BusinessType.CREDIT_RETURN not in SIX
    assert [s.business_type for s in BUSINESS_TABLE] == list(BusinessType)
    for spec in BUSINESS_TABLE:
        # a receipt exactly when the type needs one; real time <=> returned on the 3rd working day
        assert (spec.receipt_message is not None) == spec.needs_receipt
        assert spec.real_time == (spec.deadline is Deadline.THIRD_WORKING_DAY)
        assert not (spec.real_time and spec.revocable)
        assert re.fullmatch(r"\d{3}", spec.pkg)
    debits = {s.business_type for s in BUSINESS_TABLE if s.direction is Direction.DEBIT}
    assert debits == {
        BusinessType.ORDINARY_DEBIT,
        BusinessType.PERIODIC_DEBIT,
        BusinessType.REAL_TIME_DEBIT,
    }
    # docs/standards/README.md decisions: ordinary-credit item limit 50,000.00 CNY; the others
    # unlimited by default.
    limits = {s.business_type: s.limit_minor for s in BUSINESS_TABLE if s.limit_minor}
    assert limits == {BusinessType.ORDINARY_CREDIT: 5_000_000}


def test_status_table() -> None:
    assert [s.status for s in STATUS_TABLE] == list(Status)
    assert all(re.fullmatch(r"PR\d\d", s.value) for s in Status)
    names = {s.status.value: s.name_zh for s in STATUS_TABLE if s.source == "digest"}
    assert names == {
        "PR03": "已轧差",
        "PR04": "已清算",
        "PR05": "已成功",
        "PR08": "已撤销",
        "PR09": "已拒绝",
        "PR11": "已轧差排队",
        "PR12": "已清算排队",
        "PR21": "已止付",
        "PR22": "已冲正",
        "PR32": "已超期",
    }
    assert STATUS[Status.SETTLED].final and not STATUS[Status.NETTED].final
    assert {s.status for s in STATUS_TABLE if s.in_position} == {
        Status.NETTED,
        Status.SETTLED,
        Status.SETTLEMENT_QUEUED,
    }


def test_reason_and_receipt_tables() -> None:
    assert set(REASON_TEXT) == set(Reason)
    assert all(zh and en for zh, en in REASON_TEXT.values())
    assert RECEIPT_CODES["00"] == "success"
    assert set(RECEIPT_CODES) == {"00", "01", "02", "03", "10", "11", "20", "90"}


def test_the_category_table() -> None:
    letter = {
        "A": BusinessType.ORDINARY_CREDIT, "B": BusinessType.ORDINARY_DEBIT,
        "C": BusinessType.REAL_TIME_CREDIT, "D": BusinessType.REAL_TIME_DEBIT,
        "E": BusinessType.PERIODIC_CREDIT, "F": BusinessType.PERIODIC_DEBIT,
    }  # fmt: skip
    assert len(CATEGORY) == len(CATEGORY_TABLE)
    for c in CATEGORY_TABLE:
        assert len(c.code) == 4 and c.code[1:].isdigit() and c.name_zh and c.name_en
        assert letter[c.code[0]] is c.business_type
    for spec in BUSINESS.values():  # every type's own code is in the table, under that type
        found = CATEGORY[spec.category_purpose]
        assert found.business_type in (spec.business_type, BusinessType.ORDINARY_CREDIT)
    assert len(SUBKIND) == len(SUBKIND_TABLE)
    packets = {spec.business_type: spec.pkg for spec in BUSINESS.values()}
    for s in SUBKIND_TABLE:
        assert len(s.txnum) == 5 and s.txnum.isdigit() and s.name_en
        assert s.business_type in packets

"""Daily barcode payment limits by risk grade (银发〔2017〕296号; docs/standards/barcode.md §1.2),
as data.

=====  ===========================================================  ===================
grade  verification                                                 daily limit (CNY)
=====  ===========================================================  ===================
A      dynamic code, two or more factors including a certificate    by agreement
B      dynamic code, two or more factors, no certificate            5,000
C      dynamic code, fewer than two factors                         1,000
D      static code (whatever the verification)                      500
=====  ===========================================================  ===================

Counting (project rules [A] where the reports are silent): one running total per customer, per
payment account, per grade and per Asia/Shanghai calendar day; a payment is allowed when the
total *including it* is at most the limit ("不超过": exactly at the limit is allowed). Grade A
uses the account's agreed limit. Refunds do not give the limit back. A static-code payment counts
against D even when the customer verified with more factors.

>>> limit_for("D"), limit_for("C"), limit_for("B"), limit_for("A", agreed=2_000_000)
(50000, 100000, 500000, 2000000)
>>> grade_for_factors(["password", "fingerprint"], static=False)
'B'
>>> grade_for_factors(["password", "certificate"], static=True)
'D'
>>> allows(used=60_000, amount=40_000, limit=100_000), allows(60_000, 40_001, 100_000)
(True, False)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Final

from zhifu.core.clock import SHANGHAI
from zhifu.core.errors import UsageError

GRADES: Final = ("A", "B", "C", "D")
DAILY_LIMITS: Final[dict[str, int | None]] = {
    "A": None,  # by agreement between the institution and the customer
    "B": 500_000,  # 5,000.00 CNY
    "C": 100_000,  # 1,000.00 CNY
    "D": 50_000,  # 500.00 CNY
}
"""grade -> daily limit in fen (None: the account's agreed limit)."""

CERTIFICATE_FACTORS: Final = frozenset({"certificate"})


def limit_for(grade: str, *, agreed: int | None = None) -> int:
    """The daily limit of ``grade`` in fen; grade A needs the account's ``agreed`` limit."""
    if grade not in DAILY_LIMITS:
        raise UsageError(f"unknown risk grade {grade!r}", argument="grade")
    fixed = DAILY_LIMITS[grade]
    if fixed is not None:
        return fixed
    if agreed is None or agreed < 0:
        raise UsageError("grade A needs the agreed limit of the account", argument="agreed")
    return agreed


def grade_for_factors(factors: Iterable[str], *, static: bool) -> str:
    """The grade of a payment verified with ``factors`` (distinct names) on a code."""
    if static:
        return "D"
    distinct = set(factors)
    if len(distinct) >= 2:
        return "A" if distinct & CERTIFICATE_FACTORS else "B"
    return "C"


def allows(used: int, amount: int, limit: int) -> bool:
    """True if ``used + amount`` stays at or under ``limit``."""
    return used + amount <= limit


def business_date(when: datetime) -> date:
    """The Asia/Shanghai calendar date of an instant (the day the limits count in)."""
    if when.tzinfo is None:
        raise UsageError("the instant must be timezone-aware", argument="when")
    return when.astimezone(SHANGHAI).date()

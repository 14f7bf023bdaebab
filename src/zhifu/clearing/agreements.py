"""Agreements (协议) for periodic business: who may send what, up to which amounts.

A periodic credit (定期贷记, one payer to many payees: payroll, pensions) and a periodic debit
(定期借记, many payers to one payee: utility bills, insurance premiums) are accepted only under an
agreement registered at the centre beforehand by the **payer's bank**, which holds its customer's
mandate:

* a periodic-credit agreement names the payer's bank (and account); any payee may be paid;
* a periodic-debit agreement names the payer's bank and account and the one payee's bank (the
  collector) allowed to debit it;
* each has a validity (first and last BEPS date, inclusive), a per-item limit and a limit per
  period (``day`` or ``month`` of the BEPS date), all in fen.

An item names its agreement (``Item.agreement``). The checks, in order: the agreement exists
(``no_agreement``), is of the item's business type and its banks match (``agreement_mismatch``),
is valid on the item's BEPS date (``agreement_expired``), the amount is within the per-item
limit (``agreement_item_limit``) and within what is left of the period's limit
(``agreement_period_limit``). What an item uses of the period comes back when it ends without
moving money (refused, revoked, expired, stopped). Agreements are registered and revoked as
requests (``register_agreement``/``revoke_agreement``; scenario events ``agreement`` and
``agreement_revoke``); a revoked agreement ends on the BEPS date of its revocation.

>>> from datetime import date
>>> book = AgreementBook()
>>> deal = Agreement("AG1", BusinessType.PERIODIC_DEBIT, "102100099996", "103290000002",
...     item_limit=500_00, period="month", period_limit=800_00,
...     valid_from=date(2025, 10, 1), valid_to=date(2026, 9, 30))
>>> book.register(deal) is None
True
>>> item = Item("D1", BusinessType.PERIODIC_DEBIT, "102100099996", "103290000002", 450_00,
...     agreement="AG1")
>>> book.reason(item, date(2025, 10, 9)) is None
True
>>> book.use(item, date(2025, 10, 9))
>>> book.reason(item, date(2025, 10, 20)).value
'agreement_period_limit'
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Final

from zhifu.clearing.codes import BusinessType, Reason
from zhifu.clearing.model import Item
from zhifu.core.errors import UsageError

PERIODIC: Final = frozenset({BusinessType.PERIODIC_CREDIT, BusinessType.PERIODIC_DEBIT})
PERIODS: Final = ("day", "month")


@dataclass(frozen=True, slots=True)
class Agreement:
    """One registered agreement (see the module docstring); amounts in fen."""

    agreement_id: str
    business_type: BusinessType
    payer_bank: str
    payee_bank: str | None  # None: any payee (periodic credits)
    item_limit: int
    period: str
    period_limit: int
    valid_from: date
    valid_to: date
    payer_account: str = ""

    def __post_init__(self) -> None:
        if not self.agreement_id:
            raise UsageError("an agreement has an id", argument="agreement_id")
        if self.business_type not in PERIODIC:
            raise UsageError("agreements are for periodic business", argument="business_type")
        if self.business_type is BusinessType.PERIODIC_DEBIT and not self.payee_bank:
            raise UsageError("a periodic debit names its payee's bank", argument="payee_bank")
        if self.period not in PERIODS:
            raise UsageError(f"one of {', '.join(PERIODS)}", argument="period")
        for name in ("item_limit", "period_limit"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise UsageError("a positive whole number of fen", argument=name)
        if self.valid_to < self.valid_from:
            raise UsageError("ends before it starts", argument="valid_to")

    def period_of(self, day: date) -> str:
        """The period a BEPS date falls in: ``2025-10-09`` (day) or ``2025-10`` (month)."""
        return day.isoformat() if self.period == "day" else day.isoformat()[:7]


class AgreementBook:
    """The centre's registered agreements and what each period has used."""

    def __init__(self) -> None:
        self.agreements: dict[str, Agreement] = {}
        self.used: dict[tuple[str, str], int] = {}
        self._uses: dict[str, tuple[str, str, int]] = {}  # item id -> (agreement, period, fen)

    def register(self, agreement: Agreement) -> Reason | None:
        """Add an agreement; ``duplicate_id`` when its id is taken."""
        if agreement.agreement_id in self.agreements:
            return Reason.DUPLICATE_ID
        self.agreements[agreement.agreement_id] = agreement
        return None

    def revoke(self, agreement_id: str, bank: str, today: date) -> Reason | None:
        """End an agreement on ``today`` (by its payer's bank)."""
        found = self.agreements.get(agreement_id)
        if found is None:
            return Reason.NO_AGREEMENT
        if bank != found.payer_bank:
            return Reason.WRONG_BANK
        last = max(min(found.valid_to, today), found.valid_from)
        self.agreements[agreement_id] = replace(found, valid_to=last)
        return None

    def reason(self, item: Item, day: date) -> Reason | None:
        """Why ``item`` (of a periodic type) is refused on BEPS date ``day``; None: it is not."""
        if item.business_type not in PERIODIC:
            return None
        found = self.agreements.get(item.agreement or "")
        if found is None:
            return Reason.NO_AGREEMENT
        used = self.used.get((found.agreement_id, found.period_of(day)), 0)
        checks = (
            (found.business_type is not item.business_type, Reason.AGREEMENT_MISMATCH),
            (found.payer_bank != item.payer_bank, Reason.AGREEMENT_MISMATCH),
            (found.payee_bank not in (None, item.payee_bank), Reason.AGREEMENT_MISMATCH),
            (not found.valid_from <= day <= found.valid_to, Reason.AGREEMENT_EXPIRED),
            (item.amount > found.item_limit, Reason.AGREEMENT_ITEM_LIMIT),
            (used + item.amount > found.period_limit, Reason.AGREEMENT_PERIOD_LIMIT),
        )
        return next((reason for failed, reason in checks if failed), None)

    def use(self, item: Item, day: date) -> None:
        """Count an admitted item against its agreement's period."""
        found = self.agreements.get(item.agreement or "")
        if found is None or item.business_type not in PERIODIC:
            return
        key = (found.agreement_id, found.period_of(day))
        self.used[key] = self.used.get(key, 0) + item.amount
        self._uses[item.item_id] = (*key, item.amount)

    def release(self, item_id: str) -> None:
        """Give back what an item used (it ended without moving money)."""
        found = self._uses.pop(item_id, None)
        if found is not None:
            agreement, period, amount = found
            self.used[agreement, period] -= amount

"""Card and barcode interbank obligations as BEPS items.

An obligation (from the card acquirer/issuer settlement or the barcode switch) says that one
bank owes another an amount for a business date. Mapping (zhifu's rule; the sources are
silent):

* each obligation becomes **ordinary credits** (普通贷记, beps.121) *sent by the bank that
  owes* (the payer bank) to the bank owed: the debtor pays, no receipt is needed, and they net
  at once in the current round;
* item id ``OB<yyyymmdd><reference>`` (the reference may use ``0-9 A-Z a-z _ . : -``; the id
  fits the 35 characters of ``TxId``); one packet per (payer bank, business date):
  ``OB<yyyymmdd><payer bank>``;
* an amount above the per-item ``limit`` (default: the ordinary-credit limit, 50,000.00) is
  split into items of at most ``limit``, ids suffixed ``-1``, ``-2`` ...; zero amounts give no
  item. Institution names (the barcode switch's) are translated to bank codes by the caller.

>>> from datetime import date
>>> o = Obligation("102100099996", "103100000026", 120_000_00, "R7", date(2026, 11, 25))
>>> [(i.item_id, i.amount, i.packet_id) for i in obligations_to_items([o])]
... # doctest: +NORMALIZE_WHITESPACE
[('OB20261125R7-1', 5000000, 'OB20261125102100099996'),
 ('OB20261125R7-2', 5000000, 'OB20261125102100099996'),
 ('OB20261125R7-3', 2000000, 'OB20261125102100099996')]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

from zhifu.clearing.codes import BUSINESS, BusinessType
from zhifu.clearing.model import Item, check_bank_code
from zhifu.core.errors import UsageError

__all__ = ["Obligation", "by_packet", "net_between_banks", "obligations_to_items"]

_REFERENCE: Final = re.compile(r"[0-9A-Za-z_.:\-]{1,20}")
_OC: Final = BusinessType.ORDINARY_CREDIT


@dataclass(frozen=True, slots=True)
class Obligation:
    """``payer_bank`` owes ``payee_bank`` ``amount`` fen for ``business_date``."""

    payer_bank: str
    payee_bank: str
    amount: int
    reference: str
    business_date: date

    def __post_init__(self) -> None:
        check_bank_code(self.payer_bank, "payer_bank")
        check_bank_code(self.payee_bank, "payee_bank")
        if self.payer_bank == self.payee_bank:
            raise UsageError("a bank owes nothing to itself", argument="payee_bank")
        if not isinstance(self.amount, int) or isinstance(self.amount, bool) or self.amount < 0:
            raise UsageError("an amount is fen >= 0", argument="amount")
        if not _REFERENCE.fullmatch(self.reference):
            raise UsageError("a reference is 1-20 of 0-9 A-Z a-z _ . : -", argument="reference")


def obligations_to_items(
    obligations: Iterable[Obligation], *, limit: int | None = None
) -> list[Item]:
    """Ordinary credits from the owing bank, split at the per-item ``limit`` (fen)."""
    cap = limit if limit is not None else BUSINESS[_OC].limit_minor
    if cap is not None and cap <= 0:
        raise UsageError("a limit is fen > 0", argument="limit")
    items: list[Item] = []
    for o in obligations:
        day = f"{o.business_date:%Y%m%d}"
        base = f"OB{day}{o.reference}"
        packet = f"OB{day}{o.payer_bank}"
        if cap is None or o.amount <= cap:
            parts = [o.amount] if o.amount else []
        else:
            whole, rest = divmod(o.amount, cap)
            parts = [cap] * whole + ([rest] if rest else [])
        for n, part in enumerate(parts, 1):
            item_id = base if len(parts) == 1 else f"{base}-{n}"
            items.append(Item(item_id, _OC, o.payer_bank, o.payee_bank, part, packet_id=packet))
    return items


def net_between_banks(
    movements: Iterable[tuple[str, str, int]],
    banks: Mapping[str, str],
    business_date: date,
    prefix: str = "B",
) -> list[Obligation]:
    """Many movements between institutions (``payer``, ``payee``, fen) as one obligation per
    pair of banks: the net, owed by the bank whose institutions paid more. ``banks`` maps an
    institution (the barcode switch's names) to its 12-digit bank code; movements within one
    bank leave nothing. The reference is ``prefix`` + the payee bank's code.

    >>> from datetime import date
    >>> banks = {"huanyu": "103100000026", "zhifu": "102100099996"}
    >>> [(o.payer_bank, o.payee_bank, o.amount, o.reference) for o in net_between_banks(
    ...     [("huanyu", "zhifu", 500), ("zhifu", "huanyu", 120)], banks, date(2026, 11, 25))]
    [('103100000026', '102100099996', 380, 'B102100099996')]
    """
    net: dict[tuple[str, str], int] = {}
    for payer, payee, amount in movements:
        a, b = banks[payer], banks[payee]
        if a == b:
            continue
        key, signed = ((a, b), amount) if a < b else ((b, a), -amount)
        net[key] = net.get(key, 0) + signed
    found = []
    for (a, b), signed in sorted(net.items()):
        if signed:
            payer, payee = (a, b) if signed > 0 else (b, a)
            found.append(Obligation(payer, payee, abs(signed), f"{prefix}{payee}", business_date))
    return found


def by_packet(items: Iterable[Item]) -> dict[str, list[Item]]:
    """Items grouped by packet, in order (what a front end sends as one message each)."""
    packets: dict[str, list[Item]] = {}
    for item in items:
        packets.setdefault(item.packet, []).append(item)
    return packets

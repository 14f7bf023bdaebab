"""Processing restrictions (EMV 4.3 Book 3 §10.4): versions, usage control, effective and
expiry dates. None of them ends the transaction: each sets a TVR bit for action analysis.

* application version 9F08 (card) differs from 9F09 (terminal) → *different versions*;
* application usage control 9F07 forbids the service here (domestic or international by the
  issuer country 5F28 against the terminal country 9F1A; goods/services or cash by the
  transaction type 9C; ATM or not by the terminal type) → *requested service not allowed*;
* effective date 5F25 after today → *not yet effective*; expiry 5F24 before today → *expired*.

>>> from datetime import date
>>> card = {0x5F24: bytes.fromhex("251231"), 0x5F25: bytes.fromhex("200101")}
>>> [b.name for b in restrictions(card, TerminalConfig(), 0x00, date(2026, 1, 5))]
['EXPIRED_APPLICATION']
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from zhifu.terminal.kernel.bits import TvrBit
from zhifu.terminal.kernel.config import TerminalConfig

__all__ = ["restrictions"]

CASH, CASHBACK = 0x01, 0x09


def _ymd(value: bytes | None) -> date | None:
    if value is None or len(value) != 3:
        return None
    text = value.hex()
    try:
        yy = int(text[:2])  # EMV: 50-99 are 19YY, 00-49 are 20YY
        return date(1900 + yy if yy >= 50 else 2000 + yy, int(text[2:4]), int(text[4:6]))
    except ValueError:
        return None


def _usage_allowed(auc: bytes, domestic: bool, transaction_type: int, atm: bool) -> bool:
    first = auc[0]
    if (atm and not first & 0x02) or (not atm and not first & 0x01):
        return False
    if transaction_type == CASH:
        return bool(first & (0x80 if domestic else 0x40))
    allowed = first & (0x28 if domestic else 0x14)  # goods or services
    if transaction_type == CASHBACK and len(auc) > 1:
        allowed = allowed and auc[1] & (0x80 if domestic else 0x40)
    return bool(allowed)


def restrictions(
    card: Mapping[int, bytes], terminal: TerminalConfig, transaction_type: int, today: date
) -> list[TvrBit]:
    """The TVR bits processing restrictions set (in table order)."""
    found: list[TvrBit] = []
    version = card.get(0x9F08)
    if version is not None and version != terminal.app_version:
        found.append(TvrBit.DIFFERENT_VERSIONS)
    auc = card.get(0x9F07)
    country = card.get(0x5F28)
    if auc is not None and country is not None:
        domestic = country == terminal.country
        atm = terminal.terminal_type in (0x14, 0x15, 0x16) and transaction_type == CASH
        if not _usage_allowed(auc, domestic, transaction_type, atm):
            found.append(TvrBit.SERVICE_NOT_ALLOWED)
    expiry, effective = _ymd(card.get(0x5F24)), _ymd(card.get(0x5F25))
    if expiry is not None and expiry < today:
        found.append(TvrBit.EXPIRED_APPLICATION)
    if effective is not None and effective > today:
        found.append(TvrBit.NOT_YET_EFFECTIVE)
    return sorted(found, key=lambda b: (b.value[0], -b.value[1]))

"""Terminal risk management (EMV 4.3 Book 3 §10.6): floor limit, random selection, velocity.

* amount ≥ floor limit (9F1B) → *exceeds floor limit* (a transaction log would add the
  card's earlier amounts; this terminal keeps none across transactions);
* random selection, below the floor limit only: under the threshold the transaction goes online
  with the target percentage; from the threshold to the floor limit the percentage grows
  linearly to the maximum; a random number 1–99 at most the percentage selects it;
* velocity, when the card has LCOL 9F14 and UCOL 9F23: the ATC 9F36 and the last online ATC
  9F13 (GET DATA): ATC − last online > LCOL / UCOL → the two bits; last online ATC 0 →
  *new card*; either missing → both limits and *ICC data missing*.

>>> t = TerminalConfig(floor_limit=500_00)
>>> [b.name for b in risk(600_00, t, {}, None, draw=lambda: 50)]
['EXCEEDS_FLOOR_LIMIT']
>>> card = {0x9F14: b"\\x02", 0x9F23: b"\\x05"}
>>> [b.name for b in risk(1_00, t, card, (bytes.fromhex("0009"), bytes.fromhex("0005")),
...     draw=lambda: 50)]
['LCOL_EXCEEDED']
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping

from zhifu.terminal.kernel.bits import TvrBit
from zhifu.terminal.kernel.config import TerminalConfig

__all__ = ["random_selected", "risk"]


def random_selected(amount: int, term: TerminalConfig, draw: Callable[[], int]) -> bool:
    """EMV random transaction selection (only below the floor limit)."""
    if term.floor_limit <= 0 or amount >= term.floor_limit or term.random_target_percent <= 0:
        return False
    if amount < term.random_threshold:
        percent = term.random_target_percent
    else:
        span = term.floor_limit - term.random_threshold
        extra = term.random_max_percent - term.random_target_percent
        percent = term.random_target_percent + extra * (amount - term.random_threshold) // span
    return draw() <= percent


def risk(
    amount: int,
    term: TerminalConfig,
    card: Mapping[int, bytes],
    counters: tuple[bytes | None, bytes | None] | None,
    *,
    draw: Callable[[], int] | None = None,
) -> list[TvrBit]:
    """The TVR bits of terminal risk management; ``counters`` = (ATC, last online ATC) as read
    by GET DATA (None when the card has no velocity limits)."""
    found: list[TvrBit] = []
    if amount >= term.floor_limit:
        found.append(TvrBit.EXCEEDS_FLOOR_LIMIT)
    if random_selected(amount, term, draw or (lambda: 1 + secrets.randbelow(99))):
        found.append(TvrBit.RANDOMLY_SELECTED)
    lcol, ucol = card.get(0x9F14), card.get(0x9F23)
    if lcol is None or ucol is None:
        return found
    atc, last_online = counters or (None, None)
    if atc is None or last_online is None:
        return [*found, TvrBit.ICC_DATA_MISSING, TvrBit.LCOL_EXCEEDED, TvrBit.UCOL_EXCEEDED]
    offline = int.from_bytes(atc, "big") - int.from_bytes(last_online, "big")
    if offline > int.from_bytes(lcol, "big"):
        found.append(TvrBit.LCOL_EXCEEDED)
    if offline > int.from_bytes(ucol, "big"):
        found.append(TvrBit.UCOL_EXCEEDED)
    if int.from_bytes(last_online, "big") == 0:
        found.append(TvrBit.NEW_CARD)
    return found

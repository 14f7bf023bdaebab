"""What a card transaction came to: :class:`TransactionResult` (the command line's JSON).

>>> result = TransactionResult("purchase", "00", True, "000007", "000001", amount=1234)
>>> result.as_json()["amount"], yuan(-5)
('12.34', '-0.05')
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["TransactionResult", "yuan"]


@dataclasses.dataclass
class TransactionResult:
    """One transaction's outcome; ``amount`` and ``balance`` in fen.

    ``answered`` is True when the host answered (approved or not); ``reversed`` when the
    terminal reversed it and the host took the reversal; ``reversal_pending`` when a reversal
    waits to be sent (before the next transaction, or by ``zhifu terminal reverse``).
    """

    kind: str
    response_code: str = ""
    approved: bool = False
    stan: str = ""
    batch: str = ""
    rrn: str = ""
    auth_code: str = ""
    amount: int = 0
    masked_pan: str = ""
    reversed: bool = False
    reversal_pending: bool = False
    answered: bool = False
    balance: int | None = None
    message: str = ""
    entry: str = ""  # how the card was read: chip, tap, swipe, fallback
    pin_entered: bool = False
    at: str = ""  # when the terminal sent it, ISO 8601 (Asia/Shanghai)

    def as_json(self) -> dict[str, Any]:
        """The keys other programs read; amounts as yuan text."""
        data = dataclasses.asdict(self)
        data["amount"] = yuan(self.amount)
        data["balance"] = None if self.balance is None else yuan(self.balance)
        return data


def yuan(fen: int) -> str:
    """``1234`` -> ``"12.34"``."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"

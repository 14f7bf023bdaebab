"""Request messages of the terminal, field by field (docs/standards/iso8583-cup.md §4.1).

>>> SERVICES["purchase"]
Service(mti='0200', processing_code='000000', condition='00', txn_type='22', chip_type=0)
>>> SERVICES["preauth"].mti, SERVICES["refund"].mti
('0100', '0220')
"""

from __future__ import annotations

import dataclasses
from typing import Final

__all__ = ["SERVICES", "Service", "field_60"]


@dataclasses.dataclass(frozen=True)
class Service:
    """MTI, field 3, field 25, 60.1 of a transaction, and its 9C for the card (None: no chip)."""

    mti: str
    processing_code: str
    condition: str
    txn_type: str
    chip_type: int | None


SERVICES: Final[dict[str, Service]] = {
    "balance": Service("0200", "310000", "00", "01", 0x31),
    "purchase": Service("0200", "000000", "00", "22", 0x00),
    "void": Service("0200", "200000", "00", "23", None),
    "refund": Service("0220", "200000", "00", "25", None),
    "preauth": Service("0100", "030000", "06", "10", 0x03),
    "preauth-void": Service("0100", "200000", "06", "11", None),
    "complete": Service("0200", "000000", "06", "20", None),
    "complete-void": Service("0200", "200000", "06", "21", None),
    "ecash-load": Service("0200", "600000", "91", "45", 0x60),
}
"""Command name -> service."""


def field_60(txn_type: str, batch: str, network_code: str = "000") -> str:
    """60.1 ‖ 60.2 (batch) ‖ 60.3."""
    return f"{txn_type}{batch}{network_code}"

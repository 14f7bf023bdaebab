"""Which financial request is which: MTI, field 3's first two digits and 60.1 (the service
key of docs/standards/iso8583-cup.md §4.1), as a table.

>>> KIND_OF[("0200", "00", "22")].value
'purchase'
>>> [key for key, kind in KIND_OF.items() if kind.value == "preauth"]
[('0100', '03', '10')]
"""

from __future__ import annotations

from typing import Final

from zhifu.issuer.link import Kind

__all__ = ["KIND_OF", "MERCHANT_CREDITS", "MERCHANT_DEBITS"]

KIND_OF: Final[dict[tuple[str, str, str], Kind]] = {
    ("0200", "31", "01"): Kind.BALANCE,
    ("0200", "00", "22"): Kind.PURCHASE,
    ("0200", "20", "23"): Kind.PURCHASE_VOID,
    ("0220", "20", "25"): Kind.REFUND,
    ("0100", "03", "10"): Kind.PREAUTH,
    ("0100", "20", "11"): Kind.PREAUTH_VOID,
    ("0200", "00", "20"): Kind.COMPLETION,
    ("0200", "20", "21"): Kind.COMPLETION_VOID,
    ("0200", "60", "45"): Kind.ECASH_LOAD,
    ("0200", "17", "51"): Kind.ECASH_LOAD_VOID,
    ("0200", "00", "36"): Kind.OFFLINE_SALE,
}
"""(MTI, field 3[0:2], 60.1) -> what the request asks."""

MERCHANT_CREDITS: Final = frozenset({Kind.PURCHASE, Kind.COMPLETION, Kind.OFFLINE_SALE})
"""Kinds whose approval credits the merchant (debits of the settlement totals)."""
MERCHANT_DEBITS: Final = frozenset({Kind.PURCHASE_VOID, Kind.COMPLETION_VOID, Kind.REFUND})
"""Kinds whose approval debits the merchant (credits of the settlement totals)."""

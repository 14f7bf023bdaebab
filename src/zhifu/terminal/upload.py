"""The batch upload after settlement (0320, docs/standards/iso8583-cup.md §4.3).

Balanced (0510 result ``1``): the IC TC upload — one 0320 per chip or contactless transaction
of the batch with 60.3 ``203`` and its field 55 (the TC of the second GENERATE AC, or the
cryptogram the host saw), then the end ``202`` with the count. Unbalanced: every transaction —
IC ones one by one with 60.3 ``205``, magnetic-stripe ones packed in field 48 with 60.3 ``201``
(:mod:`zhifu.iso8583.batch_records`) — then the end ``207``. Each record names its original by
the STAN (11) and the batch (60.2) and carries the PAN (2 or in 48), the amount (4), the entry
mode (22) and the PSN (23). The host compares each with what it holds and answers ``00``,
``25`` (it has no such transaction) or ``64`` (another amount).

>>> entry = {"kind": "purchase", "stan": "000007", "amount": 500, "mode": "051", "psn": "001",
...          "txn_type": "22", "icc": "9F2701409F26080102030405060708"}
>>> ic_record({"41": "10000001"}, entry, "6228000100001117", "203").fields["60"][-3:]
'203'
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

from zhifu.iso8583 import Message
from zhifu.iso8583.batch_records import MAX_RECORDS, UploadRecord, build_records

__all__ = ["IC_MODES", "ic_record", "stripe_records"]

IC_MODES: Final = ("05", "07", "95", "98")
"""Entry modes (22, first two digits) of chip and contactless reads."""


def _base(base: Mapping[str, str], network: str) -> dict[str, str]:
    batch = (base.get("60") or "00000000")[2:8]
    return {**base, "60": f"00{batch}{network}"}


def ic_record(base: Mapping[str, str], entry: Mapping[str, Any], pan: str, network: str) -> Message:
    """One IC transaction's upload (60.3 ``203`` or ``205``)."""
    fields = _base(base, network)
    fields.update({"2": pan, "4": f"{int(entry['amount']):012d}", "11": entry["stan"],
                   "22": entry.get("mode") or "051"})  # fmt: skip
    if entry.get("psn"):
        fields["23"] = entry["psn"]
    if entry.get("icc"):
        fields["55"] = entry["icc"]
    return Message("0320", fields)


def stripe_records(
    base: Mapping[str, str], entries: Sequence[tuple[Mapping[str, Any], str]]
) -> Iterator[Message]:
    """The magnetic-stripe transactions (entry, PAN), up to seven per 0320 (60.3 ``201``)."""
    for start in range(0, len(entries), MAX_RECORDS):
        chunk = entries[start : start + MAX_RECORDS]
        records = [
            UploadRecord(str(e.get("txn_type") or "22"), e["stan"], int(e["amount"]), pan)
            for e, pan in chunk
        ]
        yield Message("0320", {**_base(base, "201"), "48": build_records(records)})

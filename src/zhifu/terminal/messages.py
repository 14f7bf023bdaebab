"""Request messages of the terminal, field by field (docs/standards/iso8583-cup.md §4).

Pure functions: the terminal's state, card and keys come in as values, a
:class:`~zhifu.iso8583.Message` comes out. The service table is §4.1's matrix (MTI, field 3,
field 25, 60.1); which fields refer to the original (37, 38, 61) is in :data:`ORIGINAL_REFS`.

>>> SERVICES["purchase"]
Service(mti='0200', processing_code='000000', condition='00', txn_type='22', chip_type=0)
>>> SERVICES["preauth"].mti, SERVICES["refund"].mti
('0100', '0220')
>>> SERVICES["refund"].reversible, SERVICES["void"].reversible, SERVICES["balance"].reversible
(False, True, False)
>>> [name for name, service in SERVICES.items() if service.refers]
['void', 'refund', 'preauth-void', 'complete', 'complete-void']
>>> security_control(pin=True, algorithm="3des", track_enciphered=False)
'2600000000000000'
>>> security_control(pin=False, algorithm="sm4", track_enciphered=True)
'0310000000000000'
>>> field_60("22", "000001", "000", reading="5")
'2200000100050'
>>> request = Message("0200", {"2": "6228000100001117", "3": "000000", "4": "000000000100",
...     "11": "000007", "14": "3012", "22": "051", "23": "001", "25": "00", "26": "12",
...     "35": "6228000100001117D30122010123456789", "41": "10000001", "42": "898100012345678",
...     "49": "156", "52": "00" * 8, "53": "2600000000000000", "60": "220000010005",
...     "55": "9F2608000000000000000095050000000000"})
>>> reversal = reversal_of(request, "98")
>>> reversal.mti, reversal.numbers
('0400', [2, 3, 4, 11, 14, 22, 23, 25, 39, 41, 42, 49, 55, 60])
>>> reversal["39"], reversal["55"]
('98', '95050000000000')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Final

from zhifu.codec.tlv import Tlv
from zhifu.iso8583 import Message
from zhifu.iso8583.fields_48 import Settlement, Totals, build_batch_end_count, build_settlement
from zhifu.iso8583.fields_55 import REVERSAL_TAGS, SCRIPT_ADVICE_TAGS, build_icc_data
from zhifu.iso8583.fields_55 import parse_icc_data as parse_55
from zhifu.iso8583.fields_pos import SecurityControl, build_security_control

__all__ = [
    "CURRENCY",
    "ORIGINAL_REFS",
    "PIN_CAPTURE",
    "REVERSAL_FIELDS",
    "SERVICES",
    "Service",
    "batch_end",
    "field_60",
    "reversal_of",
    "script_advice",
    "security_control",
    "settlement_request",
]

CURRENCY: Final = "156"
PIN_CAPTURE: Final = "12"
"""Field 26: the longest PIN the terminal's PIN pad takes."""


@dataclasses.dataclass(frozen=True)
class Service:
    """MTI, field 3, field 25, 60.1 of a transaction, and its 9C for the card (None: no chip)."""

    mti: str
    processing_code: str
    condition: str
    txn_type: str
    chip_type: int | None

    @property
    def reversible(self) -> bool:
        """A 0400 may undo it: the 0100/0200 requests but a balance inquiry (§4.1)."""
        return self.mti in ("0100", "0200") and self.txn_type != "01"

    @property
    def refers(self) -> bool:
        """It names an original transaction of the batch (fields 37, 38, 61)."""
        return self.txn_type in ("11", "20", "21", "23", "25")


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
"""Command name -> service (the §4.1 matrix; 9C is field 3's first two digits)."""

ORIGINAL_REFS: Final[dict[str, tuple[str, ...]]] = {
    "void": ("37", "38", "61"),
    "refund": ("37", "61+date"),
    "preauth-void": ("38", "61"),
    "complete": ("38", "61+date"),
    "complete-void": ("37", "38", "61"),
}
"""Which fields name the original, per §4.1 ("61+date": 61 with the original's MMDD)."""

REVERSAL_FIELDS: Final = (
    "2", "3", "4", "11", "14", "22", "23", "25", "38", "41", "42", "49", "55", "60", "61",
)  # fmt: skip
"""What a 0400 copies from its original (§4.4; 39 is the reason, 64 the MAC, 55 reduced)."""
CARD_FIELDS: Final = ("2", "14")
"""Fields of a pending reversal the state keeps sealed (the PAN and the expiry)."""

_ALGORITHM_DIGIT: Final = {"des": "0", "3des": "6", "sm4": "3"}


def security_control(*, pin: bool, algorithm: str, track_enciphered: bool) -> str:
    """Field 53 (§6.5): PIN format 2 (with the PAN) or 0, the PIK's algorithm, track flag."""
    return build_security_control(
        SecurityControl(
            "2" if pin else "0", _ALGORITHM_DIGIT[algorithm], "1" if track_enciphered else "0"
        )
    )


def field_60(
    txn_type: str, batch: str, network_code: str = "000", *, reading: str = "", ic: str = "0"
) -> str:
    """60.1 ‖ 60.2 (batch) ‖ 60.3, then 60.4 (reading capability) and 60.5 (IC condition:
    ``0`` normal, ``2`` a fallback from a failed chip) when a reading capability is given."""
    return f"{txn_type}{batch}{network_code}" + (f"{reading}{ic}" if reading else "")


def reversal_of(request: Message, reason: str, auth_code: str = "") -> Message:
    """The 0400 of a financial request: its fields per §4.4, 39 = ``reason`` (98, 96, A0, 06),
    38 the approval's code when there was one, field 55 reduced to 95 9F1E 9F10 9F36 DF31."""
    fields = {n: v for n in REVERSAL_FIELDS if (v := request.get(n)) is not None}
    fields["39"] = reason
    if auth_code:
        fields["38"] = auth_code
    if "55" in fields:
        found = {item.tag_hex: item for item in parse_55(fields["55"])}
        kept = [found[tag] for tag in REVERSAL_TAGS if tag in found]
        fields["55"] = build_icc_data(kept)
        if not kept:
            del fields["55"]
    return Message("0400", fields)


def script_advice(
    base: Mapping[str, str],
    original: Message,
    icc: Mapping[int, bytes],
    results: list[bytes],
    *,
    original_date: str,
    rrn: str,
) -> Message:
    """The 0620 (60.1 ``00``, 60.3 ``951``) after issuer scripts: the original's card and
    amount fields, 37 its RRN, 61 its batch, STAN and date, field 55 with DF31 per script."""
    fields = dict(base)
    for number in ("2", "3", "4", "14", "22", "23", "25", "49"):
        if (value := original.get(number)) is not None:
            fields[number] = value
    if rrn:
        fields["37"] = rrn
    fields["61"] = original["60"][2:8] + original["11"] + original_date
    items = [Tlv(tag, icc[tag]) for tag in _tags(SCRIPT_ADVICE_TAGS) if tag in icc]
    items += [Tlv(0xDF31, result) for result in results]
    fields["55"] = build_icc_data(items)
    return Message("0620", fields)


def _tags(names: tuple[str, ...]) -> list[int]:
    return [int(name, 16) for name in names if name != "DF31"]


def settlement_request(base: Mapping[str, str], domestic: Totals, operator: str = "001") -> Message:
    """0500 (60.3 ``201``): 48 the batch's totals (domestic cards; foreign ones are zero)."""
    return Message(
        "0500",
        {
            **base,
            "48": build_settlement(Settlement(domestic, Totals())),
            "49": CURRENCY,
            "63": operator,
        },
    )


def batch_end(base: Mapping[str, str], records: int) -> Message:
    """0320 batch-upload end (60.3 ``207`` unbalanced / ``202`` balanced): 48 the count."""
    return Message("0320", {**base, "48": build_batch_end_count(records)})

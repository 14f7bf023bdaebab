"""BEPS-style small-value clearing (小额批量支付系统): centres, rounds, netting, caps, settlement.

Same-city business nets at the city's CCPC, cross-city business at the NPC; positions are
bilateral per pair of clearing banks and round; at each round close they are summed per
participant and submitted to SAPS, which settles them in the participants' central-bank
accounts (ledger) on the first working day on or after the BEPS date. See ``docs/clearing.md``.

>>> from zhifu.clearing import BusinessType, Status
>>> BusinessType.ORDINARY_CREDIT.value, Status.NETTED.value
('ordinary_credit', 'PR03')
"""

from zhifu.clearing.calendar.days import (
    BusinessCalendar,
    CalendarData,
    CalendarYearError,
    ChineseCalendar,
    beps_date,
)
from zhifu.clearing.codes import BUSINESS, STATUS, BusinessType, Reason, Status
from zhifu.clearing.config import ClearingConfig
from zhifu.clearing.engine import ClearingSystem
from zhifu.clearing.model import (
    Item,
    ItemResult,
    NodeKind,
    Packet,
    Participant,
    Receipt,
    RequestResult,
)
from zhifu.clearing.rounds import RoundSchedule
from zhifu.clearing.settlement import LedgerBooks, MemoryBooks, SettlementBooks

__all__ = [
    "BUSINESS",
    "STATUS",
    "BusinessCalendar",
    "BusinessType",
    "CalendarData",
    "CalendarYearError",
    "ChineseCalendar",
    "ClearingConfig",
    "ClearingSystem",
    "Item",
    "ItemResult",
    "LedgerBooks",
    "MemoryBooks",
    "NodeKind",
    "Packet",
    "Participant",
    "Reason",
    "Receipt",
    "RequestResult",
    "RoundSchedule",
    "SettlementBooks",
    "Status",
    "beps_date",
]

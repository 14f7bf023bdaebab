"""The clearing model: participants, centres and nodes, items, packets, receipts, outcomes.

A *direct* participant holds a settlement account at the central bank and a net debit cap per
node kind (NPC for cross-city business, CCPC for same-city business); an *indirect* one settles
through a direct participant, its *clearing bank*. An item is netted at a *node*: the CCPC of
the clearing banks' city when both clearing banks are in one city, else the NPC. The tables of
business types and statuses live in :mod:`zhifu.clearing.codes` and are re-exported here.

>>> a = Participant("102100099996", "1000", caps={NodeKind.NPC: 100_00})
>>> b = Participant("313100000013", "1000", direct=False, via="102100099996")
>>> node_for("1000", "1000"), node_for("1000", "2900")
('CCPC-1000', 'NPC')
>>> b.clearing_bank, a.cap(NodeKind.CCPC)
('102100099996', 0)
>>> Item("C1", BusinessType.ORDINARY_CREDIT, a.code, "103100000026", 5_00).sender
'102100099996'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Final

from zhifu.clearing.codes import (
    BUSINESS,
    RECEIPT_CODES,
    RECEIPT_SUCCESS,
    STATUS,
    BusinessSpec,
    BusinessType,
    Direction,
    Reason,
    Status,
)
from zhifu.core.errors import UsageError

__all__ = [
    "BUSINESS",
    "STATUS",
    "BusinessType",
    "Centre",
    "Item",
    "ItemResult",
    "NodeKind",
    "Packet",
    "Participant",
    "Reason",
    "Receipt",
    "Status",
    "centres_for",
    "node_for",
    "node_kind",
]

BANK_CODE: Final = re.compile(r"\d{12}")
NPC: Final = "NPC"


class NodeKind(StrEnum):
    """The two netting tiers (CNAPS1 ``ZCNODE_NPC`` = 1, ``ZCNODE_CCPC`` = 2)."""

    NPC = "NPC"
    CCPC = "CCPC"


def check_bank_code(code: str, argument: str = "code") -> str:
    """Return ``code`` if it is a 12-digit CNAPS bank code, else raise ``UsageError``."""
    if not isinstance(code, str) or not BANK_CODE.fullmatch(code):
        raise UsageError("a bank code has 12 digits", argument=argument)
    return code


def node_for(payer_city: str, payee_city: str) -> str:
    """The node netting business between clearing banks in these cities."""
    return f"CCPC-{payer_city}" if payer_city == payee_city else NPC


def node_kind(node: str) -> NodeKind:
    """NPC or CCPC, from a node name."""
    return NodeKind.NPC if node == NPC else NodeKind.CCPC


@dataclass(frozen=True, slots=True)
class Participant:
    """A bank on BEPS: 12-digit code, city, direct or indirect, caps per node kind (fen)."""

    code: str
    city: str
    direct: bool = True
    via: str | None = None  # the direct participant an indirect one settles through
    caps: Mapping[NodeKind, int] = field(default_factory=dict)
    name: str = ""

    def __post_init__(self) -> None:
        check_bank_code(self.code)
        if not self.city:
            raise UsageError("a participant has a city", argument="city")
        if self.direct and self.via is not None:
            raise UsageError("a direct participant settles for itself", argument="via")
        if not self.direct:
            if self.via is None:
                raise UsageError("an indirect participant names its direct one", argument="via")
            check_bank_code(self.via, "via")
            if self.caps:
                raise UsageError("caps belong to direct participants", argument="caps")
        for kind, cap in self.caps.items():
            if NodeKind(kind) is not kind or not isinstance(cap, int) or cap < 0:
                raise UsageError("caps map NPC/CCPC to fen >= 0", argument="caps")

    @property
    def clearing_bank(self) -> str:
        """The direct participant whose position and account this bank's business uses."""
        return self.code if self.direct else str(self.via)

    def cap(self, kind: NodeKind) -> int:
        """The net debit cap at a node kind (0 when none was allocated)."""
        return self.caps.get(kind, 0)


@dataclass(frozen=True, slots=True)
class Centre:
    """A processing centre: the NPC, or the CCPC of one city."""

    node: str
    kind: NodeKind
    city: str | None


def centres_for(participants: Iterable[Participant]) -> list[Centre]:
    """The NPC and one CCPC per city of the direct participants."""
    cities = sorted({p.city for p in participants if p.direct})
    return [Centre(NPC, NodeKind.NPC, None)] + [
        Centre(node_for(c, c), NodeKind.CCPC, c) for c in cities
    ]


@dataclass(frozen=True, slots=True)
class Item:
    """One payment instruction (a ``*TxInf`` of a packet). ``amount`` is in fen."""

    item_id: str
    business_type: BusinessType
    payer_bank: str
    payee_bank: str
    amount: int
    packet_id: str | None = None  # None: a packet of its own
    receipt_days: int | None = None  # debits: working days to answer (RtrLtd)
    return_of: str | None = None  # credit returns: the item returned
    agreement: str | None = None  # periodic business: the agreement (协议) it is sent under
    category: str | None = None  # CtgyPurp code (zhifu.clearing.kinds); None: the type's own

    def __post_init__(self) -> None:
        if not self.item_id:
            raise UsageError("an item has an id", argument="item_id")
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise UsageError("an amount is an integer number of fen", argument="amount")
        BusinessType(self.business_type)

    @property
    def spec(self) -> BusinessSpec:
        return BUSINESS[self.business_type]

    @property
    def sender(self) -> str:
        """The bank that sends the instruction: the payer's for credits, the payee's for debits."""
        return self.payer_bank if self.spec.direction is Direction.CREDIT else self.payee_bank

    @property
    def receiver(self) -> str:
        """The bank the instruction is addressed to (and that sends any receipt)."""
        return self.payee_bank if self.spec.direction is Direction.CREDIT else self.payer_bank

    @property
    def packet(self) -> str:
        return self.packet_id or self.item_id


@dataclass(frozen=True, slots=True)
class Packet:
    """A packet (组包): items of one sending bank and one business type, with control totals."""

    packet_id: str
    sender: str
    business_type: BusinessType
    items: Sequence[Item]
    count: int | None = None  # the group header's NbOfTxs, if it came with one
    control_sum: int | None = None  # CtrlSum, in fen

    def check(self) -> None:
        """Raise ``UsageError`` unless the items agree with the header."""
        if not self.items:
            raise UsageError("a packet holds at least one item", argument="items")
        for item in self.items:
            if item.sender != self.sender or item.business_type != self.business_type:
                raise UsageError("items of another bank or type", argument="items")
            if item.packet != self.packet_id:
                raise UsageError("an item names another packet", argument="items")
        if self.count is not None and self.count != len(self.items):
            raise UsageError("NbOfTxs differs from the item count", argument="count")
        if self.control_sum is not None and self.control_sum != sum(i.amount for i in self.items):
            raise UsageError("CtrlSum differs from the sum of amounts", argument="control_sum")


@dataclass(frozen=True, slots=True)
class Receipt:
    """The receiving bank's answer to an item: ``code`` "00" is success (CNAPS1 rcpstat)."""

    item_id: str
    bank: str
    code: str = RECEIPT_SUCCESS

    def __post_init__(self) -> None:
        if self.code not in RECEIPT_CODES:
            raise UsageError(f"unknown receipt code {self.code!r}", argument="code")

    @property
    def success(self) -> bool:
        return self.code == RECEIPT_SUCCESS


@dataclass(frozen=True, slots=True)
class ItemResult:
    """What became of an item (or a receipt, revocation or return): status and reason."""

    item_id: str
    status: Status
    reason: Reason | None = None
    netting_date: date | None = None
    netting_round: int | None = None
    node: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status not in (Status.REJECTED, Status.EXPIRED, Status.REVOKED)

    @property
    def final(self) -> bool:
        return STATUS[self.status].final


@dataclass(frozen=True, slots=True)
class RequestResult:
    """The answer to a receipt, a revocation or a return request."""

    accepted: bool
    reason: Reason | None = None
    items: tuple[ItemResult, ...] = ()


@dataclass(slots=True)
class ItemRecord:
    """The engine's state of one item (mutable)."""

    item: Item
    submitted_at: datetime
    payer_cb: str
    payee_cb: str
    node: str
    status: Status
    reason: Reason | None = None
    netted_round: tuple[date, int] | None = None
    expires_on: date | None = None  # the BEPS date from which an unanswered item expires
    returned_by: str | None = None
    stop_requested: bool = False  # a stop-payment (止付) asked by the sender, not yet answered

    def result(self) -> ItemResult:
        day, number = self.netted_round or (None, None)
        return ItemResult(self.item.item_id, self.status, self.reason, day, number, self.node)


@dataclass(slots=True)
class PacketRecord:
    """A packet as the centre knows it: sender, business type, item ids."""

    packet_id: str
    sender: str
    business_type: BusinessType
    item_ids: list[str] = field(default_factory=list)

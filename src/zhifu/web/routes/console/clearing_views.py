"""What the BEPS clearing page and its CSV downloads show, read from a running
:class:`~zhifu.clearing.engine.ClearingSystem` (plain data: no HTML, no HTTP).

Amounts stay integer fen here; the page shows them as yuan and the CSV files carry both (fen as
an integer, yuan as text). The caller holds the centre's lock while it reads.

>>> from datetime import datetime
>>> from zhifu.clearing import BusinessType, ClearingSystem, Item, MemoryBooks, Participant
>>> from zhifu.clearing.model import NodeKind
>>> from zhifu.core.clock import SHANGHAI
>>> a = Participant("102100099996", "1000", caps={NodeKind.NPC: 500_00})
>>> b = Participant("103290000002", "2900", caps={NodeKind.NPC: 500_00})
>>> system = ClearingSystem([a, b], start=datetime(2025, 10, 9, 10, tzinfo=SHANGHAI),
...                         books=MemoryBooks())
>>> _ = system.submit_item(Item("C1", BusinessType.ORDINARY_CREDIT, a.code, b.code, 300_00))
>>> _ = system.submit_item(Item("C2", BusinessType.ORDINARY_CREDIT, a.code, b.code, 300_00))
>>> [(m.node, m.banks, m.nets) for m in matrices(system, system.book.current)]
[('NPC', ['102100099996', '103290000002'], [-30000, 30000])]
>>> [(q.bank, q.node, q.count, q.amount) for q in queue_summary(system)]
[('102100099996', 'NPC', 1, 30000)]
>>> [row["headroom_fen"] for row in caps_rows(system)]
[20000, 0, 80000, 0]
>>> round_label(parse_round("2025-10-09R2") or (None, 0))
'2025-10-09R2'
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from zhifu.clearing.config import format_yuan
from zhifu.clearing.engine import ClearingSystem
from zhifu.clearing.model import node_for
from zhifu.clearing.reports import Reconciliation, reconcile
from zhifu.clearing.rounds import RoundKey, RoundState

Row = dict[str, Any]
ROUND_TEXT: Final = re.compile(r"(\d{4}-\d{2}-\d{2})R(\d{1,2})")
ROUNDS_SHOWN: Final = 12  # closed rounds the page and the settlements file list at most


def round_label(key: tuple[Any, int]) -> str:
    """A round as text: ``2025-10-09R2``."""
    day, number = key
    return f"{day.isoformat()}R{number}"


def parse_round(text: str) -> RoundKey | None:
    """The round ``YYYY-MM-DDRn`` names (None: not that shape, or no such date)."""
    found = ROUND_TEXT.fullmatch(text.strip())
    if found is None:
        return None
    try:
        return date.fromisoformat(found.group(1)), int(found.group(2))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class NodeMatrix:
    """A node's bilateral positions in one round: ``cells[i][j]`` is what bank ``j`` owes bank
    ``i`` (negative: ``i`` owes ``j``); ``nets[i]`` bank ``i``'s net (they sum to zero)."""

    node: str
    banks: list[str]
    cells: list[list[int]]
    nets: list[int]


def matrices(system: ClearingSystem, key: RoundKey) -> list[NodeMatrix]:
    """The bilateral matrix of each node that netted something in round ``key``."""
    by_node: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    for (node, a, b), net in system.book.bilateral.get(key, {}).items():
        by_node[node][a, b] = net
    out = []
    for node in sorted(by_node, key=lambda n: (n != "NPC", n)):
        pairs = by_node[node]
        banks = sorted({bank for pair in pairs for bank in pair})
        cells = [[_owed(pairs, a, b) for b in banks] for a in banks]
        out.append(NodeMatrix(node, banks, cells, [sum(row) for row in cells]))
    return out


def _owed(pairs: dict[tuple[str, str], int], a: str, b: str) -> int:
    """What ``b`` owes ``a`` (positions are kept with the lower code first)."""
    return pairs.get((a, b), 0) if a < b else -pairs.get((b, a), 0)


@dataclass(frozen=True, slots=True)
class QueueLine:
    """The queued items of one payer clearing bank at a node, of one business type."""

    bank: str
    node: str
    business_type: str
    count: int
    amount: int


def queue_rows(system: ClearingSystem) -> list[Row]:
    """Every queued item, in queue order per (payer clearing bank, node)."""
    rows = []
    for (bank, node), queue in sorted(system.book.queues.items()):
        for place, entry in enumerate(queue, 1):
            item = system.records[entry.item_id].item
            rows.append(
                {
                    "clearing_bank": bank,
                    "node": node,
                    "place": place,
                    "item_id": item.item_id,
                    "business_type": item.business_type.value,
                    "payer_bank": item.payer_bank,
                    "payee_bank": item.payee_bank,
                    "amount_fen": entry.amount,
                    "amount_yuan": format_yuan(entry.amount),
                }
            )
    return rows


def queue_summary(system: ClearingSystem) -> list[QueueLine]:
    """Queued items counted and summed per payer clearing bank, node and business type."""
    totals: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in queue_rows(system):
        found = totals[row["clearing_bank"], row["node"], row["business_type"]]
        found[0] += 1
        found[1] += row["amount_fen"]
    return [QueueLine(*key, count, amount) for key, (count, amount) in sorted(totals.items())]


def caps_rows(system: ClearingSystem) -> list[Row]:
    """Each direct participant at the NPC and at its city's CCPC: cap, what the submitted
    rounds and the open round hold, and the headroom left under the cap."""
    book, rows = system.book, []
    for bank in sorted(p.code for p in system.participants.values() if p.direct):
        city = system.participants[bank].city
        for node in ("NPC", node_for(city, city)):
            cap, headroom = book.cap(bank, node), book.available(bank, node)
            rows.append(
                {
                    "bank": bank,
                    "node": node,
                    "cap_fen": cap,
                    "cap_yuan": format_yuan(cap),
                    "unsettled_fen": book.unsettled.get((bank, node), 0),
                    "open_fen": book.open_net.get((bank, node), 0),
                    "headroom_fen": headroom,
                    "headroom_yuan": format_yuan(headroom),
                }
            )
    return rows


def closed_rounds(system: ClearingSystem, limit: int = ROUNDS_SHOWN) -> list[RoundKey]:
    """The last rounds that closed with something netted, newest first."""
    keys = [k for k, r in system.rounds.items() if r.state is not RoundState.OPEN]
    return sorted(keys, reverse=True)[:limit]


def settlement_rows(system: ClearingSystem, limit: int = ROUNDS_SHOWN) -> list[Row]:
    """Per closed round (newest first) and direct participant: its net (summed over nodes;
    positive: it receives), the round's state and settlement date."""
    rows = []
    for key in closed_rounds(system, limit):
        record = system.rounds[key]
        nets: dict[str, int] = defaultdict(int)
        for (bank, _node), net in record.nets.items():
            nets[bank] += net
        settled = record.settlement_date.isoformat() if record.settlement_date else ""
        for bank, net in sorted(nets.items()):
            rows.append(
                {
                    "round": round_label(key),
                    "beps_date": key[0].isoformat(),
                    "number": key[1],
                    "state": record.state.value,
                    "items": len(record.items),
                    "settlement_date": settled,
                    "bank": bank,
                    "net_fen": net,
                    "net_yuan": format_yuan(net),
                }
            )
    return rows


def position_rows(system: ClearingSystem) -> list[Row]:
    """Every bilateral position of every round: what ``bank_b`` owes ``bank_a`` at a node."""
    rows = []
    for key, positions in sorted(system.book.bilateral.items()):
        for (node, a, b), net in sorted(positions.items()):
            rows.append(
                {
                    "round": round_label(key),
                    "beps_date": key[0].isoformat(),
                    "number": key[1],
                    "node": node,
                    "bank_a": a,
                    "bank_b": b,
                    "net_fen": net,
                    "net_yuan": format_yuan(net),
                }
            )
    return rows


def reconciliations(system: ClearingSystem, today: date) -> list[Reconciliation]:
    """Today's BEPS date and those of the last closed rounds, each recomputed from its items
    and compared with the centres' positions (newest first)."""
    days = {today} | {key[0] for key in closed_rounds(system)}
    return [reconcile(system, day) for day in sorted(days, reverse=True)[:3]]


REPORTS: Final[dict[str, tuple[tuple[str, ...], Callable[[ClearingSystem], list[Row]]]]] = {
    "positions": (
        ("round", "beps_date", "number", "node", "bank_a", "bank_b", "net_fen", "net_yuan"),
        position_rows,
    ),
    "settlements": (
        (
            "round",
            "beps_date",
            "number",
            "state",
            "items",
            "settlement_date",
            "bank",
            "net_fen",
            "net_yuan",
        ),
        settlement_rows,
    ),
    "queue": (
        (
            "clearing_bank",
            "node",
            "place",
            "item_id",
            "business_type",
            "payer_bank",
            "payee_bank",
            "amount_fen",
            "amount_yuan",
        ),
        queue_rows,
    ),
    "caps": (
        (
            "bank",
            "node",
            "cap_fen",
            "cap_yuan",
            "unsettled_fen",
            "open_fen",
            "headroom_fen",
            "headroom_yuan",
        ),
        caps_rows,
    ),
}
"""The CSV downloads: each report's columns, and its rows."""

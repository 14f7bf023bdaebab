"""Views of a clearing system: positions, settlements, items, reconciliation, CSV.

Amounts are integer fen in the rows (``*_fen``) and decimal yuan strings where a person or a
report reads them. The reconciliation of a BEPS date recomputes every bank's totals from the
items themselves and compares them with the positions the centres hold (as a bank's front-end
does with the day-end summary); on a mismatch the centre's figure prevails and the report says
where they differ.

>>> to_csv([{"bank": "102100099996", "net": "1.00"}])
'bank,net\\r\\n102100099996,1.00\\r\\n'
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from zhifu.clearing.config import format_yuan
from zhifu.clearing.model import Status
from zhifu.clearing.rounds import RoundState, participant_nets

if TYPE_CHECKING:
    from zhifu.clearing.engine import ClearingSystem

Row = dict[str, Any]


def bilateral_rows(system: ClearingSystem) -> list[Row]:
    """One row per (BEPS date, round, node, bank pair): ``net``: what ``bank_b`` owes ``bank_a``."""
    rows = []
    for (day, number), positions in sorted(system.book.bilateral.items()):
        for (node, a, b), net in sorted(positions.items()):
            rows.append(
                {
                    "beps_date": day.isoformat(),
                    "round": number,
                    "node": node,
                    "bank_a": a,
                    "bank_b": b,
                    "net": format_yuan(net),
                }
            )
    return rows


def participant_rows(system: ClearingSystem) -> list[Row]:
    """One row per (BEPS date, round, node, clearing bank): its net (positive: receives)."""
    rows = []
    for (day, number), positions in sorted(system.book.bilateral.items()):
        nets = participant_nets(positions)
        for (bank, node), net in sorted(nets.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            rows.append(
                {
                    "beps_date": day.isoformat(),
                    "round": number,
                    "node": node,
                    "bank": bank,
                    "net": format_yuan(net),
                }
            )
    return rows


def settlement_totals(system: ClearingSystem) -> dict[tuple[date, str], tuple[int, int]]:
    """(settlement date, bank) -> (net of the submitted rounds, net of the settled ones)."""
    totals: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0])
    for record in system.rounds.values():
        if record.settlement_date is None:
            continue
        settled = record.state is RoundState.SETTLED
        for (bank, _node), net in record.nets.items():
            pair = totals[record.settlement_date, bank]
            pair[0] += net
            pair[1] += net if settled else 0
    return {k: (v[0], v[1]) for k, v in totals.items() if v[0] or v[1]}


def settlement_rows(system: ClearingSystem) -> list[Row]:
    """One row per (settlement date, direct participant): net submitted, net settled."""
    return [
        {
            "settlement_date": day.isoformat(),
            "bank": bank,
            "net": format_yuan(net),
            "settled": format_yuan(settled),
        }
        for (day, bank), (net, settled) in sorted(settlement_totals(system).items())
    ]


def item_rows(system: ClearingSystem) -> list[Row]:
    """One row per item, in submission order."""
    rows = []
    for record in system.records.values():
        item = record.item
        day, number = record.netted_round or (None, None)
        rows.append(
            {
                "id": item.item_id,
                "type": item.business_type.value,
                "payer_bank": item.payer_bank,
                "payee_bank": item.payee_bank,
                "amount": format_yuan(item.amount),
                "status": record.status.value,
                "reason": record.reason.value if record.reason else "",
                "netting_date": day.isoformat() if day else "",
                "round": number or "",
                "node": record.node,
            }
        )
    return rows


def round_rows(system: ClearingSystem) -> list[Row]:
    """One row per round that netted something: state, settlement date and instant."""
    rows = []
    for key, record in sorted(system.rounds.items()):
        rows.append(
            {
                "beps_date": key[0].isoformat(),
                "round": key[1],
                "state": record.state.value,
                "items": len(record.items),
                "closes_at": system.schedule.close_instant(key).isoformat(),
                "settlement_date": (
                    record.settlement_date.isoformat() if record.settlement_date else ""
                ),
                "settles_at": record.settles_at.isoformat() if record.settles_at else "",
            }
        )
    return rows


@dataclass
class BankTotals:
    """One bank's day: what it paid and received (netted items), and its net."""

    bank: str
    paid_count: int = 0
    paid_fen: int = 0
    received_count: int = 0
    received_fen: int = 0

    @property
    def net_fen(self) -> int:
        return self.received_fen - self.paid_fen

    def row(self) -> Row:
        return {
            "bank": self.bank,
            "paid_count": self.paid_count,
            "paid": format_yuan(self.paid_fen),
            "received_count": self.received_count,
            "received": format_yuan(self.received_fen),
            "net": format_yuan(self.net_fen),
        }


@dataclass
class Reconciliation:
    """A BEPS date's reconciliation: per-bank totals and any difference found."""

    beps_date: date
    banks: list[BankTotals]
    mismatches: list[str] = field(default_factory=list)
    books_balanced: bool = True

    @property
    def balanced(self) -> bool:
        return not self.mismatches and self.books_balanced

    def as_dict(self) -> Row:
        return {
            "beps_date": self.beps_date.isoformat(),
            "balanced": self.balanced,
            "books_balanced": self.books_balanced,
            "mismatches": self.mismatches,
            "banks": [b.row() for b in self.banks],
        }


def reconcile(system: ClearingSystem, day: date) -> Reconciliation:
    """Recompute a BEPS date from its items and compare with the centres' positions."""
    totals: dict[str, BankTotals] = {}
    from_items: dict[tuple[str, str], int] = defaultdict(int)
    for record in system.records.values():
        if record.netted_round is None or record.netted_round[0] != day:
            continue
        if record.status not in (Status.NETTED, Status.SETTLED, Status.SETTLEMENT_QUEUED):
            continue
        item = record.item
        payer = totals.setdefault(item.payer_bank, BankTotals(item.payer_bank))
        payee = totals.setdefault(item.payee_bank, BankTotals(item.payee_bank))
        payer.paid_count += 1
        payer.paid_fen += item.amount
        payee.received_count += 1
        payee.received_fen += item.amount
        if record.payer_cb != record.payee_cb:
            from_items[record.payer_cb, record.node] -= item.amount
            from_items[record.payee_cb, record.node] += item.amount
    from_positions: dict[tuple[str, str], int] = defaultdict(int)
    for (d, _n), positions in system.book.bilateral.items():
        if d == day:
            for key, net in participant_nets(positions).items():
                from_positions[key] += net
    mismatches = _differences(from_items, from_positions)
    return Reconciliation(
        day, [totals[b] for b in sorted(totals)], mismatches, system.books.balanced()
    )


def _differences(
    mine: Mapping[tuple[str, str], int], centre: Mapping[tuple[str, str], int]
) -> list[str]:
    out = []
    for key in sorted(set(mine) | set(centre)):
        a, b = mine.get(key, 0), centre.get(key, 0)
        if a != b:
            out.append(f"{key[0]} at {key[1]}: items {format_yuan(a)}, centre {format_yuan(b)}")
    return out


def to_csv(rows: Sequence[Mapping[str, Any]], columns: Iterable[str] | None = None) -> str:
    """Rows as CSV text (header first); ``columns`` picks and orders the fields."""
    names = list(columns) if columns is not None else (list(rows[0]) if rows else [])
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=names, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()

"""Netting for volume: a day of items as columns (numpy), positions by group-by (Polars).

:func:`net_day` computes, for millions of items at once, exactly what the item-by-item engine
computes: each item's status and netting round, the bilateral positions per (BEPS date, round,
node, pair of clearing banks), the per-participant positions and the settlements. Admission
(bank codes, amounts, per-item limits, receipt deadlines), receipts and expiries, rounds and
settlement dates are column arithmetic over integer microseconds and day numbers, with the
calendar consulted once per distinct date.

Caps are the only rule that depends on the order of events. The day is checked against them
first cheaply (a bank whose gross payments at a node fit in its cap can never hit it), then, for
the banks that fail that bound, exactly: running positions by cumulative sums in event order
plus the unsettled rounds at each instant. If a cap would bind anywhere (an item would queue or
a real-time item be rejected), or a settlement account would be short, the result says so
(``exact=False``) and the caller replays the day item by item
(:func:`zhifu.clearing.columnar.convert.run_scenario_columnar` does).

>>> from datetime import datetime
>>> from zhifu.core.clock import SHANGHAI
>>> from zhifu.clearing.calendar.days import ChineseCalendar
>>> from zhifu.clearing.model import Participant, NodeKind
>>> banks = ParticipantTable.of([Participant("102100099996", "1000", caps={NodeKind.NPC: 10**9}),
...                              Participant("103290000002", "2900")])
>>> t = to_us(datetime(2025, 10, 9, 10, 0, tzinfo=SHANGHAI))
>>> day = Day.credits(np.array([t, t]), np.array([0, 0]), np.array([1, 1]), np.array([5, 7]))
>>> result = net_day(day, banks, config=ClearingConfig(), cal=ChineseCalendar(),
...                  end_us=t + 6 * HOUR_US)
>>> result.exact, result.bilateral.row(0)  # 20370 = 2025-10-09, round 2, NPC, banks 0 and 1
(True, (20370, 2, 0, 0, 1, -12))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl

from zhifu.clearing.agreements import PERIODIC
from zhifu.clearing.calendar.days import BusinessCalendar
from zhifu.clearing.codes import BUSINESS, BusinessType, Deadline, Reason, Status
from zhifu.clearing.columnar.caps import Legs, cap_breach, settle_rounds
from zhifu.clearing.columnar.instants import (
    BOOL,
    HOUR_US,
    I64,
    beps_days,
    day_number,
    day_start_us,
    per_day,
    rounds_of,
    to_date,
    to_us,
)
from zhifu.clearing.columnar.participants import ParticipantTable
from zhifu.clearing.config import ClearingConfig
from zhifu.clearing.rules import expires_on

BUSINESS_ORDER: Final = tuple(BusinessType)
STATUS_ORDER: Final = tuple(Status)
REASON_ORDER: Final = (None, *Reason)
_ST = {s: i for i, s in enumerate(STATUS_ORDER)}
_RE = {r: i for i, r in enumerate(REASON_ORDER)}


@dataclass(frozen=True)
class Day:
    """Items as columns. ``-1`` means none (unknown bank, default receipt days, no receipt)."""

    t_us: I64  # submission instant
    business: I64  # index in BUSINESS_ORDER
    payer: I64  # participant index
    payee: I64
    amount: I64  # fen
    receipt_days: I64
    receipt_us: I64  # receipt instant
    receipt_ok: BOOL

    @classmethod
    def credits(cls, t_us: I64, payer: I64, payee: I64, amount: I64) -> Day:
        """Ordinary credits only."""
        n = len(t_us)
        none = np.full(n, -1, dtype=np.int64)
        return cls(t_us, np.zeros(n, np.int64), payer, payee, amount, none, none, none >= 0)

    def __len__(self) -> int:
        return len(self.t_us)


@dataclass
class ColumnarResult:
    """Per-item columns and the position tables (bank and node columns are indices)."""

    status: I64  # index in STATUS_ORDER
    reason: I64  # index in REASON_ORDER
    net_day: I64  # netting BEPS date (day number), -1 if not netted
    net_round: I64
    node: I64  # 0 NPC, 1 + city index for that city's CCPC; -1 unknown bank
    bilateral: pl.DataFrame  # day, round, node, a, b, net (what b owes a)
    participants: pl.DataFrame  # day, round, node, bank, net
    settlements: pl.DataFrame  # settlement_day, bank, net, settled
    exact: bool = True
    why_not: str = ""


def _admission(
    day: Day,
    banks: ParticipantTable,
    config: ClearingConfig,
    cal: BusinessCalendar,
    submit_day: I64,
) -> I64:
    reason = np.zeros(len(day), dtype=np.int64)
    unknown = (day.payer < 0) | (day.payee < 0)
    reason[unknown] = _RE[Reason.UNKNOWN_BANK]
    reason[(reason == 0) & (day.amount <= 0)] = _RE[Reason.AMOUNT]
    working = per_day(submit_day, lambda d: int(cal.is_working_day(d))).astype(bool)
    no_limit = -1

    def limits(work: bool) -> I64:
        table = [config.limit_for(b, working_day=work) for b in BUSINESS_ORDER]
        return np.array([no_limit if v is None else v for v in table], dtype=np.int64)

    limit = np.where(working, limits(True)[day.business], limits(False)[day.business])
    reason[(reason == 0) & (limit != no_limit) & (day.amount > limit)] = _RE[Reason.LIMIT_EXCEEDED]
    has_days = np.array([BUSINESS[b].deadline is Deadline.RECEIPT_DAYS for b in BUSINESS_ORDER])
    days = np.where(day.receipt_days < 0, config.receipt_days, day.receipt_days)
    bad = has_days[day.business] & ((days < 0) | (days > config.receipt_days_max))
    reason[(reason == 0) & bad] = _RE[Reason.RECEIPT_DAYS]
    # a day of columns carries no agreements (a scenario registering some runs item by item):
    # periodic business is refused as the engine refuses it without one
    periodic = np.array([b in PERIODIC for b in BUSINESS_ORDER])
    reason[(reason == 0) & periodic[day.business]] = _RE[Reason.NO_AGREEMENT]
    return reason


def _expiry_days(day: Day, submit_day: I64, config: ClearingConfig, cal: BusinessCalendar) -> I64:
    """The BEPS date from which each item would expire (see :func:`rules.expires_on`): one
    table per (business type, receipt days) over the dates met, then one gather."""
    width = config.receipt_days_max + 1
    days = np.clip(
        np.where(day.receipt_days < 0, config.receipt_days, day.receipt_days), 0, width - 1
    )
    if len(day) == 0:
        return np.zeros(0, dtype=np.int64)
    first, last = int(submit_day.min()), int(submit_day.max())
    table = np.full((len(BUSINESS_ORDER) * width, last - first + 1), -1, dtype=np.int64)
    for position, business in enumerate(BUSINESS_ORDER):
        spec = BUSINESS[business]
        for n in range(width if spec.deadline is not Deadline.NONE else 0):
            for d in range(first, last + 1):
                found = expires_on(spec, to_date(d), n, cal)
                table[position * width + n, d - first] = day_number(found) if found else -1
    gathered: I64 = table[day.business * width + days, submit_day - first]
    return gathered


def item_statuses(
    day: Day, banks: ParticipantTable, config: ClearingConfig, cal: BusinessCalendar, end_us: int
) -> tuple[I64, I64, I64]:
    """Status, reason and netting instant (-1: not netted) of every item at ``end_us``."""
    submit_day = beps_days(day.t_us, config)
    reason = _admission(day, banks, config, cal, submit_day)
    admitted = reason == 0
    needs = np.array([BUSINESS[b].needs_receipt for b in BUSINESS_ORDER])[day.business]
    plain = admitted & ~needs
    wait = admitted & needs
    status = np.where(plain, _ST[Status.NETTED], _ST[Status.REJECTED])
    expiry = _expiry_days(day, submit_day, config, cal)
    has = wait & (day.receipt_us >= 0) & (day.receipt_us <= end_us)
    in_time = has & (beps_days(day.receipt_us, config) < expiry)
    ok = in_time & day.receipt_ok
    net_us = np.where(plain, day.t_us, np.where(ok, day.receipt_us, -1))
    status[ok] = _ST[Status.NETTED]
    refused = in_time & ~day.receipt_ok
    reason[refused] = _RE[Reason.REFUSED]
    expired = wait & ~in_time & (day_start_us(expiry, config) <= end_us)
    status[expired], reason[expired] = _ST[Status.EXPIRED], _RE[Reason.NO_RECEIPT]
    status[wait & ~in_time & ~expired] = _ST[Status.AWAITING_RECEIPT]
    return status, reason, net_us


def net_day(
    day: Day,
    banks: ParticipantTable,
    *,
    config: ClearingConfig,
    cal: BusinessCalendar,
    end_us: int,
    reserves: I64 | None = None,
) -> ColumnarResult:
    """Net the items of a run that ends at ``end_us`` (see the module docstring)."""
    status, reason, net_us = item_statuses(day, banks, config, cal, end_us)
    netted = net_us >= 0
    payer = banks.clearing[np.where(day.payer < 0, 0, day.payer)]
    payee = banks.clearing[np.where(day.payee < 0, 0, day.payee)]
    known = (day.payer >= 0) & (day.payee >= 0)
    p_city, q_city = banks.city[payer], banks.city[payee]
    node = np.where(known, np.where(p_city == q_city, 1 + p_city, 0), -1)
    nday = np.where(netted, beps_days(net_us, config), -1)
    nround = np.where(netted, rounds_of(net_us, config), -1)
    moves = netted & (payer != payee)
    grid = _Grid(banks, config, nday[netted])
    bilateral = grid.bilateral(
        nday, nround, node, payer=payer, payee=payee, amount=day.amount, moves=moves
    )
    participants = _participant_positions(bilateral)
    rounds = settle_rounds(
        grid.round_days,
        grid.round_numbers,
        participants,
        config=config,
        cal=cal,
        end_us=end_us,
        reserves=reserves,
    )
    settled = np.zeros(len(grid.round_days), dtype=bool)
    settled[grid.round_index(rounds["day"].to_numpy(), rounds["round"].to_numpy())] = rounds[
        "settled"
    ].to_numpy()
    if len(settled):
        settled_items = netted & settled[grid.round_index(nday, nround).clip(0)]
        status[settled_items] = _ST[Status.SETTLED]
    why = rounds.get_column("why").max() if rounds.height else None

    def legs() -> Legs:
        where = np.flatnonzero(moves)
        rk = grid.round_index(nday[where], nround[where])
        return Legs(
            net_us[where], where, payer[where], payee[where], node[where], rk, day.amount[where]
        )

    gross = grid.gross(payer, node, day.amount, moves)
    why_not = str(why or "") or cap_breach(gross, legs, participants, rounds, banks)
    return ColumnarResult(
        status,
        reason,
        nday,
        nround,
        node,
        bilateral,
        participants,
        _settlements(participants, rounds),
        not why_not,
        why_not,
    )


class _Grid:
    """Packs (round, node, bank, bank) into one int64 key so one hash group-by nets a day."""

    def __init__(self, banks: ParticipantTable, config: ClearingConfig, days: I64) -> None:
        self.per_day = config.schedule.rounds_per_day
        self.first = int(days.min()) if len(days) else 0
        span = (int(days.max()) - self.first + 1) if len(days) else 0
        self.nodes = 1 + len(banks.cities)
        self.banks = len(banks.codes)
        keys = np.arange(span * self.per_day, dtype=np.int64)
        self.round_days = self.first + keys // self.per_day
        self.round_numbers = keys % self.per_day + 1
        assert span * self.per_day * self.nodes * self.banks**2 < 1 << 62, "key too wide"

    def round_index(self, days: I64, rounds: I64) -> I64:
        return (days - self.first) * self.per_day + rounds - 1

    def bilateral(
        self, days: I64, rounds: I64, node: I64, *, payer: I64, payee: I64, amount: I64, moves: BOOL
    ) -> pl.DataFrame:
        """Positions per (day, round, node, a, b): ``net`` is what ``b`` owes ``a``."""
        a, b = np.minimum(payer, payee), np.maximum(payer, payee)
        key = (
            (self.round_index(days, rounds) * self.nodes + node) * self.banks + a
        ) * self.banks + b
        signed = np.where(moves, np.where(payee < payer, amount, -amount), 0)
        frame = pl.DataFrame({"key": np.where(moves, key, -1), "net": signed})
        summed = frame.group_by("key").agg(pl.col("net").sum()).filter(pl.col("key") >= 0)
        key = summed["key"].to_numpy()
        rest, b_out = np.divmod(key, self.banks)
        rest, a_out = np.divmod(rest, self.banks)
        rk, node_out = np.divmod(rest, self.nodes)
        out = pl.DataFrame(
            {
                "day": self.round_days[rk],
                "round": self.round_numbers[rk],
                "node": node_out,
                "a": a_out,
                "b": b_out,
                "net": summed["net"].to_numpy(),
            }
        )
        return out.sort("day", "round", "node", "a", "b")

    def gross(self, payer: I64, node: I64, amount: I64, moves: BOOL) -> pl.DataFrame:
        """Gross payments per (payer clearing bank, node)."""
        key = np.where(moves, payer * self.nodes + node, -1)
        frame = pl.DataFrame({"key": key, "amount": np.where(moves, amount, 0)})
        summed = frame.group_by("key").agg(pl.col("amount").sum()).filter(pl.col("key") >= 0)
        payer_out, node_out = np.divmod(summed["key"].to_numpy(), self.nodes)
        return pl.DataFrame({"payer": payer_out, "node": node_out, "amount": summed["amount"]})


def _participant_positions(bilateral: pl.DataFrame) -> pl.DataFrame:
    keys = ["day", "round", "node", "bank"]
    a = bilateral.select("day", "round", "node", pl.col("a").alias("bank"), "net")
    b = bilateral.select("day", "round", "node", pl.col("b").alias("bank"), -pl.col("net"))
    both = pl.concat([a, b])
    out = both.group_by(keys).agg(pl.col("net").sum()).sort(keys)
    assert out.group_by("day", "round", "node").agg(pl.col("net").sum())["net"].abs().sum() == 0
    return out


def _settlements(participants: pl.DataFrame, rounds: pl.DataFrame) -> pl.DataFrame:
    closed = participants.join(rounds.filter(pl.col("closed")), on=["day", "round"])
    per = closed.group_by("settlement_day", "bank").agg(
        pl.col("net").sum(),
        pl.col("net").filter(pl.col("settled")).sum().alias("settled"),
    )
    return per.filter((pl.col("net") != 0) | (pl.col("settled") != 0)).sort(
        "settlement_day", "bank"
    )


__all__ = ["HOUR_US", "ColumnarResult", "Day", "ParticipantTable", "net_day", "to_us"]

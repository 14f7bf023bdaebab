"""Rounds, settlement and the exact net-debit-cap check of the columnar path.

:func:`settle_rounds` gives each round with netted items its close, settlement date and
settlement instant, whether it closed and settled by the end of the run, and (given opening
balances) whether every settlement batch finds the funds. :func:`cap_breach` decides whether
any cap would bind: first by a bound (gross payments of a bank at a node within its cap), then,
for the banks that fail the bound, by replaying their running positions in event order as
cumulative sums, with the rounds submitted but not settled at each instant
(docs/standards/clearing.md §1.5).

>>> import polars as pl
>>> cap_breach(pl.DataFrame(), pl.DataFrame, pl.DataFrame(), pl.DataFrame(), None)
''
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

import numpy as np
import polars as pl

from zhifu.clearing.calendar.days import BusinessCalendar
from zhifu.clearing.columnar.instants import BOOL, I64, US, day_number, day_start_us, to_date, to_us
from zhifu.clearing.columnar.participants import ParticipantTable
from zhifu.clearing.config import ClearingConfig
from zhifu.core.clock import SHANGHAI


def settle_rounds(
    days: I64,
    rounds: I64,
    participants: pl.DataFrame,
    *,
    config: ClearingConfig,
    cal: BusinessCalendar,
    end_us: int,
    reserves: I64 | None,
) -> pl.DataFrame:
    """One row per round with netted items: day, round, close_us, settlement_day, settle_us,
    closed, settled, why (why the run is not exact, or null)."""
    per_day = config.schedule.rounds_per_day
    if len(days) == 0:
        return pl.DataFrame(
            schema={
                "day": pl.Int64,
                "round": pl.Int64,
                "close_us": pl.Int64,
                "settlement_day": pl.Int64,
                "settle_us": pl.Int64,
                "closed": pl.Boolean,
                "settled": pl.Boolean,
                "why": pl.String,
            }
        )
    first = int(days.min())
    keys = np.flatnonzero(np.bincount((days - first) * per_day + rounds - 1))
    rdays, rnums = first + keys // per_day, keys % per_day + 1
    offsets = np.array(config.schedule.offsets, dtype=np.int64) * US
    close = day_start_us(rdays, config) + offsets[rnums - 1]
    settle_day = np.array(
        [day_number(cal.next_working_day_on_or_after(to_date(int(d)))) for d in rdays],
        dtype=np.int64,
    )
    opening = np.array(
        [
            to_us(datetime.combine(to_date(int(d)), config.schedule.settlement_time, SHANGHAI))
            for d in settle_day
        ],
        dtype=np.int64,
    )
    settle = np.maximum(close, opening)
    frame = pl.DataFrame(
        {
            "day": rdays,
            "round": rnums,
            "close_us": close,
            "settlement_day": settle_day,
            "settle_us": settle,
            "closed": close <= end_us,
            "settled": settle <= end_us,
        }
    )
    why = _short_reserves(frame, participants, reserves)
    return frame.with_columns(pl.lit(why or None, dtype=pl.String).alias("why"))


def _short_reserves(rounds: pl.DataFrame, participants: pl.DataFrame, reserves: I64 | None) -> str:
    """Replay the settlement batches in time order against the opening balances."""
    if reserves is None or participants.height == 0:
        return ""
    done = participants.join(rounds.filter(pl.col("settled")), on=["day", "round"])
    batches = done.group_by("settle_us", "bank").agg(pl.col("net").sum()).sort("settle_us")
    balance = reserves.copy()
    for _at, batch in batches.group_by("settle_us", maintain_order=True):
        balance[batch["bank"].to_numpy()] += batch["net"].to_numpy()
        if (balance < 0).any():
            return "a settlement account would be short of funds"
    return ""


class Legs(NamedTuple):
    """The netted items that move money between two clearing banks, as columns."""

    at: I64  # netting instant (us)
    order: I64  # position in the input (ties at one instant run in input order)
    payer: I64  # clearing bank indices
    payee: I64
    node: I64
    rk: I64  # round index (see ``Grid.round_index``)
    amount: I64


def cap_breach(
    gross: pl.DataFrame,
    legs: Callable[[], Legs],
    participants: pl.DataFrame,
    rounds: pl.DataFrame,
    banks: ParticipantTable | None,
) -> str:
    """Why a cap would bind ("" when none would), given the gross payments per (payer, node)
    and, built only when that bound fails, the netted legs."""
    if gross.height == 0 or banks is None:
        return ""
    payer = gross["payer"].to_numpy()
    kind = (gross["node"].to_numpy() != 0).astype(np.int64)
    over = gross["amount"].to_numpy() > banks.caps[payer, kind]
    if not over.any():
        return ""
    nodes = 1 + len(banks.cities)
    flagged = np.zeros(len(banks.codes) * nodes, dtype=bool)
    flagged[payer[over] * nodes + gross["node"].to_numpy()[over]] = True
    return _exact(legs(), participants, rounds, banks, flagged)


def _exact(
    legs: Legs,
    participants: pl.DataFrame,
    rounds: pl.DataFrame,
    banks: ParticipantTable,
    flagged: BOOL,
) -> str:
    """Replay the running positions of the flagged (bank, node) pairs in event order."""
    nodes = 1 + len(banks.cities)
    touched = np.flatnonzero(
        flagged[legs.payer * nodes + legs.node] | flagged[legs.payee * nodes + legs.node]
    )
    sort = pl.DataFrame({"at": legs.at[touched], "order": legs.order[touched]}).select(
        pl.arg_sort_by("at", "order")
    )
    order = touched[sort.to_series().to_numpy()]
    at, amount, rk = legs.at[order], legs.amount[order], legs.rk[order]
    node = legs.node[order]
    m = len(order)
    if m == 0:
        return ""
    key = np.empty(2 * m, dtype=np.int64)  # (bank, node) of each leg, payer leg first
    key[0::2], key[1::2] = legs.payer[order] * nodes + node, legs.payee[order] * nodes + node
    move = np.empty(2 * m, dtype=np.int64)
    move[0::2], move[1::2] = -amount, amount
    keep = flagged[key]
    rounds_n = int(rk.max()) + 1
    group = (key * rounds_n + np.repeat(rk, 2))[keep]
    running = pl.DataFrame({"g": group, "d": move[keep]}).select(pl.col("d").cum_sum().over("g"))
    payer_leg = np.zeros(2 * m, dtype=bool)
    payer_leg[0::2] = True
    is_payer = payer_leg[keep]
    after = running.to_series().to_numpy()[is_payer]
    where = np.repeat(np.arange(m), 2)[keep][is_payer]
    instants = np.unique(rounds["settle_us"].to_numpy())
    epoch = np.searchsorted(instants, at[where], side="right")
    pay_key = key[0::2][where]
    u = _unsettled(
        pay_key,
        rk[where],
        epoch,
        participants=participants,
        rounds=rounds,
        instants=instants,
        nodes=nodes,
    )
    bank, kind = pay_key // nodes, (pay_key % nodes != 0).astype(np.int64)
    room = banks.caps[bank, kind] - np.maximum(0, -u) + after + amount[where]
    if (amount[where] > room).any():
        return "a net debit cap binds: items would queue or be rejected"
    return ""


def _unsettled(
    pay_key: I64,
    rk: I64,
    epoch: I64,
    *,
    participants: pl.DataFrame,
    rounds: pl.DataFrame,
    instants: I64,
    nodes: int,
) -> I64:
    """U at each payer leg: the net of the earlier rounds submitted but not yet settled.

    ``rounds`` has one row per round of the grid, in order, so a row number is a round index.
    U is tabulated per (bank and node, round, epoch) with one integer tensor product, then
    gathered for every leg.
    """
    first, per_day = int(rounds["day"].to_numpy().min()), int(rounds["round"].to_numpy().max())
    count, width = rounds.height, len(instants) + 1
    present = np.zeros(int(pay_key.max()) + 1, dtype=bool)
    present[pay_key] = True
    banks_nodes = np.flatnonzero(present)
    dense = np.zeros(len(present), dtype=np.int64)
    dense[banks_nodes] = np.arange(len(banks_nodes))
    slot = dense[pay_key]
    lookup = {int(k): i for i, k in enumerate(banks_nodes)}
    nets = np.zeros((len(banks_nodes), count), dtype=np.int64)
    for d, r, node, bank, net in participants.iter_rows():
        row = lookup.get(bank * nodes + node)
        if row is not None:
            nets[row, (d - first) * per_day + r - 1] += net
    rank = np.searchsorted(instants, rounds["settle_us"].to_numpy())
    earlier = np.arange(count)[None, :] < np.arange(count)[:, None]  # [round, earlier round]
    pending = rank[None, :] >= np.arange(width)[:, None]  # [epoch, earlier round]
    mask = (earlier[:, None, :] & pending[None, :, :]).astype(np.int64)
    table = np.tensordot(nets, mask, axes=([1], [2]))  # [bank-node, round, epoch]
    result: I64 = table[slot, rk, epoch]
    return result

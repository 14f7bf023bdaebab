"""The columnar path's edges: scenarios to columns and back, random days, the exact fallback.

:func:`run_scenario_columnar` gives the same ``items``, ``bilateral``, ``participants`` and
``settlements`` as :func:`zhifu.clearing.simulate.run_scenario`, computed by
:func:`zhifu.clearing.columnar.netting.net_day`; a scenario the columnar path does not cover
(revocations, returns, cap changes, separate receipts, packet mix-ups) or where a cap or a
settlement account binds is replayed item by item instead, and ``path`` says which ran.

>>> import numpy as np
>>> from zhifu.clearing.model import Participant
>>> banks = [Participant(f"10{i}100000000", "1000", caps={NodeKind.CCPC: 10**12}) for i in range(3)]
>>> start = to_us(datetime(2025, 10, 9, 9, 0, tzinfo=SHANGHAI))
>>> day = random_day(np.random.default_rng(7), 50, len(banks), start, HOUR_US)
>>> scenario = scenario_from_day(day, banks, ClearingConfig())
>>> columnar = run_scenario_columnar(scenario)
>>> columnar["path"], columnar["bilateral"] == run_scenario(scenario, ledger=False)["bilateral"]
('columnar', True)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import numpy as np

from zhifu.clearing.codes import RECEIPT_SUCCESS, BusinessType
from zhifu.clearing.columnar.instants import HOUR_US, I64, from_us, to_date, to_us
from zhifu.clearing.columnar.netting import (
    BUSINESS_ORDER,
    REASON_ORDER,
    STATUS_ORDER,
    ColumnarResult,
    Day,
    net_day,
)
from zhifu.clearing.columnar.participants import ParticipantTable
from zhifu.clearing.config import ClearingConfig, format_yuan
from zhifu.clearing.model import Item, NodeKind, Participant
from zhifu.clearing.simulate import Scenario, ScenarioItem, run_scenario
from zhifu.core.clock import SHANGHAI

UNKNOWN_BANK: Final = "999999999999"  # a well-formed code no scenario registers
REFUSAL: Final = "03"  # insufficient balance
MIX: Final = (0.55, 0.10, 0.12, 0.05, 0.12, 0.06, 0.0)  # share of each BUSINESS_ORDER type

__all__ = ["HOUR_US", "NodeKind", "random_day", "run_scenario_columnar", "scenario_from_day"]


class Unsupported(Exception):  # noqa: N818 - a control-flow signal, not an error
    """The scenario needs the item-by-item engine."""


def day_from_scenario(scenario: Scenario) -> tuple[Day, ParticipantTable, I64]:
    """The items of a scenario as columns (raises :class:`Unsupported`)."""
    if scenario.events:
        raise Unsupported("events (receipts, revocations, returns, caps) go item by item")
    table = ParticipantTable.of(scenario.participants)
    index = {code: i for i, code in enumerate(table.codes)}
    packets: dict[str, tuple[str, BusinessType]] = {}
    for s in scenario.items:
        item = s.item
        if item.business_type is BusinessType.CREDIT_RETURN:
            raise Unsupported("returns go item by item")
        if packets.setdefault(item.packet, (item.sender, item.business_type)) != (
            item.sender,
            item.business_type,
        ):
            raise Unsupported("a packet mixes banks or business types")
    items = scenario.items
    none = -1

    def column(values: Sequence[int]) -> I64:
        return np.array(values, dtype=np.int64)

    day = Day(
        column([to_us(s.time) for s in items]),
        column([BUSINESS_ORDER.index(s.item.business_type) for s in items]),
        column([index.get(s.item.payer_bank, none) for s in items]),
        column([index.get(s.item.payee_bank, none) for s in items]),
        column([s.item.amount for s in items]),
        column([none if s.item.receipt_days is None else s.item.receipt_days for s in items]),
        column([none if s.receipt_time is None else to_us(s.receipt_time) for s in items]),
        np.array([s.receipt_code == RECEIPT_SUCCESS for s in items], dtype=bool),
    )
    reserves = column([scenario.reserves.get(code, 0) for code in table.codes])
    return day, table, reserves


def run_scenario_columnar(scenario: Scenario) -> dict[str, Any]:
    """The simulate outcome (items and position tables) through the columnar path."""
    try:
        day, table, reserves = day_from_scenario(scenario)
    except Unsupported as why:
        return _fallback(scenario, str(why))
    calendar = scenario.calendar()
    _start, end = scenario.bounds(calendar)
    result = net_day(
        day, table, config=scenario.config, cal=calendar, end_us=to_us(end), reserves=reserves
    )
    if not result.exact:
        return _fallback(scenario, result.why_not)
    ids = [s.item.item_id for s in scenario.items]
    return {"path": "columnar", **render(result, table, ids)}


def _fallback(scenario: Scenario, why: str) -> dict[str, Any]:
    out = run_scenario(scenario, ledger=False)
    keys = ("items", "bilateral", "participants", "settlements")
    return {"path": "item-by-item", "why": why, **{k: out[k] for k in keys}}


def render(result: ColumnarResult, table: ParticipantTable, ids: Sequence[str]) -> dict[str, Any]:
    """Rows in the simulate output format."""
    node = table.node_name
    code = table.codes
    items = []
    for i, item_id in enumerate(ids):
        netted = result.net_day[i] >= 0
        reason = REASON_ORDER[result.reason[i]]
        items.append(
            {
                "id": item_id,
                "status": STATUS_ORDER[result.status[i]].value,
                "reason": reason.value if reason else None,
                "netting_date": to_date(result.net_day[i]).isoformat() if netted else None,
                "round": int(result.net_round[i]) if netted else None,
                "node": node(int(result.node[i])) if result.node[i] >= 0 else None,
            }
        )
    bilateral = [
        {
            "beps_date": to_date(d).isoformat(),
            "round": r,
            "node": node(n),
            "bank_a": code[a],
            "bank_b": code[b],
            "net": format_yuan(net),
        }
        for d, r, n, a, b, net in result.bilateral.iter_rows()
    ]
    participants = [
        {
            "beps_date": to_date(d).isoformat(),
            "round": r,
            "node": node(n),
            "bank": code[b],
            "net": format_yuan(net),
        }
        for d, r, n, b, net in result.participants.iter_rows()
    ]
    settlements = [
        {
            "settlement_date": to_date(d).isoformat(),
            "bank": code[b],
            "net": format_yuan(net),
            "settled": format_yuan(settled),
        }
        for d, b, net, settled in result.settlements.iter_rows()
    ]
    bilateral.sort(key=lambda r: (r["beps_date"], r["round"], r["node"], r["bank_a"], r["bank_b"]))
    participants.sort(key=lambda r: (r["beps_date"], r["round"], r["node"], r["bank"]))
    return {
        "items": items,
        "bilateral": bilateral,
        "participants": participants,
        "settlements": settlements,
    }


def random_day(
    rng: np.random.Generator,
    n: int,
    banks: int,
    start_us: int,
    span_us: int,
    *,
    amount_max: int = 5_000_000,
) -> Day:
    """``n`` random items over ``span_us`` from ``start_us``, generated as columns."""
    t = np.sort(rng.integers(start_us, start_us + span_us, n, dtype=np.int64))
    business = rng.choice(len(BUSINESS_ORDER), n, p=MIX).astype(np.int64)
    payer = rng.integers(0, banks, n, dtype=np.int64)
    payee = rng.integers(0, banks, n, dtype=np.int64)
    amount = rng.integers(1, amount_max, n, dtype=np.int64)
    receipt_days = rng.integers(-1, 3, n, dtype=np.int64)
    kind = rng.random(n)
    delay = np.where(
        kind < 0.8,
        rng.integers(0, 2 * HOUR_US, n, dtype=np.int64),
        rng.integers(0, 10 * 24 * HOUR_US, n, dtype=np.int64),
    )
    receipt = np.where(kind < 0.95, t + delay, -1).astype(np.int64)
    ok = rng.random(n) < 0.9
    return Day(t, business, payer, payee, amount, receipt_days, receipt, ok)


def scenario_from_day(
    day: Day,
    participants: Sequence[Participant],
    config: ClearingConfig,
    *,
    reserves: dict[str, int] | None = None,
    until: datetime | None = None,
) -> Scenario:
    """The same items as a scenario for the item-by-item engine (ids ``i0``, ``i1`` ...)."""
    codes = sorted(p.code for p in participants)
    needs = [BUSINESS_ORDER[b] for b in range(len(BUSINESS_ORDER))]
    items = []
    for i in range(len(day)):
        business = needs[day.business[i]]
        item = Item(
            f"i{i}",
            business,
            codes[day.payer[i]] if day.payer[i] >= 0 else UNKNOWN_BANK,
            codes[day.payee[i]] if day.payee[i] >= 0 else UNKNOWN_BANK,
            int(day.amount[i]),
            receipt_days=int(day.receipt_days[i]) if day.receipt_days[i] >= 0 else None,
        )
        has_receipt = day.receipt_us[i] >= 0 and item.spec.needs_receipt
        items.append(
            ScenarioItem(
                item,
                from_us(int(day.t_us[i])),
                from_us(int(day.receipt_us[i])) if has_receipt else None,
                RECEIPT_SUCCESS if day.receipt_ok[i] else REFUSAL,
            )
        )
    direct = [p.code for p in participants if p.direct]
    opening = reserves if reserves is not None else dict.fromkeys(direct, 10**15)
    return Scenario(list(participants), config, items, [], opening, until=until)


def shanghai(text: str) -> datetime:
    """A naive ISO time as Beijing time (test and bench helper)."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)

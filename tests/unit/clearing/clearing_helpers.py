"""Shared helpers of the clearing tests: participants, item builders, outcome views."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from zhifu.clearing.simulate import Scenario, run_scenario

A = "102100099996"  # Beijing (city 1000), direct
B = "103100000026"  # Beijing, direct
C = "104290003791"  # Shanghai (city 2900), direct
A1 = "313100000013"  # Beijing, indirect through A
CAPS = {"NPC": "100000.00", "CCPC": "50000.00"}
PARTICIPANTS: list[dict[str, Any]] = [
    {"code": A, "city": "1000", "caps": CAPS},
    {"code": B, "city": "1000", "caps": CAPS},
    {"code": C, "city": "2900", "caps": CAPS},
    {"code": A1, "city": "1000", "direct": False, "via": A},
]
ALL_CHECKS = {
    "positions_sum_to_zero": True,
    "books_balanced": True,
    "reconciled": True,
    "customers_reconciled": True,
}


def item(
    item_id: str,
    time: str,
    payer: str,
    payee: str,
    amount: str,
    *,
    kind: str = "ordinary_credit",
    **extra: Any,
) -> dict[str, Any]:
    """One scenario item."""
    return {
        "id": item_id,
        "time": time,
        "type": kind,
        "payer_bank": payer,
        "payee_bank": payee,
        "amount": amount,
        **extra,
    }


def run(
    items: list[dict[str, Any]],
    events: list[dict[str, Any]] | None = None,
    *,
    config: dict[str, Any] | None = None,
    until: str | None = None,
    ledger: bool = True,
) -> dict[str, Any]:
    """Simulate and check the invariants every scenario must keep."""
    data: dict[str, Any] = {"participants": PARTICIPANTS, "items": items}
    if events:
        data["events"] = events
    if config:
        data["config"] = config
    if until:
        data["until"] = until
    out = run_scenario(Scenario.from_mapping(data), ledger=ledger)
    assert out["checks"] == ALL_CHECKS
    sums: dict[tuple[str, int, str], int] = defaultdict(int)
    for row in out["participants"]:
        sums[row["beps_date"], row["round"], row["node"]] += to_fen(row["net"])
    assert set(sums.values()) <= {0}, "participant positions must sum to zero"
    return out


def to_fen(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    whole, frac = text.lstrip("-").split(".")
    return sign * (int(whole) * 100 + int(frac))


def statuses(out: dict[str, Any]) -> dict[str, str]:
    return {i["id"]: i["status"] for i in out["items"]}


def netted_in(out: dict[str, Any]) -> dict[str, tuple[str | None, int | None, str | None]]:
    return {i["id"]: (i["netting_date"], i["round"], i["node"]) for i in out["items"]}


def bilateral(out: dict[str, Any]) -> dict[tuple[str, int, str, str, str], str]:
    return {
        (r["beps_date"], r["round"], r["node"], r["bank_a"], r["bank_b"]): r["net"]
        for r in out["bilateral"]
    }


def positions(out: dict[str, Any]) -> dict[tuple[str, int, str, str], str]:
    return {
        (r["beps_date"], r["round"], r["node"], r["bank"]): r["net"] for r in out["participants"]
    }


def settlements(out: dict[str, Any]) -> dict[tuple[str, str], tuple[str, str]]:
    return {(r["settlement_date"], r["bank"]): (r["net"], r["settled"]) for r in out["settlements"]}


def settles_at(out: dict[str, Any]) -> dict[tuple[str, int], str]:
    return {(r["beps_date"], r["round"]): r["settles_at"] for r in out["rounds"]}


def requests(out: dict[str, Any]) -> list[tuple[str, Any, bool, str | None]]:
    return [(r["type"], r["target"], r["accepted"], r["reason"]) for r in out["requests"]]

"""A small demonstration scenario (the example of ``docs/clearing.md``).

Three direct participants in two cities and one indirect one; around National Day 2025 it
shows the 16:00 cutoff, holiday netting settled on the first working day, the cap queue and
its release, a debit with its receipt, a real-time rejection and a packet revocation.

>>> from zhifu.clearing.simulate import Scenario, run_scenario
>>> out = run_scenario(Scenario.from_mapping(DEMO))
>>> sorted({i["status"] for i in out["items"]})
['PR04', 'PR08', 'PR09']
"""

from __future__ import annotations

from typing import Any, Final

ICBC_BJ: Final = "102100099996"
ABC_BJ: Final = "103100000026"
BOC_SH: Final = "104290003791"
RCB_BJ: Final = "313100000013"  # indirect, settles through ICBC_BJ


def _credit(item_id: str, time: str, payer: str, payee: str, amount: str, **extra: Any) -> Any:
    return {
        "id": item_id,
        "time": time,
        "type": "ordinary_credit",
        "payer_bank": payer,
        "payee_bank": payee,
        "amount": amount,
        **extra,
    }


DEMO: Final[dict[str, Any]] = {
    "participants": [
        {"code": ICBC_BJ, "city": "1000", "caps": {"NPC": "100000.00", "CCPC": "50000.00"}},
        {"code": ABC_BJ, "city": "1000", "caps": {"NPC": "100000.00", "CCPC": "50000.00"}},
        {"code": BOC_SH, "city": "2900", "caps": {"NPC": "100000.00", "CCPC": "50000.00"}},
        {"code": RCB_BJ, "city": "1000", "direct": False, "via": ICBC_BJ},
    ],
    "config": {"rounds": ["09:00", "12:00", "16:00"], "limits": {"ordinary_credit": "50000.00"}},
    "items": [
        _credit("C1", "2025-09-30T15:59:59", ICBC_BJ, BOC_SH, "100.00"),
        _credit("C2", "2025-09-30T16:00:00", RCB_BJ, BOC_SH, "200.00"),
        _credit("C3", "2025-10-02T10:00:00", ICBC_BJ, BOC_SH, "50000.00"),
        _credit("C4", "2025-10-04T10:00:00", ICBC_BJ, BOC_SH, "49000.00"),
        _credit("C5", "2025-10-06T10:00:00", ICBC_BJ, BOC_SH, "20000.00", packet="P5"),
        _credit("C6", "2025-10-06T11:00:00", ICBC_BJ, BOC_SH, "30000.00", packet="P6"),
        _credit("C7", "2025-10-07T10:00:00", ICBC_BJ, ABC_BJ, "50000.01"),
        {
            "id": "D1",
            "time": "2025-09-30T10:00:00",
            "type": "ordinary_debit",
            "payer_bank": ABC_BJ,
            "payee_bank": BOC_SH,
            "amount": "300.00",
            "receipt_days": 1,
            "receipt": {"time": "2025-10-09T10:00:00", "outcome": "00"},
        },
        {
            "id": "R1",
            "time": "2025-10-09T10:30:00",
            "type": "real_time_credit",
            "payer_bank": ABC_BJ,
            "payee_bank": BOC_SH,
            "amount": "150000.00",
            "receipt": {"time": "2025-10-09T10:30:01", "outcome": "00"},
        },
    ],
    "events": [
        {"type": "revoke", "time": "2025-10-07T09:00:00", "packet": "P6", "bank": ICBC_BJ},
    ],
}

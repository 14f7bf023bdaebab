"""Scenario tests written from the rules.

Each scenario runs through ``zhifu clearing simulate``'s engine with the real ledger; every
run also checks that the positions sum to zero, the ledger balances (``ledger.check()`` and
the clearing account back at zero) and the day reconciles (see ``clearing_helpers.run``).

Calendar facts used (chinesecalendar 1.11.0, State Council arrangement): National Day 2025 is
1-8 October (with Mid-Autumn); Sunday 28 September and Saturday 11 October are make-up working
days; Saturday 27 September and Sunday 12 October are ordinary weekends.
"""

from __future__ import annotations

from clearing_helpers import (
    A1,
    A,
    B,
    C,
    bilateral,
    item,
    netted_in,
    positions,
    requests,
    run,
    settlements,
    settles_at,
    statuses,
)


def test_cutoff_at_exactly_1600_starts_the_next_beps_date() -> None:
    out = run(
        [
            item("before", "2025-09-29T15:59:59", A, C, "100.00"),
            item("at", "2025-09-29T16:00:00", A, C, "200.00"),
        ]
    )
    assert netted_in(out) == {"before": ("2025-09-29", 3, "NPC"), "at": ("2025-09-30", 1, "NPC")}
    assert bilateral(out) == {
        ("2025-09-29", 3, "NPC", A, C): "-100.00",
        ("2025-09-30", 1, "NPC", A, C): "-200.00",
    }
    assert positions(out) == {
        ("2025-09-29", 3, "NPC", A): "-100.00",
        ("2025-09-29", 3, "NPC", C): "100.00",
        ("2025-09-30", 1, "NPC", A): "-200.00",
        ("2025-09-30", 1, "NPC", C): "200.00",
    }
    assert settles_at(out) == {
        ("2025-09-29", 3): "2025-09-29T16:00:00+08:00",
        ("2025-09-30", 1): "2025-09-30T09:00:00+08:00",
    }
    assert settlements(out) == {
        ("2025-09-29", A): ("-100.00", "-100.00"),
        ("2025-09-29", C): ("100.00", "100.00"),
        ("2025-09-30", A): ("-200.00", "-200.00"),
        ("2025-09-30", C): ("200.00", "200.00"),
    }
    assert statuses(out) == {"before": "PR04", "at": "PR04"}


def test_long_holiday_with_make_up_days_settles_on_the_first_working_day() -> None:
    out = run(
        [
            item("sat27", "2025-09-27T10:00:00", A, C, "1.00"),  # weekend -> Sun 28 (make-up)
            item("sun28", "2025-09-28T10:00:00", A, C, "2.00"),  # make-up working day
            item("eve", "2025-09-30T16:30:00", A, C, "3.00"),  # BEPS date 1 Oct (holiday)
            item("oct5", "2025-10-05T10:00:00", A, C, "4.00"),  # holiday
            item("oct8", "2025-10-08T16:00:00", A, C, "5.00"),  # BEPS date 9 Oct (working)
            item("fri", "2025-10-10T16:00:00", A, C, "6.00"),  # BEPS date Sat 11 (make-up)
            item("sun12", "2025-10-12T10:00:00", A, C, "7.00"),  # weekend -> Mon 13
        ]
    )
    assert netted_in(out) == {
        "sat27": ("2025-09-27", 2, "NPC"),
        "sun28": ("2025-09-28", 2, "NPC"),
        "eve": ("2025-10-01", 1, "NPC"),
        "oct5": ("2025-10-05", 2, "NPC"),
        "oct8": ("2025-10-09", 1, "NPC"),
        "fri": ("2025-10-11", 1, "NPC"),
        "sun12": ("2025-10-12", 2, "NPC"),
    }
    assert settles_at(out) == {
        ("2025-09-27", 2): "2025-09-28T08:30:00+08:00",
        ("2025-09-28", 2): "2025-09-28T12:00:00+08:00",
        ("2025-10-01", 1): "2025-10-09T08:30:00+08:00",
        ("2025-10-05", 2): "2025-10-09T08:30:00+08:00",
        ("2025-10-09", 1): "2025-10-09T09:00:00+08:00",
        ("2025-10-11", 1): "2025-10-11T09:00:00+08:00",
        ("2025-10-12", 2): "2025-10-13T08:30:00+08:00",
    }
    assert settlements(out) == {
        ("2025-09-28", A): ("-3.00", "-3.00"),
        ("2025-09-28", C): ("3.00", "3.00"),
        ("2025-10-09", A): ("-12.00", "-12.00"),
        ("2025-10-09", C): ("12.00", "12.00"),
        ("2025-10-11", A): ("-6.00", "-6.00"),
        ("2025-10-11", C): ("6.00", "6.00"),
        ("2025-10-13", A): ("-7.00", "-7.00"),
        ("2025-10-13", C): ("7.00", "7.00"),
    }
    assert set(statuses(out).values()) == {"PR04"}


HOLIDAY_CAP = [
    item("h1", "2025-10-02T10:00:00", A, C, "40000.00"),
    item("h2", "2025-10-04T10:00:00", A1, C, "40000.00"),  # indirect: A's position and cap
    item("h3", "2025-10-06T10:00:00", A, C, "40000.00"),  # 20,000 left of 100,000: queued
]


def test_holiday_rounds_keep_consuming_the_cap_until_settlement() -> None:
    during = run(HOLIDAY_CAP, until="2025-10-09T08:29:59")
    assert statuses(during) == {"h1": "PR03", "h2": "PR03", "h3": "PR11"}
    assert settlements(during) == {
        ("2025-10-09", A): ("-80000.00", "0.00"),
        ("2025-10-09", C): ("80000.00", "0.00"),
    }
    out = run(HOLIDAY_CAP)
    assert statuses(out) == {"h1": "PR04", "h2": "PR04", "h3": "PR04"}
    # h3 left the queue when SAPS settled the holiday rounds at 08:30 on 9 October.
    assert netted_in(out)["h3"] == ("2025-10-09", 1, "NPC")
    assert bilateral(out) == {
        ("2025-10-02", 2, "NPC", A, C): "-40000.00",
        ("2025-10-04", 2, "NPC", A, C): "-40000.00",
        ("2025-10-09", 1, "NPC", A, C): "-40000.00",
    }
    assert settlements(out) == {
        ("2025-10-09", A): ("-120000.00", "-120000.00"),
        ("2025-10-09", C): ("120000.00", "120000.00"),
    }


QUEUE = [
    item("q1", "2025-10-09T10:00:00", A, B, "30000.00"),  # CCPC cap 50,000: netted
    item("q2", "2025-10-09T10:01:00", A, B, "30000.00"),  # 20,000 left: queued
    item("q3", "2025-10-09T10:02:00", A, B, "1000.00"),  # fits, but FIFO: queued behind q2
    item("q4", "2025-10-09T10:03:00", B, A, "10000.00"),  # credit to A: releases q2 only
]
RAISE_CAP = [
    {"type": "cap", "time": "2025-10-09T10:04:00", "bank": A, "node": "CCPC", "amount": "60000.00"}
]


def test_cap_queue_is_fifo_and_released_when_room_appears() -> None:
    early = run(QUEUE[:3], until="2025-10-09T10:02:30")
    assert statuses(early) == {"q1": "PR03", "q2": "PR11", "q3": "PR11"}
    mid = run(QUEUE, until="2025-10-09T10:03:30")
    assert statuses(mid) == {"q1": "PR03", "q2": "PR03", "q3": "PR11", "q4": "PR03"}
    out = run(QUEUE, RAISE_CAP)
    assert statuses(out) == {"q1": "PR04", "q2": "PR04", "q3": "PR04", "q4": "PR04"}
    node = "CCPC-1000"
    assert bilateral(out) == {("2025-10-09", 2, node, A, B): "-51000.00"}
    assert positions(out) == {
        ("2025-10-09", 2, node, A): "-51000.00",
        ("2025-10-09", 2, node, B): "51000.00",
    }
    assert settlements(out) == {
        ("2025-10-09", A): ("-51000.00", "-51000.00"),
        ("2025-10-09", B): ("51000.00", "51000.00"),
    }


def test_real_time_items_over_the_cap_are_rejected_not_queued() -> None:
    def rt(item_id: str, time: str, amount: str, kind: str) -> dict:
        return item(item_id, time, A, C, amount, kind=kind, receipt={"time": time})

    out = run(
        [
            rt("rt1", "2025-10-09T10:00:00", "150000.00", "real_time_credit"),
            rt("rt2", "2025-10-09T10:01:00", "60000.00", "real_time_credit"),
            item("oc", "2025-10-09T10:02:00", A, C, "50000.00"),  # 40,000 left: queued
            rt("rt3", "2025-10-09T10:03:00", "30000.00", "real_time_debit"),  # not FIFO
            rt("rt4", "2025-10-09T10:04:00", "20000.00", "real_time_debit"),
        ]
    )
    by_id = {i["id"]: (i["status"], i["reason"]) for i in out["items"]}
    assert by_id == {
        "rt1": ("PR09", "cap_exceeded"),
        "rt2": ("PR04", None),
        "oc": ("PR04", None),  # released at 12:00 when round 2 settled
        "rt3": ("PR04", None),
        "rt4": ("PR09", "cap_exceeded"),
    }
    assert netted_in(out)["oc"] == ("2025-10-09", 3, "NPC")
    assert bilateral(out) == {
        ("2025-10-09", 2, "NPC", A, C): "-90000.00",
        ("2025-10-09", 3, "NPC", A, C): "-50000.00",
    }
    assert settlements(out)[("2025-10-09", C)] == ("140000.00", "140000.00")


def test_unanswered_real_time_item_is_returned_on_the_third_working_day() -> None:
    items = [item("rt", "2025-09-30T10:00:00", A, C, "5.00", kind="real_time_credit")]
    # Working days from 30 Sep: 30 Sep (1st), 9 Oct (2nd), 10 Oct (3rd).
    before = run(items, until="2025-10-09T15:59:59")
    assert statuses(before) == {"rt": "PR89"}
    after = run(items, until="2025-10-09T16:00:00")
    assert [(i["status"], i["reason"]) for i in after["items"]] == [("PR32", "no_receipt")]
    assert after["bilateral"] == []


def agreement(
    agreement_id: str, kind: str, payer: str, payee: str | None, time: str
) -> dict[str, object]:
    """A registration event of a periodic-business agreement with ample limits."""
    return {
        "type": "agreement", "time": time, "id": agreement_id, "kind": kind,
        "payer_bank": payer, "payee_bank": payee, "item_limit": "100000.00",
        "period_limit": "1000000.00", "valid_from": "2025-01-01", "valid_to": "2026-12-31",
    }  # fmt: skip


def test_debit_receipts_before_and_after_their_deadline() -> None:
    # Sent 30 Sep with a deadline of 1 working day: due 9 Oct, expired from 16:00 that day.
    def debit(item_id: str, **extra: object) -> dict:
        fields = {"receipt_days": 1, **extra}
        return item(item_id, "2025-09-30T10:00:00", A, C, "10.00", kind="ordinary_debit", **fields)

    out = run(
        [
            debit("in_time", receipt={"time": "2025-10-09T15:59:59"}),
            debit("late", receipt={"time": "2025-10-09T16:00:00"}),
            debit("refused", receipt={"time": "2025-10-08T11:00:00", "outcome": "03"}),
            debit("silent"),
            debit("too_long", receipt_days=6),
            item(
                "periodic",
                "2025-10-09T10:00:00",
                A1,
                B,
                "7.00",
                kind="periodic_debit",
                receipt={"time": "2025-10-09T11:00:00"},
                agreement="AG-1",
            ),
        ],
        [
            {"type": "receipt", "time": "2025-10-01T09:00:00", "item": "silent", "bank": B},
            agreement("AG-1", "periodic_debit", A1, B, "2025-10-09T09:00:00"),
        ],
    )
    by_id = {i["id"]: (i["status"], i["reason"]) for i in out["items"]}
    assert by_id == {
        "in_time": ("PR04", None),
        "late": ("PR32", "no_receipt"),
        "refused": ("PR09", "refused_by_bank"),
        "silent": ("PR32", "no_receipt"),
        "too_long": ("PR09", "receipt_days"),
        "periodic": ("PR04", None),
    }
    assert ("receipt", "late", False, "receipt_late") in requests(out)
    assert ("receipt", "silent", False, "wrong_bank") in requests(out)
    assert netted_in(out)["in_time"] == ("2025-10-09", 3, "NPC")
    assert netted_in(out)["periodic"] == ("2025-10-09", 2, "CCPC-1000")
    assert bilateral(out) == {
        ("2025-10-09", 2, "CCPC-1000", A, B): "-7.00",
        ("2025-10-09", 3, "NPC", A, C): "-10.00",
    }


def test_packet_revocation_only_before_netting() -> None:
    items = [
        item("n1", "2025-10-09T10:00:00", A, B, "45000.00", packet="P0"),
        item("p1a", "2025-10-09T10:01:00", A, B, "10000.00", packet="P1"),  # queued
        item("p1b", "2025-10-09T10:01:00", A, B, "1000.00", packet="P1"),  # queued
        item("p2", "2025-10-09T10:02:00", A, B, "2000.00", packet="P2"),  # queued behind
        item("rt", "2025-10-09T10:02:00", A, C, "1.00", kind="real_time_credit", packet="P3"),
    ]
    events = [
        {"type": "revoke", "time": "2025-10-09T10:05:00", "packet": "P1", "bank": A},
        {"type": "revoke", "time": "2025-10-09T10:06:00", "packet": "P0", "bank": A},
        {"type": "revoke", "time": "2025-10-09T10:07:00", "packet": "P2", "bank": B},
        {"type": "revoke", "time": "2025-10-09T10:08:00", "packet": "PX"},
        {"type": "revoke", "time": "2025-10-09T10:09:00", "packet": "P3"},
    ]
    out = run(items, events, until="2025-10-09T11:00:00")
    assert statuses(out) == {"n1": "PR03", "p1a": "PR08", "p1b": "PR08", "p2": "PR03", "rt": "PR89"}
    assert requests(out) == [
        ("revoke", "P1", True, None),
        ("revoke", "P0", False, "already_netted"),
        ("revoke", "P2", False, "wrong_bank"),
        ("revoke", "PX", False, "unknown_packet"),
        ("revoke", "P3", False, "not_revocable"),
    ]
    assert bilateral(out) == {("2025-10-09", 2, "CCPC-1000", A, B): "-47000.00"}


def test_per_item_limit_at_and_just_above() -> None:
    out = run(
        [
            item("at", "2025-10-09T10:00:00", A, C, "50000.00"),
            item("above", "2025-10-09T10:01:00", A, C, "50000.01"),
            item(
                "periodic",
                "2025-10-09T10:02:00",
                C,
                A,
                "60000.00",
                kind="periodic_credit",
                agreement="AG-2",
            ),
        ],
        [agreement("AG-2", "periodic_credit", C, None, "2025-10-09T09:00:00")],
    )
    by_id = {i["id"]: (i["status"], i["reason"]) for i in out["items"]}
    assert by_id == {
        "at": ("PR04", None),
        "above": ("PR09", "limit_exceeded"),
        "periodic": ("PR04", None),  # no per-item limit on periodic credits
    }
    assert bilateral(out) == {("2025-10-09", 2, "NPC", A, C): "10000.00"}


def test_holiday_limit_override() -> None:
    config = {"holiday_limits": {"ordinary_credit": "1000000.00"}}
    out = run(
        [
            item("holiday", "2025-10-03T10:00:00", A, C, "50000.01"),
            item("working", "2025-10-09T10:00:00", A, C, "50000.01"),
        ],
        config=config,
    )
    assert statuses(out) == {"holiday": "PR04", "working": "PR09"}
    assert bilateral(out) == {("2025-10-03", 2, "NPC", A, C): "-50000.01"}


def test_return_of_a_netted_credit() -> None:
    items = [
        item("c1", "2025-10-09T10:00:00", A, C, "100.00"),
        item("c2", "2025-10-09T10:00:00", A, C, "200.00"),
    ]
    events = [
        {"type": "return", "time": "2025-10-10T10:00:00", "item": "c1", "id": "r1"},
        {"type": "return", "time": "2025-10-10T10:01:00", "item": "c1", "id": "r1b"},
        {"type": "return", "time": "2025-10-11T10:00:00", "item": "c2", "id": "r2"},
    ]
    out = run(items, events)
    assert [(r[1], r[2], r[3]) for r in requests(out)] == [
        ("c1", True, None),
        ("c1", False, "not_returnable"),
        ("c2", False, "return_late"),
    ]
    assert statuses(out) == {"c1": "PR04", "c2": "PR04", "r1": "PR04", "r1b": "PR09", "r2": "PR09"}
    assert bilateral(out) == {
        ("2025-10-09", 2, "NPC", A, C): "-300.00",
        ("2025-10-10", 2, "NPC", A, C): "100.00",
    }

"""The rules as data: the order state table, the 296号 limit grades, fees and fee refunds, ledger
ids and legs, and the error catalogue (every code documented in docs/errors.md)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhifu.barcode.api.errors import ERRORS, BarcodeError
from zhifu.barcode.platform.limits import (
    DAILY_LIMITS,
    allows,
    business_date,
    grade_for_factors,
    limit_for,
)
from zhifu.barcode.platform.orders import (
    EVENTS,
    REFUSALS,
    TRANSITIONS,
    OrderEvent,
    OrderStatus,
    allowed,
    transition,
)
from zhifu.barcode.platform.postings import (
    derive_id,
    fee_for,
    fee_refund_for,
    payment_legs,
    refund_legs,
)
from zhifu.core.clock import SHANGHAI
from zhifu.ledger import TransferFlags
from zhifu.ledger.model import ID_MAX

ROOT = Path(__file__).resolve().parents[3]

# --- the order state table -------------------------------------------------------------------


@pytest.mark.parametrize(("state", "event", "after"), [(*k, v) for k, v in TRANSITIONS.items()])
def test_transition_follows_the_table(
    state: OrderStatus | None, event: OrderEvent, after: OrderStatus
) -> None:
    assert transition(state, event) is after


def test_every_event_is_in_the_table() -> None:
    assert {event for _, event in TRANSITIONS} == set(OrderEvent) == EVENTS
    assert all(isinstance(event, OrderEvent) for _, event in TRANSITIONS)


def test_every_state_is_reachable_and_has_a_refusal() -> None:
    reached = {after for after in TRANSITIONS.values()}
    assert reached == set(OrderStatus)
    assert set(REFUSALS) == set(OrderStatus)
    assert all(code in ERRORS for code in REFUSALS.values())


@pytest.mark.parametrize(
    ("state", "event", "code"),
    [
        (OrderStatus.PAID, OrderEvent.CLOSE, "order_paid"),
        (OrderStatus.PAID, OrderEvent.PAY_START, "order_paid"),
        (OrderStatus.CLOSED, OrderEvent.PAY_START, "order_closed"),
        (OrderStatus.PAYING, OrderEvent.PAY_START, "order_in_progress"),
        (OrderStatus.CREATED, OrderEvent.REFUND_PART, "order_not_paid"),
        (OrderStatus.REFUNDED, OrderEvent.REFUND_PART, "order_paid"),
        (OrderStatus.FAILED, OrderEvent.PAY_START, "order_closed"),
        (None, OrderEvent.CLOSE, "order_not_found"),
    ],
)
def test_events_outside_the_table_are_refused_with_the_states_code(
    state: OrderStatus | None, event: OrderEvent, code: str
) -> None:
    assert not (state is not None and allowed(state, event))
    with pytest.raises(BarcodeError) as caught:
        transition(state, event)
    assert caught.value.code == code


def test_an_unknown_event_or_a_bare_string_is_a_bug() -> None:
    with pytest.raises(KeyError):
        transition(OrderStatus.CREATED, "teleport")  # type: ignore[arg-type]
    with pytest.raises(KeyError, match="OrderEvent"):
        transition(OrderStatus.CREATED, "close")  # type: ignore[arg-type]
    assert "teleport" not in EVENTS


def test_paid_states() -> None:
    assert {s for s in OrderStatus if s.paid} == {
        OrderStatus.PAID,
        OrderStatus.PARTIALLY_REFUNDED,
        OrderStatus.REFUNDED,
    }


# --- limits (银发〔2017〕296号, docs/standards/barcode.md §1.2)
# ----------------------------------------------


@pytest.mark.parametrize(
    ("grade", "fen"), [("D", 50_000), ("C", 100_000), ("B", 500_000)]
)  # 500 / 1,000 / 5,000 CNY
def test_daily_limits_of_296(grade: str, fen: int) -> None:
    assert limit_for(grade) == fen == DAILY_LIMITS[grade]


def test_grade_a_uses_the_agreed_limit() -> None:
    assert limit_for("A", agreed=2_000_000) == 2_000_000
    with pytest.raises(ValueError, match="agreed"):
        limit_for("A")


@pytest.mark.parametrize(
    ("factors", "static", "grade"),
    [
        ([], False, "C"),
        (["device"], False, "C"),
        (["password"], False, "C"),
        (["password", "password"], False, "C"),  # the same factor twice is one factor
        (["password", "fingerprint"], False, "B"),
        (["sms", "face"], False, "B"),
        (["password", "certificate"], False, "A"),
        (["certificate"], False, "C"),  # a certificate alone is one factor
        (["password", "fingerprint", "certificate"], True, "D"),  # static: always D
        ([], True, "D"),
    ],
)
def test_grade_for_factors(factors: list[str], static: bool, grade: str) -> None:
    assert grade_for_factors(factors, static=static) == grade


@pytest.mark.parametrize(
    ("used", "amount", "ok"),
    [
        (0, 50_000, True),
        (49_999, 1, True),
        (49_999, 2, False),
        (50_000, 1, False),
        (0, 50_001, False),
    ],
)
def test_exactly_at_the_limit_is_allowed(used: int, amount: int, ok: bool) -> None:
    assert allows(used, amount, 50_000) is ok


def test_business_date_is_the_shanghai_calendar_day() -> None:
    # 2026-11-25 16:30 UTC is 2026-11-26 00:30 in Shanghai
    assert business_date(datetime(2026, 11, 25, 16, 30, tzinfo=UTC)).isoformat() == "2026-11-26"
    late = datetime(2026, 11, 25, 23, 59, 59, tzinfo=SHANGHAI)
    assert business_date(late).isoformat() == "2026-11-25"
    assert business_date(late + timedelta(seconds=1)).isoformat() == "2026-11-26"
    with pytest.raises(ValueError, match="aware"):
        business_date(datetime(2026, 11, 25))


# --- fees and ledger legs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "bp", "fee"),
    [(1234, 38, 5), (100, 38, 0), (132, 38, 1), (131, 38, 0), (10_000, 60, 60), (1, 0, 0)],
)
def test_fee_rounds_half_up(amount: int, bp: int, fee: int) -> None:
    assert fee_for(amount, bp) == fee


@settings(max_examples=200)
@given(
    amount=st.integers(1, 10**9),
    bp=st.integers(0, 300),
    cuts=st.lists(st.integers(1, 10**9), max_size=8),
)
def test_fee_refunds_of_partial_refunds_add_up_to_the_fee(
    amount: int, bp: int, cuts: list[int]
) -> None:
    fee = fee_for(amount, bp)
    refunded, given_back = 0, 0
    for cut in cuts:
        part = min(cut, amount - refunded)
        if part == 0:
            break
        share = fee_refund_for(fee=fee, amount=amount, refunded_before=refunded, refund=part)
        assert 0 <= share <= fee
        refunded, given_back = refunded + part, given_back + share
    rest = amount - refunded
    if rest:
        given_back += fee_refund_for(fee=fee, amount=amount, refunded_before=refunded, refund=rest)
    assert given_back == fee


def test_derived_ids_are_stable_and_in_range() -> None:
    a = derive_id("zhifu", "pay", "P1", "principal")
    assert a == derive_id("zhifu", "pay", "P1", "principal")
    assert a != derive_id("zhifu", "pay", "P2", "principal")
    assert 0 < a < ID_MAX


def _net(legs: tuple[object, ...]) -> int:
    total = 0
    for leg in legs:
        for t in leg.transfers:  # type: ignore[attr-defined]
            total += t.amount
    return total


def test_same_institution_payment_is_one_linked_chain() -> None:
    (leg,) = payment_legs(
        "P1",
        issuer="zhifu",
        acquirer="zhifu",
        account_id="A1",
        merchant_id="M1",
        amount=1234,
        fee=5,
    )
    assert leg.institution == "zhifu"
    first, second = leg.transfers
    assert first.flags == TransferFlags.LINKED and second.flags == TransferFlags.NONE
    assert (first.amount, second.amount) == (1234, 5)
    assert first.credit_account_id == second.debit_account_id  # merchant pays the fee


def test_cross_institution_payment_has_an_issuer_and_an_acquirer_leg() -> None:
    legs = payment_legs(
        "P1",
        issuer="huanyu",
        acquirer="zhifu",
        account_id="A1",
        merchant_id="M1",
        amount=1234,
        fee=5,
    )
    assert [leg.institution for leg in legs] == ["huanyu", "zhifu"]
    assert [t.amount for t in legs[0].transfers] == [1234]
    assert [t.amount for t in legs[1].transfers] == [1234, 5]


def test_a_zero_fee_leaves_no_fee_transfer() -> None:
    (leg,) = payment_legs(
        "P1",
        issuer="zhifu",
        acquirer="zhifu",
        account_id="A1",
        merchant_id="M1",
        amount=100,
        fee=0,
    )
    assert len(leg.transfers) == 1 and leg.transfers[0].flags == TransferFlags.NONE


def test_refund_legs_start_at_the_acquirer() -> None:
    legs = refund_legs(
        "R1",
        issuer="qingniao",
        acquirer="zhifu",
        account_id="A1",
        merchant_id="M1",
        amount=617,
        fee_refund=2,
    )
    assert [leg.institution for leg in legs] == ["zhifu", "qingniao"]
    assert [t.amount for t in legs[0].transfers] == [2, 617]
    assert _net(legs) == 2 + 617 + 617


# --- the error catalogue ---------------------------------------------------------------------


def test_every_error_code_is_documented_and_has_a_status() -> None:
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^## (\w+)$", text, re.MULTILINE))
    missing = sorted(set(ERRORS) - headings)
    assert missing == []
    assert all(400 <= status < 500 for status, _ in ERRORS.values())


def test_each_replay_refusal_has_its_own_code() -> None:
    codes = [
        "auth_code_used",
        "auth_code_expired",
        "nonce_reused",
        "timestamp_stale",
        "signature_invalid",
        "limit_exceeded",
    ]
    assert len(set(codes)) == len(codes) and set(codes) <= set(ERRORS)


def test_an_unknown_error_code_is_a_bug() -> None:
    with pytest.raises(KeyError):
        BarcodeError("no_such_code")

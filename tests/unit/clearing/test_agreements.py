"""Agreements for periodic business: limits per item and per period, validity, release."""

from __future__ import annotations

from datetime import date

import pytest

from zhifu.clearing.agreements import Agreement, AgreementBook
from zhifu.clearing.codes import BusinessType, Reason
from zhifu.clearing.model import Item
from zhifu.core.errors import UsageError

A, B, C = "102100099996", "103290000002", "104581000003"
PC, PD = BusinessType.PERIODIC_CREDIT, BusinessType.PERIODIC_DEBIT
DAY = date(2025, 10, 9)


def deal(period: str = "day", **changes: object) -> Agreement:
    fields: dict[str, object] = {
        "agreement_id": "AG", "business_type": PD, "payer_bank": A, "payee_bank": B,
        "item_limit": 100_00, "period": period, "period_limit": 150_00,
        "valid_from": date(2025, 10, 1), "valid_to": date(2025, 10, 31),
    }  # fmt: skip
    fields.update(changes)
    return Agreement(**fields)  # type: ignore[arg-type]


def debit(item_id: str, fen: int, **changes: object) -> Item:
    fields: dict[str, object] = {"payer_bank": A, "payee_bank": B, "agreement": "AG"}
    fields.update(changes)
    return Item(item_id, PD, amount=fen, **fields)  # type: ignore[arg-type]


def test_a_day_period_starts_again_the_next_day_and_a_month_does_not() -> None:
    for period, next_day in (("day", None), ("month", Reason.AGREEMENT_PERIOD_LIMIT)):
        book = AgreementBook()
        book.register(deal(period))
        book.use(debit("D1", 100_00), DAY)
        assert book.reason(debit("D2", 60_00), DAY) is Reason.AGREEMENT_PERIOD_LIMIT
        assert book.reason(debit("D2", 60_00), date(2025, 10, 10)) is next_day
        assert book.reason(debit("D2", 50_00), DAY) is None  # exactly the limit is allowed


def test_what_an_item_used_comes_back_once() -> None:
    book = AgreementBook()
    book.register(deal())
    book.use(debit("D1", 100_00), DAY)
    book.release("D1")
    book.release("D1")
    assert book.used[("AG", DAY.isoformat())] == 0


@pytest.mark.parametrize(
    ("item", "day", "reason"),
    [
        (debit("X", 10_00, agreement=None), DAY, Reason.NO_AGREEMENT),
        (debit("X", 10_00, agreement="NOPE"), DAY, Reason.NO_AGREEMENT),
        (debit("X", 10_00, payer_bank=C), DAY, Reason.AGREEMENT_MISMATCH),
        (debit("X", 10_00, payee_bank=C), DAY, Reason.AGREEMENT_MISMATCH),
        (Item("X", PC, A, B, 10_00, agreement="AG"), DAY, Reason.AGREEMENT_MISMATCH),
        (debit("X", 10_00), date(2025, 9, 30), Reason.AGREEMENT_EXPIRED),
        (debit("X", 10_00), date(2025, 11, 1), Reason.AGREEMENT_EXPIRED),
        (debit("X", 100_01), DAY, Reason.AGREEMENT_ITEM_LIMIT),
        (debit("X", 100_00), date(2025, 10, 31), None),
    ],
)
def test_the_checks(item: Item, day: date, reason: Reason | None) -> None:
    book = AgreementBook()
    book.register(deal())
    assert book.reason(item, day) is reason


def test_revocation_ends_it_today_and_only_by_the_payer_bank() -> None:
    book = AgreementBook()
    book.register(deal())
    assert book.register(deal()) is Reason.DUPLICATE_ID
    assert book.revoke("AG", B, DAY) is Reason.WRONG_BANK
    assert book.revoke("NOPE", A, DAY) is Reason.NO_AGREEMENT
    assert book.revoke("AG", A, DAY) is None
    assert book.reason(debit("X", 1_00), DAY) is None
    assert book.reason(debit("X", 1_00), date(2025, 10, 10)) is Reason.AGREEMENT_EXPIRED


@pytest.mark.parametrize(
    ("changes", "argument"),
    [
        ({"business_type": BusinessType.ORDINARY_DEBIT}, "business_type"),
        ({"payee_bank": None}, "payee_bank"),
        ({"period": "week"}, "period"),
        ({"item_limit": 0}, "item_limit"),
        ({"period_limit": -1}, "period_limit"),
        ({"valid_to": date(2025, 9, 1)}, "valid_to"),
        ({"agreement_id": ""}, "agreement_id"),
    ],
)
def test_a_bad_agreement_is_refused_naming_the_field(
    changes: dict[str, object], argument: str
) -> None:
    with pytest.raises(UsageError) as caught:
        deal(**changes)
    assert caught.value.argument == argument

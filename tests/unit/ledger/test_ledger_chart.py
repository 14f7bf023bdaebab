"""The chart of accounts as a table (docs/standards/style.md habit 1: a test that checks the table
itself)."""

from __future__ import annotations

import re

from zhifu.ledger import Account, AccountFlags, Ledger
from zhifu.ledger.chart import BY_CODE, BY_KEY, CHART, LEDGER_CNY, Kind, Side

CJK = re.compile(r"[\u4e00-\u9fff]")
# First-level accounts of the national chart for financial enterprises used by the chart.
FIRST_LEVEL = {1003, 1011, 1221, 1303, 2011, 2241, 3001, 6021, 6421}
REQUIRED = {
    "customer_deposits", "card_ecash_pool", "merchant_settlement", "acquirer_clearing",
    "issuer_clearing", "pboc_reserve", "reserve_funds_custody", "customer_reserve_funds",
    "fee_income_acquiring", "suspense_debit", "suspense_credit",
}  # fmt: skip


def test_codes_and_keys_are_unique_and_fit_a_transfer_code() -> None:
    assert len(BY_CODE) == len(CHART) and len(BY_KEY) == len(CHART)
    assert all(0 < e.code < 1 << 16 for e in CHART)
    assert [e.code for e in CHART] == sorted(e.code for e in CHART)


def test_every_part_of_the_system_has_its_account() -> None:
    assert set(BY_KEY) >= REQUIRED
    assert {e.first_level for e in CHART} == FIRST_LEVEL


def test_names_and_sides() -> None:
    for e in CHART:
        assert CJK.search(e.name_zh) and e.name_en and e.key.isidentifier()
        assert e.kind in Kind
        if e.kind is Kind.ASSET:
            assert e.side is Side.DEBIT
        if e.kind is Kind.LIABILITY:
            assert e.side is Side.CREDIT
        if e.side is Side.CREDIT and e.flags:
            assert e.flags == AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
        if e.side is Side.DEBIT and e.flags:
            assert e.flags == AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
        assert e.settles_to_zero == (e.kind is Kind.CLEARING or "suspense" in e.key)


def test_every_chart_account_opens_in_the_ledger() -> None:
    with Ledger.open("sqlite://") as ledger:
        accounts = [Account(i + 1, LEDGER_CNY, e.code, e.flags) for i, e in enumerate(CHART)]
        assert {r.name for r in ledger.create_accounts(accounts)} == {"OK"}

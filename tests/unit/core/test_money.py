from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhifu.core import CNY, Currency, CurrencyMismatchError, Money
from zhifu.core.errors import UsageError
from zhifu.core.money import ISO_4217

USD = Currency.of("USD")
JPY = Currency.of("JPY")


def test_iso_4217_table_is_consistent() -> None:
    codes = [c.code for c in ISO_4217]
    numerics = [c.numeric for c in ISO_4217]
    assert len(set(codes)) == len(codes)
    assert len(set(numerics)) == len(numerics)
    for c in ISO_4217:
        assert len(c.code) == 3 and c.code.isalpha() and c.code.isupper()
        assert len(c.numeric) == 3 and c.numeric.isdigit()
        assert c.exponent in (0, 2, 3)
    assert CNY.numeric == "156" and CNY.exponent == 2


def test_currency_lookup_by_alpha_and_numeric() -> None:
    assert Currency.of("cny") is CNY
    assert Currency.of("156") is CNY
    with pytest.raises(UsageError, match="currency"):
        Currency.of("XXX")


def test_money_refuses_floats_and_bools() -> None:
    with pytest.raises(UsageError):
        Money(12.34, CNY)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        Money(True, CNY)


def test_arithmetic_refuses_mixed_currencies() -> None:
    with pytest.raises(CurrencyMismatchError):
        Money(1, CNY) + Money(1, USD)
    with pytest.raises(CurrencyMismatchError):
        Money(1, CNY) - Money(1, USD)
    with pytest.raises(CurrencyMismatchError):
        _ = Money(1, CNY) < Money(1, USD)


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("0", CNY, 0),
        ("0.01", CNY, 1),
        ("12.3", CNY, 1230),
        ("50000.00", CNY, 5_000_000),
        ("-7.05", CNY, -705),
        ("1234", JPY, 1234),
    ],
)
def test_parse(text: str, currency: Currency, minor: int) -> None:
    assert Money.parse(text, currency) == Money(minor, currency)


@pytest.mark.parametrize("text", ["1.234", "1e3", "", "abc", "1,00", "0x10"])
def test_parse_refuses_inexact_or_malformed(text: str) -> None:
    with pytest.raises(UsageError):
        Money.parse(text, CNY)


def test_jpy_has_no_decimals() -> None:
    with pytest.raises(UsageError):
        Money.parse("1.5", JPY)
    assert Money(1500, JPY).format() == "1500"


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_format_parse_round_trip(minor: int) -> None:
    money = Money(minor, CNY)
    assert Money.parse(money.format(), CNY) == money


@given(st.integers(-(10**12), 10**12), st.integers(-(10**12), 10**12))
def test_addition_is_exact(a: int, b: int) -> None:
    assert (Money(a) + Money(b)).minor == a + b
    assert (Money(a) - Money(b)) + Money(b) == Money(a)

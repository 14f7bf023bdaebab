"""Money as an integer number of minor units (fen) with its currency.

Floats never enter: amounts are ``int`` and formatting happens only at the edges.

>>> a = Money(1234, CNY)
>>> a + Money(66, CNY)
Money(1300, 'CNY')
>>> str(a)
'12.34 CNY'
>>> Money.parse("50000.00", CNY).minor
5000000
>>> a + Money(1, Currency.of("USD"))
Traceback (most recent call last):
...
zhifu.core.money.CurrencyMismatchError: cannot combine CNY and USD amounts
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from zhifu.core.errors import UsageError, ZhifuError


@dataclass(frozen=True, slots=True)
class Currency:
    """An ISO 4217 currency: alphabetic code, numeric code and minor-unit exponent."""

    code: str
    numeric: str
    exponent: int

    @staticmethod
    def of(code: str) -> Currency:
        """Look a currency up by its alphabetic or numeric ISO 4217 code."""
        found = _BY_CODE.get(code.upper()) or _BY_NUMERIC.get(code)
        if found is None:
            raise UsageError(f"unknown ISO 4217 currency {code!r}", argument="currency")
        return found

    def __str__(self) -> str:
        return self.code


# ISO 4217 currencies zhifu meets in mainland and cross-border payments.
ISO_4217: Final[tuple[Currency, ...]] = (
    Currency("CNY", "156", 2),
    Currency("HKD", "344", 2),
    Currency("MOP", "446", 2),
    Currency("TWD", "901", 2),
    Currency("USD", "840", 2),
    Currency("EUR", "978", 2),
    Currency("GBP", "826", 2),
    Currency("JPY", "392", 0),
    Currency("KRW", "410", 0),
    Currency("SGD", "702", 2),
)
_BY_CODE: Final = {c.code: c for c in ISO_4217}
_BY_NUMERIC: Final = {c.numeric: c for c in ISO_4217}

CNY: Final = _BY_CODE["CNY"]


class CurrencyMismatchError(ZhifuError, ValueError):
    """Two amounts of different currencies were combined."""


_DECIMAL = re.compile(r"(-?)(\d+)(?:\.(\d+))?")


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount in integer minor units of one currency."""

    minor: int
    currency: Currency = CNY

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise UsageError("money is an integer number of minor units", argument="minor")

    @classmethod
    def parse(cls, text: str, currency: Currency = CNY) -> Money:
        """Parse a decimal string such as ``"12.34"`` exactly, refusing extra precision."""
        match = _DECIMAL.fullmatch(text.strip())
        if match is None:
            raise UsageError(f"not a decimal amount: {text!r}", argument="amount")
        sign, whole, frac = match.groups()
        frac = frac or ""
        if len(frac) > currency.exponent:
            raise UsageError(
                f"{currency.code} has {currency.exponent} decimal places", argument="amount"
            )
        minor = int(whole) * 10**currency.exponent + int(frac.ljust(currency.exponent, "0") or 0)
        return cls(-minor if sign else minor, currency)

    def _check(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatchError(
                f"cannot combine {self.currency.code} and {other.currency.code} amounts"
            )

    def __add__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._check(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._check(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._check(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._check(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._check(other)
        return self.minor >= other.minor

    def __bool__(self) -> bool:
        return self.minor != 0

    def format(self) -> str:
        """The amount as a decimal string, e.g. ``'12.34'``."""
        exp = self.currency.exponent
        sign = "-" if self.minor < 0 else ""
        whole, frac = divmod(abs(self.minor), 10**exp)
        return f"{sign}{whole}.{frac:0{exp}d}" if exp else f"{sign}{whole}"

    def __str__(self) -> str:
        return f"{self.format()} {self.currency.code}"

    def __repr__(self) -> str:
        return f"Money({self.minor}, {self.currency.code!r})"

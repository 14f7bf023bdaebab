"""Shared kernel: money, errors, clock and randomness. Imports the standard library only."""

from zhifu.core.clock import Clock, FixedClock, SystemClock
from zhifu.core.errors import DecodeError, EncodeError, ZhifuError
from zhifu.core.money import CNY, Currency, CurrencyMismatchError, Money
from zhifu.core.rng import SeededRandom, SystemRandomSource

__all__ = [
    "CNY",
    "Clock",
    "Currency",
    "CurrencyMismatchError",
    "DecodeError",
    "EncodeError",
    "FixedClock",
    "Money",
    "SeededRandom",
    "SystemClock",
    "SystemRandomSource",
    "ZhifuError",
]

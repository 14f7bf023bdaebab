"""The configurable rules of a clearing system: rounds, per-item limits, receipt deadlines.

Amounts in a configuration mapping are decimal yuan strings (``"50000.00"``) or ``null`` (no
limit); they become integer fen here.

>>> config = ClearingConfig.from_mapping({"limits": {"ordinary_credit": "20000.00"},
...     "holiday_limits": {"ordinary_credit": "1000000.00"}})
>>> config.limit_for(BusinessType.ORDINARY_CREDIT, working_day=True)
2000000
>>> config.limit_for(BusinessType.ORDINARY_CREDIT, working_day=False)
100000000
>>> config.limit_for(BusinessType.ORDINARY_CREDIT, working_day=None)  # day not known yet
2000000
>>> config.limit_for(BusinessType.REAL_TIME_CREDIT, working_day=True) is None
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zhifu.clearing.codes import BUSINESS, BusinessType
from zhifu.clearing.rounds import RoundSchedule
from zhifu.core.errors import UsageError
from zhifu.core.money import Money

_KEYS = {
    "rounds",
    "settlement_time",
    "limits",
    "holiday_limits",
    "receipt_days",
    "receipt_days_max",
    "return_working_days",
    "calendar",
    "gridlock_at_close",
}


def _default_limits() -> dict[BusinessType, int | None]:
    return {b: spec.limit_minor for b, spec in BUSINESS.items()}


def parse_yuan(text: object, argument: str) -> int:
    """A decimal yuan string as fen (``"12.34"`` -> 1234)."""
    if not isinstance(text, str):
        raise UsageError('amounts are decimal strings such as "12.34"', argument=argument)
    try:
        return Money.parse(text).minor
    except UsageError as exc:
        raise UsageError(exc.message, argument=argument) from None


def format_yuan(minor: int) -> str:
    """Fen as a decimal yuan string (1234 -> ``"12.34"``)."""
    return Money(minor).format()


def _limits(raw: object, argument: str) -> dict[BusinessType, int | None]:
    if not isinstance(raw, Mapping):
        raise UsageError("limits map business types to amounts", argument=argument)
    out: dict[BusinessType, int | None] = {}
    for key, value in raw.items():
        try:
            business = BusinessType(key)
        except ValueError:
            raise UsageError(f"unknown business type {key!r}", argument=argument) from None
        out[business] = None if value is None else parse_yuan(value, argument)
    return out


@dataclass(frozen=True)
class ClearingConfig:
    """Round schedule, per-item limits (working day and holiday), receipt deadlines."""

    schedule: RoundSchedule = field(default_factory=RoundSchedule)
    limits: Mapping[BusinessType, int | None] = field(default_factory=_default_limits)
    holiday_limits: Mapping[BusinessType, int | None] = field(default_factory=dict)
    receipt_days: int = 2  # default receipt deadline of debits, in working days
    receipt_days_max: int = 5  # the largest a sender may ask for
    return_working_days: int = 1  # a netted item may be returned until this working day
    calendar_file: str | None = None
    gridlock_at_close: bool = True  # resolve gridlocked queues before each round closes

    def __post_init__(self) -> None:
        if not 0 <= self.receipt_days <= self.receipt_days_max:
            raise UsageError("need 0 <= receipt_days <= receipt_days_max", argument="receipt_days")
        if self.return_working_days < 0:
            raise UsageError("must be >= 0", argument="return_working_days")

    def limit_for(self, business: BusinessType, *, working_day: bool | None) -> int | None:
        """The inclusive per-item limit in fen (None: no limit) on a working day or holiday.

        ``working_day=None`` (a date of a year the calendar has no data for) gives the stricter
        of the two, the limit that holds whichever the day turns out to be.
        """
        if working_day is None:
            found = [self.limit_for(business, working_day=w) for w in (True, False)]
            limits = [f for f in found if f is not None]
            return min(limits) if limits else None
        if not working_day and business in self.holiday_limits:
            return self.holiday_limits[business]
        return self.limits.get(business)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ClearingConfig:
        """Overrides from a scenario's ``config`` object (see ``docs/clearing.md``)."""
        unknown = set(data) - _KEYS
        if unknown:
            raise UsageError(f"unknown config keys {sorted(unknown)}", argument="config")
        schedule = RoundSchedule.parse(
            data.get("rounds", ["09:00", "12:00", "16:00"]), data.get("settlement_time", "08:30")
        )
        limits = _default_limits()
        limits.update(_limits(data.get("limits", {}), "limits"))
        return cls(
            schedule=schedule,
            limits=limits,
            holiday_limits=_limits(data.get("holiday_limits", {}), "holiday_limits"),
            receipt_days=_int(data, "receipt_days", 2),
            receipt_days_max=_int(data, "receipt_days_max", 5),
            return_working_days=_int(data, "return_working_days", 1),
            calendar_file=data.get("calendar"),
            gridlock_at_close=_bool(data, "gridlock_at_close", True),
        )

    def to_mapping(self) -> dict[str, Any]:
        """The inverse of :meth:`from_mapping`."""

        def yuan(limits: Mapping[BusinessType, int | None]) -> dict[str, str | None]:
            return {b.value: None if v is None else format_yuan(v) for b, v in limits.items()}

        return {
            "rounds": [c.strftime("%H:%M:%S") for c in self.schedule.closes],
            "settlement_time": self.schedule.settlement_time.strftime("%H:%M:%S"),
            "limits": yuan(self.limits),
            "holiday_limits": yuan(self.holiday_limits),
            "receipt_days": self.receipt_days,
            "receipt_days_max": self.receipt_days_max,
            "return_working_days": self.return_working_days,
            **({"calendar": self.calendar_file} if self.calendar_file else {}),
            **({} if self.gridlock_at_close else {"gridlock_at_close": False}),
        }


def _int(data: Mapping[str, Any], key: str, default: int) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise UsageError("must be an integer", argument=key)
    return value


def _bool(data: Mapping[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise UsageError("must be true or false", argument=key)
    return value

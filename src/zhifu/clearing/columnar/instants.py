"""Column arithmetic of BEPS time: instants as integer microseconds, dates as day numbers.

Asia/Shanghai has been UTC+8 without daylight saving since 1991, so local time is a fixed
offset; every function here is exact integer arithmetic.

>>> from zhifu.clearing.config import ClearingConfig
>>> t = to_us(datetime(2025, 9, 30, 16, 0, tzinfo=SHANGHAI))
>>> at = np.array([t - 1, t], dtype=np.int64)
>>> [to_date(d).isoformat() for d in beps_days(at, ClearingConfig())]
['2025-09-30', '2025-10-01']
>>> rounds_of(at, ClearingConfig()).tolist()
[3, 1]
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt

from zhifu.clearing.config import ClearingConfig
from zhifu.core.clock import SHANGHAI

I64 = npt.NDArray[np.int64]
BOOL = npt.NDArray[np.bool_]
US: Final = 1_000_000
HOUR_US: Final = 3600 * US
DAY_US: Final = 24 * HOUR_US
LOCAL_US: Final = 8 * HOUR_US  # Asia/Shanghai is UTC+8, no daylight saving
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()


def to_us(instant: datetime) -> int:
    """Microseconds since the Unix epoch (exact integer)."""
    return (instant - EPOCH) // timedelta(microseconds=1)


def from_us(value: int) -> datetime:
    return (EPOCH + timedelta(microseconds=int(value))).astimezone(SHANGHAI)


def to_date(day: int) -> date:
    """A day number (days since 1970-01-01) as a date."""
    return date.fromordinal(EPOCH_ORDINAL + int(day))


def day_number(day: date) -> int:
    return day.toordinal() - EPOCH_ORDINAL


def beps_days(t_us: I64, config: ClearingConfig) -> I64:
    return (t_us + LOCAL_US + (DAY_US - _cutoff_us(config))) // DAY_US


def _cutoff_us(config: ClearingConfig) -> int:
    c = config.schedule.cutoff
    return (c.hour * 3600 + c.minute * 60 + c.second) * US


def rounds_of(t_us: I64, config: ClearingConfig) -> I64:
    offset = (t_us + LOCAL_US - _cutoff_us(config)) % DAY_US
    closes = np.array(config.schedule.offsets, dtype=np.int64) * US
    return 1 + np.searchsorted(closes, offset, side="right").astype(np.int64)


def day_start_us(days: I64, config: ClearingConfig) -> I64:
    """The instant each BEPS date begins (16:00 the day before)."""
    return (days - 1) * DAY_US + _cutoff_us(config) - LOCAL_US


def per_day(days: I64, fn: Callable[[date], int]) -> I64:
    """Apply a calendar function once per distinct date of a small range."""
    if len(days) == 0:
        return np.zeros(0, dtype=np.int64)
    first, last = int(days.min()), int(days.max())
    table = np.array([fn(to_date(d)) for d in range(first, last + 1)], dtype=np.int64)
    return table[days - first]

"""An injectable clock, so that every business rule can be tested at any instant.

Business rules run in Asia/Shanghai time (the project's decision).

>>> from datetime import datetime
>>> clock = FixedClock(datetime(2026, 11, 25, 16, 0, tzinfo=SHANGHAI))
>>> clock.now().hour
16
>>> clock.advance(seconds=90); clock.now().minute
1
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Final, Protocol
from zoneinfo import ZoneInfo

from zhifu.core.errors import UsageError

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    """Where the current time comes from."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in Asia/Shanghai."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(SHANGHAI)

    def monotonic(self) -> float:
        return time.monotonic()


class FixedClock:
    """A clock that only moves when told to (tests, simulations, replays)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise UsageError("the start time must be timezone-aware", argument="start")
        self._now = start.astimezone(SHANGHAI)
        self._mono = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        if seconds < 0:
            raise UsageError("a clock never goes backwards", argument="seconds")
        self._now += timedelta(seconds=seconds)
        self._mono += seconds

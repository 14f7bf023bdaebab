"""Who may hold a connection to the acquirer, and logs that a flood cannot flood.

:class:`ConnectionLimits` admits a new connection unless the host already holds
``max_connections`` in all or ``max_connections_per_address`` from the connection's source
address: one address opening sockets by the thousand takes its own share, never every
terminal's. The server closes a refused connection at once and counts it.

:class:`ThrottledLog` writes at most one line per kind of event and interval; the next line
of that kind says how many were left out meanwhile. A refused connection and a connection
closed for saying nothing are such events.

>>> limits = ConnectionLimits(total=3, per_address=2)
>>> [limits.admit("10.0.0.1") for _ in range(3)]
[None, None, <Refusal.ADDRESS: 'per-address limit'>]
>>> limits.admit("10.0.0.2"), limits.admit("10.0.0.3")
(None, <Refusal.FULL: 'connection limit'>)
>>> limits.release("10.0.0.1")
>>> limits.admit("10.0.0.3"), limits.open, limits.from_address("10.0.0.1")
(None, 3, 1)
"""

from __future__ import annotations

import enum
import logging
import time
from collections import Counter
from collections.abc import Callable

__all__ = ["ConnectionLimits", "Refusal", "ThrottledLog"]

LOG_INTERVAL_SECONDS = 10.0


class Refusal(enum.Enum):
    """Why a new connection was refused."""

    FULL = "connection limit"
    ADDRESS = "per-address limit"


class ConnectionLimits:
    """Open connections in all and per source address, against their caps."""

    def __init__(self, *, total: int, per_address: int) -> None:
        self.total = total
        self.per_address = per_address
        self._by_address: Counter[str] = Counter()

    @property
    def open(self) -> int:
        """Connections admitted and not yet released."""
        return self._by_address.total()

    def from_address(self, address: str) -> int:
        """Open connections from ``address``."""
        return self._by_address[address]

    def admit(self, address: str) -> Refusal | None:
        """Count a new connection from ``address`` in, or say why it is refused."""
        if self.open >= self.total:
            return Refusal.FULL
        if self._by_address[address] >= self.per_address:
            return Refusal.ADDRESS
        self._by_address[address] += 1
        return None

    def release(self, address: str) -> None:
        """Count an admitted connection out."""
        self._by_address[address] -= 1
        if self._by_address[address] <= 0:
            del self._by_address[address]


class ThrottledLog:
    """At most one log line per ``key`` and ``interval`` seconds; the rest are counted.

    >>> ticks = iter([0.0, 1.0, 2.0, 12.0])
    >>> lines = []
    >>> log = ThrottledLog(lambda text: lines.append(text), interval=10.0,
    ...                    clock=lambda: next(ticks))
    >>> for n in range(4):
    ...     log.emit("refused", f"connection {n} refused")
    >>> lines
    ['connection 0 refused', 'connection 3 refused (2 more like this in the last 12s)']
    """

    def __init__(
        self,
        write: Callable[[str], None],
        *,
        interval: float = LOG_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self._interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}
        self._left_out: Counter[str] = Counter()

    @classmethod
    def of(cls, logger: logging.Logger, level: int = logging.WARNING) -> ThrottledLog:
        """Lines written to ``logger`` at ``level``."""
        return cls(lambda text: logger.log(level, "%s", text))

    def emit(self, key: str, text: str) -> None:
        """Write ``text`` unless a line of ``key`` was written less than an interval ago."""
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._interval:
            self._left_out[key] += 1
            return
        left_out = self._left_out.pop(key, 0)
        if left_out and last is not None:
            text += f" ({left_out} more like this in the last {now - last:.0f}s)"
        self._last[key] = now
        self._write(text)

"""The simulated network: a seeded plan for every message, and the queue of what happens next.

Time is virtual (integer milliseconds). When a party sends a message, :meth:`Network.plan`
draws its fate from the world's ``random.Random``: lost (no delivery), delivered once after a
short delay, delivered late (after the terminal's timeout, so it overtakes nothing but is
overtaken by what the terminal sends next: a reordering), or delivered twice (the copy at a
later time). Nothing else decides a delivery, so one seed gives one schedule.

>>> import random
>>> faults = Faults(drop=0.3, duplicate=0.3, late=0.3)
>>> one, two = Network(random.Random(7), faults), Network(random.Random(7), faults)
>>> [one.plan(0) for _ in range(50)] == [two.plan(0) for _ in range(50)]
True
>>> Network(random.Random(1), Faults.none()).plan(100)
[117]

The queue pops events by time, then by the order they were pushed:

>>> queue = EventQueue()
>>> queue.push(20, "b"); queue.push(10, "a"); queue.push(20, "c")
>>> [queue.pop() for _ in range(3)]
[(10, 'a'), (20, 'b'), (20, 'c')]
"""

from __future__ import annotations

import dataclasses
import heapq
import random
from typing import Final, Generic, TypeVar

from zhifu.core.errors import UsageError

__all__ = ["TIMEOUT_MS", "EventQueue", "Faults", "Network"]

TIMEOUT_MS: Final = 1_000
"""How long a terminal waits for an answer (virtual milliseconds)."""
_FAST: Final = (1, 40)
"""The delay of an ordinary delivery, in milliseconds (inclusive bounds)."""
_LATE: Final = (TIMEOUT_MS + 1, 4 * TIMEOUT_MS)
"""The delay of a late delivery: after the sender gave up waiting."""
_FAULT_NAMES: Final = ("drop", "duplicate", "late", "crash", "disk")

E = TypeVar("E")


@dataclasses.dataclass(frozen=True)
class Faults:
    """How often each fault strikes: probabilities per message (network) or per frame the host
    handles (``crash`` at a named point, ``disk`` error at a named write).

    >>> Faults.parse("drop=0.1,crash=0").drop, Faults.parse("none") == Faults.none()
    (0.1, True)
    >>> Faults.parse("spill=1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    zhifu.core.errors.UsageError: --faults: unknown fault 'spill' (drop, duplicate, ...)
    """

    drop: float = 0.04
    duplicate: float = 0.06
    late: float = 0.04
    crash: float = 0.02
    disk: float = 0.02

    @classmethod
    def none(cls) -> Faults:
        """A healed world: every message delivered once, no crash, no disk error."""
        return cls(0.0, 0.0, 0.0, 0.0, 0.0)

    @classmethod
    def parse(cls, text: str) -> Faults:
        """``default``, ``none`` or ``name=probability,...`` over the defaults."""
        text = text.strip()
        if text in ("", "default"):
            return cls()
        if text == "none":
            return cls.none()
        values: dict[str, float] = {}
        for part in text.split(","):
            name, _, number = part.partition("=")
            name = name.strip()
            if name not in _FAULT_NAMES:
                known = ", ".join(_FAULT_NAMES)
                raise UsageError(f"unknown fault {name!r} ({known})", argument="--faults")
            try:
                value = float(number)  # a probability, not money
            except ValueError:
                raise UsageError(
                    f"{name}: a probability from 0 to 1", argument="--faults"
                ) from None
            if not 0.0 <= value <= 1.0:
                raise UsageError(f"{name}: a probability from 0 to 1", argument="--faults")
            values[name] = value
        return dataclasses.replace(cls(), **values)

    def text(self) -> str:
        """The ``--faults`` spelling of these faults."""
        return ",".join(f"{name}={getattr(self, name):g}" for name in _FAULT_NAMES)


class Network:
    """Draws each message's deliveries from the world's random source."""

    def __init__(self, rng: random.Random, faults: Faults) -> None:
        self.rng = rng
        self.faults = faults

    def plan(self, now: int) -> list[int]:
        """The times ``now + delay`` at which a message sent at ``now`` arrives (none: lost).

        Every call draws the same number of values whatever the outcome, so that a change
        of one probability does not shift the rest of the schedule more than it must.
        """
        draw = self.rng.random
        lost, twice, late = draw(), draw(), draw()
        fast = self.rng.randint(*_FAST)
        slow = self.rng.randint(*_LATE)
        copy = self.rng.randint(_FAST[0], _LATE[1])
        if lost < self.faults.drop:
            return []
        first = now + (slow if late < self.faults.late else fast)
        if twice < self.faults.duplicate:
            return [first, first + copy]
        return [first]


class EventQueue(Generic[E]):
    """Events by time, ties in the order they were pushed."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, E]] = []
        self._pushed = 0

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, at: int, event: E) -> None:
        """Add ``event`` at time ``at``."""
        heapq.heappush(self._heap, (at, self._pushed, event))
        self._pushed += 1

    def pop(self) -> tuple[int, E]:
        """The earliest event and its time."""
        at, _, event = heapq.heappop(self._heap)
        return at, event

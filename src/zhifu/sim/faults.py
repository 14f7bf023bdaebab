"""The fault injector: host crashes at named points and disk errors at named writes.

Before the host handles a frame the injector draws (from the world's random source) whether a
fault is armed for that frame, and which. The host's code has no hooks of its own, so the
injector wraps methods of one host *instance* (never a class): the armed fault fires the first
time its point is reached while that frame is handled, and is disarmed afterwards.

Crash points (:data:`CRASH_POINTS`) raise :class:`Crash`, a ``BaseException`` that no
``except Exception`` of the host catches: the frame's work stops there, an open SQLite
transaction rolls back (as when the process dies), and the simulation then closes the host
and opens it again from the same files, which runs its recovery:

``journalled``
    the request is in the journal, the pipeline has not started (wraps ``pipeline.process``);
``issuer-decided``
    the issuer decided and recorded its answer; the acquirer neither posted nor recorded;
``issuer-reversed``
    the issuer undid an approval; the acquirer has not recorded the reversal;
``ledger-posted``
    the first ledger posting of the frame committed (the issuer's, before its answer row);
``answered``
    the response is journalled and the reply never leaves (the simulation crashes the host
    after ``handle`` returns and drops the reply).

Disk errors (:data:`DISK_POINTS`) make one write fail: the acquirer's SQLite writes fail at
their commit (the statements ran, the transaction rolls back: nothing partial may remain),
the ledger's before it writes:

``journal-in`` / ``journal-out``
    the journal's write of the request / the response;
``in-doubt`` / ``record`` / ``record-reversal``
    the acquirer's payment store: the in-doubt mark, the answer, a reversal;
``ledger-write``
    the first ledger posting of the frame.

>>> import random
>>> from zhifu.sim.network import Faults
>>> injector = Injector(random.Random(3), Faults(crash=1.0, disk=0.0))
>>> injector.arm() in {f"crash:{point}" for point in CRASH_POINTS}
True
>>> Injector(random.Random(3), Faults.none()).arm() is None
True
"""

from __future__ import annotations

import random
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Final

from zhifu.acquirer.host import AcquirerHost
from zhifu.sim.network import Faults

__all__ = ["CRASH_POINTS", "DISK_POINTS", "Crash", "Injector"]

CRASH_POINTS: Final = (
    "journalled",
    "issuer-decided",
    "issuer-reversed",
    "ledger-posted",
    "answered",
)
DISK_POINTS: Final = (
    "journal-in",
    "in-doubt",
    "record",
    "record-reversal",
    "ledger-write",
    "journal-out",
)
_STORE_WRITES: Final = {
    "in_doubt": "in-doubt",
    "record": "record",
    "record_reversal": "record-reversal",
}
"""The payment store's methods whose transaction a disk error may fail, by point name."""


class Crash(BaseException):
    """The host process dies at ``point``."""

    def __init__(self, point: str) -> None:
        super().__init__(point)
        self.point = point


class DiskError(sqlite3.OperationalError):
    """A write that did not reach the disk (what SQLite reports as a disk I/O error)."""


class Injector:
    """Arms at most one fault per frame and fires it at its point."""

    def __init__(self, rng: random.Random, faults: Faults) -> None:
        self.rng = rng
        self.faults = faults
        self.armed: str | None = None
        self.fired: str | None = None
        self._journal_writes = 0

    def arm(self) -> str | None:
        """Draw the fault of the next frame (``crash:POINT``, ``disk:POINT`` or None)."""
        which, crash, disk = (
            self.rng.random(),
            self.rng.choice(CRASH_POINTS),
            self.rng.choice(DISK_POINTS),
        )
        self.fired, self._journal_writes = None, 0
        if which < self.faults.crash:
            self.armed = f"crash:{crash}"
        elif which < self.faults.crash + self.faults.disk:
            self.armed = f"disk:{disk}"
        else:
            self.armed = None
        return self.armed

    def disarm(self) -> None:
        """The frame is handled: what was not reached does not fire later."""
        self.armed = None

    def reached(self, point: str) -> None:
        """Fire the armed crash if it is at ``point``."""
        if self.armed == f"crash:{point}":
            self.armed, self.fired = None, f"crash:{point}"
            raise Crash(point)

    def _disk(self, point: str) -> bool:
        if self.armed == f"disk:{point}":
            self.armed, self.fired = None, f"disk:{point}"
            return True
        return False

    # ------------------------------------------------------------------ the hooks

    def install(self, host: AcquirerHost) -> None:
        """Wrap the methods of ``host`` (and of its issuer, ledger, journal and database)."""
        services = host.services
        if services.issuer is not None:
            _after(services.issuer, "authorize", lambda: self.reached("issuer-decided"))
            _after(services.issuer, "reverse", lambda: self.reached("issuer-reversed"))
        if services.ledger is not None:
            self._wrap_ledger(services.ledger)
        _before(host.pipeline, "process", lambda: self.reached("journalled"))
        self._wrap_journal(host)
        self._wrap_database(host)

    def _wrap_ledger(self, ledger: Any) -> None:
        real = ledger.create_transfers

        def create_transfers(*args: Any, **kwargs: Any) -> Any:
            if self._disk("ledger-write"):
                raise DiskError("disk I/O error (simulated: ledger-write)")
            result = real(*args, **kwargs)
            self.reached("ledger-posted")
            return result

        setattr(ledger, "create_transfers", create_transfers)  # noqa: B010 - one instance

    def _wrap_journal(self, host: AcquirerHost) -> None:
        real = host.journal.write

        def write(rows: Any) -> list[int]:
            self._journal_writes += 1
            point = "journal-in" if self._journal_writes == 1 else "journal-out"
            if self._disk(point):
                raise DiskError(f"disk I/O error (simulated: {point})")
            return real(rows)

        setattr(host.journal, "write", write)  # noqa: B010 - one instance

    def _wrap_database(self, host: AcquirerHost) -> None:
        real = host.database.transaction

        def transaction() -> AbstractContextManager[sqlite3.Cursor]:
            caller = sys._getframe(1).f_code.co_name
            point = _STORE_WRITES.get(caller)
            if point is not None and self._disk(point):
                return _failing_commit(real, point)
            return real()

        setattr(host.database, "transaction", transaction)  # noqa: B010 - one instance


@contextmanager
def _failing_commit(
    real: Callable[[], AbstractContextManager[sqlite3.Cursor]], point: str
) -> Iterator[sqlite3.Cursor]:
    """The real transaction, whose statements run and whose commit fails (it rolls back)."""
    with real() as cursor:
        yield cursor
        raise DiskError(f"disk I/O error (simulated: {point})")


def _after(target: Any, name: str, then: Callable[[], None]) -> None:
    real = getattr(target, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        then()
        return result

    setattr(target, name, wrapper)


def _before(target: Any, name: str, first: Callable[[], None]) -> None:
    real = getattr(target, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        first()
        return real(*args, **kwargs)

    setattr(target, name, wrapper)

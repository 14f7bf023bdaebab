"""The BEPS centres running live beside the rest of the stack (``zhifu serve``).

A :class:`ClearingService` holds one :class:`~zhifu.clearing.engine.ClearingSystem` (the NPC
and the CCPCs share one engine, partitioned by node), the
:class:`~zhifu.clearing.transport.ClearingCentre` that the web app serves under
``/clearing/``, and a round scheduler: a daemon thread that moves the engine's clock to the
wall clock every ``tick_ms`` milliseconds, which closes rounds at their cut-off times, settles due
rounds on working days and expires unanswered debits.

Participants come from ``participants.json`` in the data directory (the ``participants`` list
of a ``zhifu clearing simulate`` scenario, with optional ``reserve`` amounts), or, when that
file is absent, from the demonstration scenario (:mod:`zhifu.clearing.demo`). Settlement
accounts live in a SQLite ledger in the same directory.

>>> from datetime import datetime
>>> from zhifu.core.clock import FixedClock, SHANGHAI
>>> from zhifu.security.hsm import SoftHsm
>>> from zhifu.security.store import KeyStore
>>> clock = FixedClock(datetime(2025, 9, 30, 8, 0, tzinfo=SHANGHAI))
>>> service = ClearingService.create(SoftHsm(KeyStore.in_memory()), clock=clock)
>>> service.tick(); service.current_round
(datetime.date(2025, 9, 30), 1)
>>> clock.advance(3600 * 2); service.tick(); service.current_round   # R1 closed at 09:00
(datetime.date(2025, 9, 30), 2)
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from zhifu.clearing.demo import DEMO
from zhifu.clearing.engine import ClearingSystem
from zhifu.clearing.settlement import LedgerBooks
from zhifu.clearing.simulate import Scenario
from zhifu.clearing.transport import ClearingCentre
from zhifu.core.clock import Clock, SystemClock
from zhifu.core.errors import ZhifuError
from zhifu.ledger import Ledger
from zhifu.security.hsm import SoftHsm

__all__ = ["ClearingService"]

log = logging.getLogger("zhifu.clearing.service")

PARTICIPANTS_FILE = "participants.json"
LEDGER_FILE = "clearing-ledger.db"


class ClearingService:
    """The live centres: engine, message transport and round scheduler."""

    def __init__(self, centre: ClearingCentre, clock: Clock, tick_ms: int = 1000) -> None:
        self.centre = centre
        self.system: ClearingSystem = centre.system
        self.clock = clock
        self.tick_ms = tick_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def create(
        cls,
        hsm: SoftHsm,
        *,
        home: Path | None = None,
        clock: Clock | None = None,
        tick_ms: int = 1000,
    ) -> ClearingService:
        """A service whose participants and ledger live in ``home`` (in memory when None)."""
        clock = clock or SystemClock()
        scenario = Scenario.from_mapping({"participants": _participants(home), "items": []})
        books = LedgerBooks(
            Ledger.open(f"sqlite:///{home / LEDGER_FILE}") if home else Ledger.open("sqlite://")
        )
        system = ClearingSystem(
            scenario.participants, start=clock.now(), config=scenario.config, books=books
        )
        for bank, amount in sorted(scenario.reserves.items()):
            if amount:
                system.books.fund(bank, amount)
        return cls(ClearingCentre.create(system, hsm, clock), clock, tick_ms)

    @property
    def current_round(self) -> tuple[Any, int]:
        """The open round: (BEPS date, round number)."""
        return self.system.book.current

    def tick(self) -> None:
        """Move the engine to the clock's time (closing and settling what is due)."""
        with self.centre.lock:
            now = self.clock.now()
            if now > self.system.now:
                self.system.advance_to(now)

    def start(self) -> ClearingService:
        """Run the round scheduler in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="zhifu-beps-rounds", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the scheduler and close the settlement ledger."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.system.books.close()

    def _run(self) -> None:
        while not self._stop.wait(self.tick_ms / 1000):
            try:
                self.tick()
            except ZhifuError as exc:  # e.g. a year the calendar does not know yet
                log.error("BEPS round scheduler: %s", exc)


def _participants(home: Path | None) -> list[dict[str, Any]]:
    path = None if home is None else home / PARTICIPANTS_FILE
    if path is not None and path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
        return list(data["participants"] if isinstance(data, dict) else data)
    return list(DEMO["participants"])

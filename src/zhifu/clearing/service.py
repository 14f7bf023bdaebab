"""The BEPS centres running live beside the rest of the stack (``zhifu serve``).

A :class:`ClearingService` holds one :class:`~zhifu.clearing.engine.ClearingSystem` (the NPC
and the CCPCs share one engine, partitioned by node), the
:class:`~zhifu.clearing.transport.ClearingCentre` that the web app serves under
``/clearing/``, and a round scheduler: a daemon thread that moves the engine's clock to the
wall clock every ``tick_ms`` milliseconds, which closes rounds at their cut-off times, settles due
rounds on working days and expires unanswered debits.

The holiday calendar is ``chinesecalendar``'s, extended by ``calendar.toml`` or ``calendar.json``
in the data directory (:mod:`zhifu.clearing.calendar.home`; ``docs/clearing.md#calendar``),
which the scheduler reads again whenever it changes — no restart, which would lose the rounds
in memory. In a year neither knows, rounds keep closing and netting (BEPS runs 7×24); only
their settlement waits for the data, and the scheduler says so once per BEPS date (an error
naming the file to add the year to; a warning from 60 days ahead).

Participants come from ``participants.json`` in the data directory (the ``participants`` list
of a ``zhifu clearing simulate`` scenario, with optional ``reserve`` amounts), or, when that
file is absent, from the demonstration scenario (:mod:`zhifu.clearing.demo`). Settlement
accounts live in a SQLite ledger in the same directory.

>>> from datetime import datetime
>>> from zhifu.core.clock import FixedClock, SHANGHAI
>>> from zhifu.security.hsm.soft import SoftHsm
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
from datetime import date
from pathlib import Path
from typing import Any

from zhifu.clearing.calendar.days import beps_date
from zhifu.clearing.calendar.home import (
    HORIZON_DAYS,
    CalendarSource,
    calendar_gap,
    missing_year_advice,
    year_runs,
)
from zhifu.clearing.demo import DEMO
from zhifu.clearing.engine import ClearingSystem
from zhifu.clearing.rounds import RoundKey, RoundState
from zhifu.clearing.settlement import LedgerBooks
from zhifu.clearing.simulate import Scenario
from zhifu.clearing.transport import ClearingCentre
from zhifu.core.clock import Clock, SystemClock
from zhifu.core.errors import UsageError, ZhifuError
from zhifu.ledger import Ledger
from zhifu.security.hsm.soft import SoftHsm

__all__ = ["ClearingService"]

log = logging.getLogger("zhifu.clearing.service")

PARTICIPANTS_FILE = "participants.json"
LEDGER_FILE = "clearing-ledger.db"


class ClearingService:
    """The live centres: engine, message transport and round scheduler."""

    def __init__(
        self,
        centre: ClearingCentre,
        clock: Clock,
        tick_ms: int = 1000,
        calendar: CalendarSource | None = None,
    ) -> None:
        self.centre = centre
        self.system: ClearingSystem = centre.system
        self.clock = clock
        self.tick_ms = tick_ms
        self.calendar_source = calendar or CalendarSource(None)
        self._checked: date | None = None  # the BEPS date whose calendar coverage was last reported
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
        """A service whose participants, calendar file and ledger live in ``home`` (in memory
        when None). A malformed calendar file is refused (:class:`UsageError` naming it)."""
        clock = clock or SystemClock()
        calendar = CalendarSource(home)
        scenario = Scenario.from_mapping({"participants": _participants(home), "items": []})
        books = LedgerBooks(
            Ledger.open(f"sqlite:///{home / LEDGER_FILE}") if home else Ledger.open("sqlite://")
        )
        system = ClearingSystem(
            scenario.participants,
            start=clock.now(),
            config=scenario.config,
            calendar=calendar.calendar,
            books=books,
        )
        for bank, amount in sorted(scenario.reserves.items()):
            if amount:
                system.books.fund(bank, amount)
        return cls(ClearingCentre.create(system, hsm, clock), clock, tick_ms, calendar)

    @property
    def current_round(self) -> tuple[Any, int]:
        """The open round: (BEPS date, round number)."""
        return self.system.book.current

    @property
    def awaiting_calendar(self) -> list[RoundKey]:
        """The rounds submitted whose settlement waits for calendar data (keys, in order)."""
        rounds = self.system.rounds.items()
        return sorted(k for k, r in rounds if r.state is RoundState.AWAITING_CALENDAR)

    def tick(self) -> None:
        """Move the engine to the clock's time (closing and settling what is due), after
        loading the calendar file again if it changed."""
        with self.centre.lock:
            self._reload_calendar()
            now = self.clock.now()
            if now > self.system.now:
                self.system.advance_to(now)
            self._report_calendar()

    def _reload_calendar(self) -> None:
        try:
            calendar = self.calendar_source.poll()
        except UsageError as exc:
            log.error("BEPS calendar not reloaded, the previous data stays in use: %s", exc)
            return
        if calendar is None:
            return
        waiting = len(self.awaiting_calendar)
        self.system.use_calendar(calendar)
        log.warning(
            "BEPS calendar reloaded from %s: years %s; rounds waiting for calendar data: "
            "%d before, %d now",
            self.calendar_source.path or "the chinesecalendar package alone",
            year_runs(calendar.years),
            waiting,
            len(self.awaiting_calendar),
        )
        self._checked = None  # report the coverage again

    def _report_calendar(self) -> None:
        """Once per BEPS date: an error if settlement waits for calendar data, else a warning
        if it will within HORIZON_DAYS."""
        today = beps_date(self.system.now, self.system.schedule.cutoff)
        if today == self._checked:
            return
        self._checked = today
        waiting = self.awaiting_calendar
        first = waiting[0][0] if waiting else today
        gap = calendar_gap(self.system.calendar, first, 1)
        if gap is not None:
            text = missing_year_advice(gap, self.calendar_source.target)
            log.error("BEPS date %s: %s; rounds waiting: %d", today, text, len(waiting))
            return
        ahead = calendar_gap(self.system.calendar, today, HORIZON_DAYS)
        if ahead is not None:
            text = missing_year_advice(ahead, self.calendar_source.target, ahead=True)
            log.warning("BEPS date %s: %s", today, text)

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
        failing: str | None = None  # the error of the last tick, logged once until it changes
        while not self._stop.wait(self.tick_ms / 1000):
            try:
                self.tick()
            except Exception as exc:  # the scheduler must outlive a bad tick
                text = f"{type(exc).__name__}: {exc}"
                if text != failing:
                    detail = not isinstance(exc, ZhifuError)  # a bug: its traceback, once
                    log.error("BEPS round scheduler: %s", text, exc_info=detail)
                failing = text
            else:
                if failing is not None:
                    log.warning("BEPS round scheduler: ticking again")
                failing = None


def _participants(home: Path | None) -> list[dict[str, Any]]:
    path = None if home is None else home / PARTICIPANTS_FILE
    if path is not None and path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
        return list(data["participants"] if isinstance(data, dict) else data)
    return list(DEMO["participants"])

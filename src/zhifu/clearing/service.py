"""The BEPS centres running live beside the rest of the stack (``zhifu serve``).

A :class:`ClearingService` holds one :class:`~zhifu.clearing.engine.ClearingSystem` (the NPC
and the CCPCs share one engine, partitioned by node), the
:class:`~zhifu.clearing.transport.ClearingCentre` that the web app serves under
``/clearing/``, and a round scheduler: a daemon thread that moves the engine's clock to the
wall clock every ``tick_ms`` milliseconds, which closes rounds at their cut-off times, settles due
rounds on working days and expires unanswered debits.

**State and restarts.** With a clearing folder (:mod:`zhifu.clearing.home`) every engine call
is written to the event log (:mod:`zhifu.clearing.eventlog`) before its effects are told to a
bank, and the log is replayed at start: rounds, items, queues, positions, the banks' inboxes and
the MsgIds already taken come back as they were; the settlement ledger (a SQLite file in the
folder) recognises the batches it already holds. Time between the events needs no record:
after the replay the scheduler moves the engine on to the clock, closing and settling what fell
due while the service was down. A participant added to ``participants.json`` or a cap changed
there since the last start, and a calendar file changed meanwhile, are applied at start (and
logged). The centre keeps its SM2 key in the folder's key store and writes its public key to
``centre.pub``; banks' public keys come from ``participants.json``.

The holiday calendar is ``chinesecalendar``'s, extended by ``calendar.toml`` or ``calendar.json``
in the data directory (:mod:`zhifu.clearing.calendar.home`; ``docs/clearing.md#calendar``),
which the scheduler reads again whenever it changes. In a year neither knows, rounds keep
closing and netting (BEPS runs 7×24); only their settlement waits for the data, and the
scheduler says so once per BEPS date (an error naming the file to add the year to; a warning
from 60 days ahead).

Participants come from ``participants.json`` in the data directory (the ``participants`` list
of a ``zhifu clearing simulate`` scenario, with optional ``reserve`` amounts and ``public_key``),
or, when that file is absent, from the demonstration scenario (:mod:`zhifu.clearing.demo`).

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

import logging
import threading
from collections.abc import Mapping
from datetime import date, datetime
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
from zhifu.clearing.engine import ClearingSystem
from zhifu.clearing.eventlog.records import (
    Record,
    Recorder,
    calendar_of,
    participant_record,
    participants_of,
    replay,
)
from zhifu.clearing.eventlog.store import EventStore, Loaded
from zhifu.clearing.home import (
    CENTRE_KEY_FILE,
    LEDGER_FILE,
    Setup,
    clock_from_environ,
    database_url,
    prepare,
    private_file,
    read_participants,
    set_aside,
    write_private,
)
from zhifu.clearing.model import NodeKind, Participant
from zhifu.clearing.rounds import RoundKey, RoundState
from zhifu.clearing.settlement import LedgerBooks
from zhifu.clearing.transport import ClearingCentre
from zhifu.core.clock import Clock, SystemClock
from zhifu.core.errors import UsageError, ZhifuError
from zhifu.ledger import Ledger
from zhifu.security.hsm.soft import SoftHsm

__all__ = ["ClearingService"]

log = logging.getLogger("zhifu.clearing.service")


class ClearingService:
    """The live centres: engine, message transport and round scheduler."""

    def __init__(
        self,
        centre: ClearingCentre,
        clock: Clock,
        tick_ms: int = 1000,
        calendar: CalendarSource | None = None,
        store: EventStore | None = None,
    ) -> None:
        self.centre = centre
        self.system: ClearingSystem = centre.system
        self.clock = clock
        self.tick_ms = tick_ms
        self.calendar_source = calendar or CalendarSource(None)
        self.store = store
        self.replayed = 0  # how many records the start replayed
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
        environ: Mapping[str, str] | None = None,
    ) -> ClearingService:
        """A service whose participants, calendar file, event log, ledger and centre key live
        in ``home`` (all in memory when None), its log replayed if it holds records. The event
        log goes to ``ZHIFU_DATABASE_URL`` when set; ``ZHIFU_BEPS_CLOCK_FILE`` gives a
        rehearsal clock when no ``clock`` is given. A malformed calendar or participants file
        is refused (:class:`UsageError` naming it)."""
        clock = clock or clock_from_environ(environ) or SystemClock()
        if home is not None:
            prepare(home)
        calendar = CalendarSource(home)
        setup = read_participants(home)
        store = None if home is None else EventStore.open(database_url(home, environ))
        loaded = Loaded() if store is None else store.load()
        books = LedgerBooks(Ledger.open(_ledger_url(home, fresh=not loaded.records)))
        genesis: list[Record] = []
        if loaded.records:
            system = replay(loaded.records, books, kept_books=True)
        else:
            system, genesis = _genesis(setup, clock.now(), books, calendar)
        centre = ClearingCentre.create(system, hsm, clock, log=store)
        centre.restore(loaded.records, loaded.inboxes)
        centre.engine.pending = genesis
        centre.commit()
        service = cls(centre, clock, tick_ms, calendar, store)
        service.replayed = len(loaded.records)
        if loaded.records:
            service._catch_up(setup, loaded.records)
        for bank, key in sorted(setup.keys.items()):
            if bank in system.participants:
                centre.register(bank, key)
        if home is not None:
            write_private(home / CENTRE_KEY_FILE, centre.public_key().hex() + "\n")
        return service

    def _catch_up(self, setup: Setup, records: list[Record]) -> None:
        """After a replay: say what came back, then apply what changed in the folder's files
        while the service was down (at the clock's time, as a live change would be)."""
        system = self.system
        log.warning(
            "BEPS centres: %d events replayed up to %s; %d items, %d rounds (%d not settled)",
            len(records),
            system.now.isoformat(),
            len(system.records),
            len(system.rounds),
            sum(r.state is not RoundState.SETTLED for r in system.rounds.values()),
        )
        at = max(self.clock.now(), system.now)
        with self.centre.lock:
            self._new_participants(setup, participants_of(records), at)
            if _last_calendar(records) != self.calendar_source.calendar.data.to_mapping():
                log.warning("BEPS calendar changed while the service was down: applied")
                self.centre.engine.use_calendar(self.calendar_source.calendar, at)
            self.centre.commit()

    def _new_participants(self, setup: Setup, recorded: list[Participant], at: datetime) -> None:
        """Participants added to the file (their reserves paid in) and caps changed there;
        other changes to a participant are logged and left alone."""
        engine, known = self.centre.engine, {p.code: p for p in recorded}
        added = [p for p in setup.participants if p.code not in known]
        if added:
            log.warning("participants added: %s", ", ".join(p.code for p in added))
            engine.add_participants(added, at)
            for bank in (p.code for p in added if p.direct and setup.reserves.get(p.code)):
                engine.fund(bank, setup.reserves[bank], at)
        caps = self.system.book.caps
        for p in (p for p in setup.participants if p.code in known):
            if _without_caps(p) != _without_caps(known[p.code]):
                log.warning("participant %s changed in the file: only caps change live", p.code)
                continue
            for kind in NodeKind if p.direct else ():
                if p.cap(kind) != caps.get((p.code, kind.value), 0):
                    log.warning("cap of %s at %s set to %d fen", p.code, kind.value, p.cap(kind))
                    engine.set_cap(p.code, kind, p.cap(kind), at)

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
        loading the calendar file again if it changed. A stopped centre stays where it is."""
        with self.centre.lock:
            if self.centre.stopped is not None:
                return
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
        self.centre.engine.use_calendar(calendar)
        self.centre.commit()
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
        if self.store is not None:
            self.store.close()

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


def _ledger_url(home: Path | None, *, fresh: bool) -> str:
    """The settlement ledger's URL; a ledger left beside an empty event log belongs to no run
    the log knows (a run before the log, or a start that died before its first commit): it is
    set aside, not mixed with the new run's batches."""
    if home is None:
        return "sqlite://"
    path = home / LEDGER_FILE
    if fresh and path.exists() and path.stat().st_size > 0:
        set_aside(path, "a settlement ledger without an event log")
    return f"sqlite:///{private_file(path)}"


def _genesis(
    setup: Setup, now: datetime, books: LedgerBooks, calendar: CalendarSource
) -> tuple[ClearingSystem, list[Record]]:
    """A new system: its ``start`` record and the opening reserves paid in."""
    recorder = Recorder.start(setup.participants, now, books, calendar=calendar.calendar)
    for bank, amount in sorted(setup.reserves.items()):
        recorder.fund(bank, amount)
    return recorder.system, recorder.take()


def _without_caps(p: Participant) -> dict[str, Any]:
    return {k: v for k, v in participant_record(p).items() if k != "caps"}


def _last_calendar(records: list[Record]) -> dict[str, Any]:
    found = [r["calendar"] for r in records if r["type"] in ("start", "calendar")]
    return calendar_of(found[-1] if found else None).data.to_mapping()

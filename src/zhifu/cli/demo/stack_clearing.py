"""The clearing and the checks of a demonstration day against a running stack.

**Clearing.** What the day left owing between banks (the card batches: the issuing bank to the
acquiring bank; the barcode payments: netted between the institutions' banks), and customers'
credits between the five banks of three cities, become BEPS ordinary credits, one packet per
paying bank, each signed by that bank's front end (:class:`~zhifu.clearing.mbfe.MbfeClient`,
the bank's SM2 key from the demo world's key store) and sent to the running centres'
``POST /clearing/messages``. The centres offer no HTTP call to close a round early, so the day
moves their clock: the demo world's centres run on the wall clock plus an offset kept in
``demo/beps-clock-offset`` (:class:`~zhifu.cli.demo.world.OffsetClock`); the day raises the
offset to just past the 16:00 cut-off of the open BEPS date (every round of that date closes),
then, while a round waits for settlement (a weekend or holiday), on to 08:30 of the next day,
and so on. The round scheduler does the rest as it would at those hours. Each bank then reads
its inbox and the centre's signed day-end summary (``beps.721``) and compares it with its own.

**Checks.** The card ledger balances (the data directory's ``ledger.db``); the audit trail
verifies (as ``zhifu audit verify``); the barcode institutions' ledgers balance; each
institution's reserve funds reconcile (:class:`~zhifu.compliance.ReserveBook`: the reserve
custody account against everything the institution owes); every round settled; the clearing
positions of each BEPS date sum to zero; every bank's summary agrees with its own totals.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import time
import urllib.request
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from zhifu.cli.demo import layout
from zhifu.cli.demo.day import DemoDay, Progress

__all__ = ["CUSTOMER_CREDITS", "advance_centres", "check_books", "play_clearing"]

CUSTOMER_CREDITS: Final = (
    (layout.BANKS[0].code, layout.BANKS[2].code, 500_00),
    (layout.BANKS[2].code, layout.BANKS[3].code, 1_200_00),
    (layout.BANKS[4].code, layout.BANKS[1].code, 800_00),
    (layout.BANKS[3].code, layout.BANKS[4].code, 300_00),
    (layout.BANKS[1].code, layout.BANKS[0].code, 150_00),
)
"""Customers' credits between the banks (payer, payee, fen), across the three cities."""
PENDING: Final = ("submitted", "settlement_queued")
WAIT_SECONDS: Final = 15.0


def _status(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/clearing/status", timeout=10) as answer:  # noqa: S310
        data = json.loads(answer.read())
    assert isinstance(data, dict)
    return data


def _clients(home: Path, world: dict[str, Any], url: str) -> tuple[dict[str, Any], Any]:
    from zhifu.clearing.home import CENTRE_KEY_FILE  # noqa: PLC0415
    from zhifu.clearing.mbfe import MbfeClient  # noqa: PLC0415
    from zhifu.cli.demo.world import bank_store  # noqa: PLC0415
    from zhifu.security.hsm.soft import SoftHsm  # noqa: PLC0415

    store = bank_store(home)
    hsm = SoftHsm(store)
    centre = bytes.fromhex((home / "clearing" / CENTRE_KEY_FILE).read_text("ascii").strip())
    clients = {}
    for bank in world["banks"]:
        handle = store.info(bank["key"]).handle
        clients[bank["code"]] = MbfeClient(bank["code"], handle, hsm, url, centre_key=centre)
    return clients, store


def _items(owed: list[tuple[str, str, int]]) -> list[Any]:
    from zhifu.clearing import BusinessType, Item  # noqa: PLC0415

    run = f"{datetime.now():%y%m%d%H%M%S}{secrets.token_hex(2).upper()}"
    rows = [o for o in owed if o[2] > 0] + list(CUSTOMER_CREDITS)
    return [Item(f"DM{run}{n:03d}", BusinessType.ORDINARY_CREDIT, payer, payee, amount)
            for n, (payer, payee, amount) in enumerate(rows)]  # fmt: skip


def play_clearing(day: DemoDay, home: Path, world: dict[str, Any], url: str, *,
                  owed: list[tuple[str, str, int]], step: Progress) -> None:  # fmt: skip
    """Send the day's items, close the rounds through the cut-off, read the settlement back."""
    if not world.get("clearing", True):
        step("clearing: skipped, the world's banks are not participants")
        step("clearing: skipped")
        step("clearing: skipped")
        day.checks["the world's banks are BEPS participants"] = False
        return
    clients, store = _clients(home, world, url)
    try:
        step("clearing: each bank's front end sends its signed packet")
        dates: set[date] = set()
        items = _items(owed)
        for payer in sorted({i.payer_bank for i in items}):
            ack = clients[payer].send_items([i for i in items if i.payer_bank == payer])
            for line in ack.lines:
                day.outcomes["BEPS item", line.processing.status.name.lower()] += 1
                if line.processing.netting_date is not None:
                    dates.add(line.processing.netting_date)
            if not ack.accepted:
                day.outcomes["BEPS packet", f"refused {ack.reason}"] += 1
        day.figures["BEPS items"] = len(items)
        step("clearing: the rounds close through the cut-off; settlement at the PBOC")
        status = advance_centres(home, url)
        day.figures["centres' clock"] = status["now"]
        waiting = (*PENDING, "awaiting_calendar")  # a year the calendar does not know
        day.checks["every round settled"] = not any(status["rounds"].get(s) for s in waiting)
        step("clearing: each bank reconciles with the centre's summary")
        _reconcile(day, clients, sorted(dates))
    finally:
        store.close()


def _reconcile(day: DemoDay, clients: dict[str, Any], dates: list[date]) -> None:
    matched, net = True, 0
    for client in clients.values():
        client.receive()  # the credits addressed to it, with the centre's netting dates
        for when in dates:
            found = client.reconcile(when)
            matched = matched and found.matches
            net += found.centre.received - found.centre.paid
    day.checks["clearing positions sum to zero"] = bool(dates) and net == 0
    day.checks["banks' summaries match the centre's"] = bool(dates) and matched
    day.figures["BEPS dates"] = [d.isoformat() for d in dates]


def advance_centres(home: Path, url: str, *, sleep: Callable[[float], None] = time.sleep
                    ) -> dict[str, Any]:  # fmt: skip
    """Move the centres past the open BEPS date's cut-off, then to the settlement of what
    waits (see the module docstring); the centres' status at the end."""
    from zhifu.clearing.rounds import RoundSchedule  # noqa: PLC0415

    schedule = RoundSchedule()
    status = _status(url)
    key = (date.fromisoformat(status["round"]["beps_date"]), schedule.rounds_per_day)
    status = _move_to(home, url, schedule.close_instant(key) + timedelta(seconds=1), sleep)
    for _ in range(14):  # at most two weeks of holidays
        if not any(status["rounds"].get(s) for s in PENDING):
            break
        now = datetime.fromisoformat(status["now"])
        morning = datetime.combine(now.date() + timedelta(days=1), schedule.settlement_time,
                                   tzinfo=now.tzinfo)  # fmt: skip
        status = _move_to(home, url, morning + timedelta(seconds=1), sleep)
    return status


def _move_to(home: Path, url: str, target: datetime, sleep: Callable[[float], None]
             ) -> dict[str, Any]:  # fmt: skip
    """Raise the offset so the centres' clock reaches ``target``; wait until it has."""
    from zhifu.cli.demo.world import OFFSET_FILE, OffsetClock  # noqa: PLC0415
    from zhifu.core.errors import UsageError  # noqa: PLC0415

    path = home / OFFSET_FILE
    current = OffsetClock(path).offset()
    wall = datetime.now(target.tzinfo)
    wanted = max(current, math.ceil((target - wall).total_seconds()) + 1)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(f"{wanted}\n")
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        status = _status(url)
        if datetime.fromisoformat(status["now"]) >= target:
            return status
        if time.monotonic() > deadline:
            raise UsageError(
                f"the centres' clock did not move to {target.isoformat()}: is this stack's "
                f"demo world in {home} (or do its centres run on ZHIFU_BEPS_CLOCK_FILE)?",
                argument="--home",
            )
        sleep(0.3)


# -- the checks ----------------------------------------------------------------------------------


def check_books(day: DemoDay, home: Path, today: date) -> None:
    """The books' checks (see the module docstring), read from the data directory."""
    from zhifu.issuer.home import ledger_url  # noqa: PLC0415
    from zhifu.ledger import Ledger  # noqa: PLC0415

    ledger = Ledger.open(ledger_url(home), create=False)
    try:
        day.checks["card ledger balanced"] = ledger.check().balanced
    finally:
        ledger.close()
    day.checks["audit trail verifies"] = _audit_ok(home)
    balanced, reconciled = True, True
    for institution in (i.ident for i in layout.INSTITUTIONS):
        ledger = Ledger.open(f"sqlite:///{home / 'barcode' / f'ledger-{institution}.db'}",
                             create=False)  # fmt: skip
        try:
            balanced = balanced and ledger.check().balanced
            found = _reserve(home, ledger, institution, today)
            day.figures[f"reserve {institution}"] = found.reserve
            reconciled = reconciled and found.ok
        finally:
            ledger.close()
    day.checks["barcode ledgers balanced"] = balanced
    day.checks["reserve funds reconciled"] = reconciled


def _audit_ok(home: Path) -> bool:
    from zhifu.acquirer.config import AcquirerConfig, ensure_local_lmk, open_key_store  # noqa: PLC0415
    from zhifu.security.audit_trail import AuditTrail  # noqa: PLC0415
    from zhifu.security.hsm.soft import SoftHsm  # noqa: PLC0415

    store = open_key_store(AcquirerConfig.local(home), ensure_local_lmk(home))
    try:
        trail = AuditTrail.open(home / "audit.db", SoftHsm(store))
        try:
            trail.absorb_key_store(store)  # as zhifu audit verify does
            return bool(trail.verify().ok)
        finally:
            trail.close()
    finally:
        store.close()


def _reserve(home: Path, ledger: Any, institution: str, today: date) -> Any:
    """The compliance reconciliation of one institution: its reserve custody account against
    every account it owes from (customers, merchants, its fee income, the switch's clearing
    accounts). Kept in ``demo/reserve.db`` once a day; a later run checks again in memory."""
    from zhifu.barcode.platform.postings import system_account  # noqa: PLC0415
    from zhifu.compliance import ReserveBook  # noqa: PLC0415
    from zhifu.compliance.errors import DuplicateError  # noqa: PLC0415
    from zhifu.ledger.store import from_id  # noqa: PLC0415

    reserve = system_account(institution, "reserve_custody")
    ids = [from_id(row[0]) for row in ledger.store.read("SELECT id FROM accounts")]
    owed = [i for i in ids if i != reserve]
    kept = home / "demo" / "reserve.db"
    kept.touch(mode=0o600)
    for where in (kept, ":memory:"):
        book = ReserveBook.open(where)
        try:
            return book.reconcile(ledger, institution=institution, customer_accounts=owed,
                                  reserve_account=reserve, day=today)  # fmt: skip
        except DuplicateError:
            continue
        finally:
            book.close()
    raise AssertionError("unreachable")

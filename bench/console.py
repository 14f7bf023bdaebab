"""Console benchmark: how fast the web console's pages answer over a busy day's data.

An in-memory acquirer host's database is filled with 100,000 card transactions (a request row
and its response row each in the journal, and the card transaction row), spread over today
(Asia/Shanghai) across 500 terminals of 100 merchants, about 4 % declined; the barcode
platform's database in the data directory gets 20,000 orders of the same day; the host's ledger
gets 100,000 transfers from 2,000 card accounts to 100 merchants' accounts; the BEPS centres
hold 10,000 credit transfers in the open round. The app is built
as ``zhifu serve`` builds it (:func:`zhifu.web.app.create_app` with the site and the services),
an operator signs in, and each page is fetched ``GETS`` times through Litestar's TestClient
(in-process: no socket). The table gives the median and the 95th percentile against a budget
of 200 ms per page.

``python -m bench.console`` prints the table alone.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from zhifu.acquirer import AcquirerHost
from zhifu.acquirer.payments.pay import rrn_of
from zhifu.acquirer.site import Site, open_site_at
from zhifu.barcode.platform.db import Database as BarcodeDatabase
from zhifu.barcode.platform.db import to_us
from zhifu.clearing import BusinessType, Item
from zhifu.clearing.service import ClearingService
from zhifu.core.clock import SHANGHAI, FixedClock
from zhifu.ledger import Ledger
from zhifu.ledger.chart import BY_KEY
from zhifu.ledger.model import Account, Transfer
from zhifu.security.access import totp
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.risk import Alert
from zhifu.security.store import KeyStore
from zhifu.web.app import create_app

TRANSACTIONS = 100_000
ORDERS = 20_000
TERMINALS = 500
MERCHANTS = 100
GETS = 20
BUDGET_MS = 200.0
PASSWORD = "console bench password"
_ICC = (
    "9F26=1C2D3E4F5A6B7C8D 9F27=80 9F10=07010103A0A802010A010000000000ABCDEF12 9F37=1A2B3C4D "
    "9F36=0042 95=0000000000 9A={date} 9C=00 9F02={amount} 5F2A=0156 82=7C00 9F1A=0156 "
    "9F03=000000000000 9F33=E0E1C8 9F34=420300 84=A000000333010101"
)
_JOURNAL = (
    "INSERT INTO journal (seq, exchange, direction, at, duration_ms, peer, mti, terminal_id, "
    "merchant_id, stan, network_code, response_code, grp, size, tpdu, header, fields, note) "
    "VALUES (?, ?, ?, ?, ?, 'bench', ?, ?, ?, ?, '000', ?, ?, ?, '6000030000', '613100311108', "
    "?, ?)"
)
_CARD = (
    "INSERT INTO card_txns (id, terminal, merchant, batch, stan, kind, amount, digest, field_39, "
    "answer, original_id, masked_pan, day, created) "
    "VALUES (?, ?, ?, '000001', ?, 'purchase', ?, 'bench', ?, '{}', NULL, ?, ?, ?)"
)


def _exchange(
    n: int, at: datetime, rng: random.Random
) -> tuple[list[tuple[Any, ...]], tuple[Any, ...]]:
    """The journal rows and the card transaction row of the ``n``-th purchase."""
    terminal = f"3{n % TERMINALS:07d}"
    merchant = f"8981000{n % TERMINALS % MERCHANTS:08d}"
    stan = f"{n // TERMINALS % 999_999 + 1:06d}"
    amount = rng.randrange(100, 200_000)
    roll = rng.random()
    code = "00" if roll < 0.96 else ("51" if roll < 0.98 else "55")
    txn_id = f"{terminal}-000001-{stan}"
    pan = f"622800******{n % 10_000:04d}"
    common = {"2": pan, "3": "000000", "4": f"{amount:012d}", "11": stan, "25": "00",
              "41": terminal, "42": merchant, "49": "156", "60": "22000001000600"}  # fmt: skip
    request = {"mti": "0200", **common, "14": "****", "22": "051", "23": "001",
               "52": "<PIN block, 8 bytes>", "64": "3A4B5C6D",
               "55": _ICC.format(date=at.strftime("%y%m%d"), amount=f"{amount:012d}")}  # fmt: skip
    answer = {"mti": "0210", **common, "12": at.strftime("%H%M%S"), "13": at.strftime("%m%d"),
              "37": rrn_of(txn_id), "39": code, "64": "7E8F9A0B"}  # fmt: skip
    if code == "00":
        answer["38"] = f"{n % 1_000_000:06d}"
    seq, stamp = 2 * n + 1, at.isoformat()
    rows = [
        (seq, seq, "in", stamp, None, "0200", terminal, merchant, stan, None, None, 180,
         json.dumps(request, ensure_ascii=False), ""),
        (seq + 1, seq, "out", (at + timedelta(milliseconds=9)).isoformat(), 8.5, "0210",
         terminal, merchant, stan, code, "purchase", 120, json.dumps(answer), ""),
    ]  # fmt: skip
    card = (txn_id, terminal, merchant, stan, amount, code, pan, at.strftime("%Y%m%d"), stamp)
    return rows, card


def fill_acquirer(host: AcquirerHost, start: datetime, count: int = TRANSACTIONS) -> None:
    """``count`` purchases spread over the day from ``start`` (journal and card rows)."""
    rng = random.Random(7)
    spacing = 86_400_000_000 // count
    journal: list[tuple[Any, ...]] = []
    cards: list[tuple[Any, ...]] = []
    for n in range(count):
        rows, card = _exchange(n, start + timedelta(microseconds=n * spacing), rng)
        journal += rows
        cards.append(card)
    with host.database.transaction() as cur:
        cur.executemany(_JOURNAL, journal)
        cur.executemany(_CARD, cards)


def fill_barcode(home: Path, start: datetime, count: int = ORDERS) -> None:
    """``count`` orders of the day in the data directory's barcode platform database."""
    path = home / "barcode" / "barcode.db"
    BarcodeDatabase(str(path)).close()  # the schema
    first, spacing = to_us(start), 86_400_000_000 // count
    states = ("PAID", "PAID", "PAID", "CLOSED", "REFUNDED")
    rows = [(f"B{n:08d}", f"o{n}", 100 + n % 5_000 * 7, states[n % 5], first + n * spacing)
            for n in range(count)]  # fmt: skip
    with sqlite3.connect(path) as db:
        db.executemany(
            "INSERT INTO orders (order_id, institution, merchant_id, out_trade_no, direction, "
            "amount, description, status, created_us) VALUES (?, 'zhifu', 'M100001', ?, "
            "'collect', ?, 'bench', ?, ?)",
            rows,
        )
    db.close()


LEDGER_CARDS = 2_000


def fill_ledger(ledger: Ledger, count: int = TRANSACTIONS) -> int:
    """``count`` transfers from card accounts to merchant accounts; the busiest merchant's id."""
    cards, merchants = BY_KEY["customer_deposits"].code, BY_KEY["merchant_settlement"].code
    first_merchant = 10_000_000
    ledger.create_accounts([Account(1_000_000 + n, 156, cards) for n in range(LEDGER_CARDS)])
    ledger.create_accounts([Account(first_merchant + n, 156, merchants) for n in range(MERCHANTS)])
    rng = random.Random(11)
    for begin in range(0, count, 8_000):
        ledger.create_transfers([
            Transfer(50_000_000 + n, 1_000_000 + rng.randrange(LEDGER_CARDS),
                     first_merchant + n % MERCHANTS, rng.randint(100, 50_000), 156, 1)
            for n in range(begin, min(count, begin + 8_000))
        ])  # fmt: skip
    return first_merchant


def clearing_service(items: int = 10_000) -> ClearingService:
    """The BEPS centres (the demonstration participants) at 10:00 of a working day, with
    ``items`` credit transfers between the participants in the open round."""
    clock = FixedClock(datetime(2025, 10, 9, 10, 0, tzinfo=SHANGHAI))
    service = ClearingService.create(SoftHsm(KeyStore.in_memory()), clock=clock)
    service.tick()
    banks = sorted(service.system.participants)
    rng = random.Random(5)
    for n in range(items):
        payer, payee = rng.sample(banks, 2)
        service.system.submit_item(Item(f"B{n:07d}", BusinessType.ORDINARY_CREDIT, payer, payee,
                                        rng.randint(100, 500_000)))  # fmt: skip
    return service


def _sign_in(client: TestClient[Any], site: Site, role: str) -> None:
    """A new user of ``role`` signs in (password and TOTP code): the client's session."""
    client.cookies.clear()
    secret = site.access.add_user(f"bench-{role}", role, PASSWORD, actor="bench")
    assert secret is not None
    form = {"user": f"bench-{role}", "password": PASSWORD, "totp": totp(secret, time.time())}
    assert client.post("/console/sign-in", data=form, follow_redirects=False).status_code == 303


def _timed(client: TestClient[Any], path: str) -> list[float]:
    assert client.get(path).status_code == 200, path  # warm up (and check)
    took = []
    for _ in range(GETS):
        begin = time.perf_counter()
        answer = client.get(path)
        took.append((time.perf_counter() - begin) * 1000)
        assert answer.status_code == 200, path
    return took


def _pages(start: datetime) -> Iterator[tuple[str, str]]:
    """The operator's pages: (row name, path)."""
    middle = TRANSACTIONS // 2
    terminal, stan = f"3{middle % TERMINALS:07d}", f"{middle // TERMINALS + 1:06d}"
    rrn = rrn_of(f"{terminal}-000001-{stan}")
    yield "dashboard", "/console/dashboard"
    yield "transactions (newest)", "/console/transactions"
    yield "transactions, page 20", "/console/transactions?page=20"
    yield "search by terminal", f"/console/transactions?terminal={terminal}"
    yield "search by RRN", f"/console/transactions?rrn={rrn}"
    yield (
        "search by merchant, declined",
        "/console/transactions?merchant=898100000000042&status=declined",
    )
    yield "search by batch and date", f"/console/transactions?batch=1&date={start.date()}"
    yield "detail", f"/console/transactions/{2 * middle + 1}"
    yield "home (/console)", "/console"
    yield "risk", "/console/risk"
    yield "ledger (accounts by chart code)", "/console/ledger"
    yield "ledger: a merchant's 1,000 postings", f"/console/ledger/{10_000_000:x}"
    yield "clearing (10,000 items in the open round)", "/console/clearing"


def run() -> None:
    """Fill, sign in, time every page; print the table."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    start = datetime.now(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "var"
        host = AcquirerHost.in_memory()
        site = open_site_at(home, {"ZHIFU_LMK": "3c" * 32})
        try:
            began = time.perf_counter()
            fill_acquirer(host, start)
            fill_barcode(home, start)
            assert host.services.ledger is not None
            fill_ledger(host.services.ledger)
            filled = time.perf_counter() - began
            for n in range(50):
                site.risk.add_alert(Alert(time.time() - n, "velocity", "alert", "pan",
                                          f"622800******{n:04d}", "many purchases"))  # fmt: skip
            centre = clearing_service()
            services = {"acquirer": host, "home": home, "clearing": centre}
            app = create_app(site=site, services=services)
            with TestClient(app=app) as client:
                _sign_in(client, site, "operator")
                rows = [(name, _timed(client, path)) for name, path in _pages(start)]
                _sign_in(client, site, "auditor")  # the audit trail is not the operator's
                rows.append(("audit (as an auditor)", _timed(client, "/console/audit")))
                _sign_in(client, site, "compliance")
                rows.append(("compliance (as compliance)", _timed(client, "/console/compliance")))
        finally:
            site.close()
            host.close()
    _print(rows, filled)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _print(rows: list[tuple[str, list[float]]], filled: float) -> None:
    print(f"\n### Console pages over {TRANSACTIONS:,} card transactions, {TRANSACTIONS:,} ledger "
          f"transfers and {ORDERS:,} barcode orders ({GETS} GETs each, TestClient)\n")  # fmt: skip
    print(f"(data written in {filled:.1f} s)\n")
    print("| page | median ms | p95 ms | budget ms | p95 / budget |")
    print("|---|---:|---:|---:|---:|")
    for name, took in rows:
        p95 = _p95(took)
        verdict = "" if p95 <= BUDGET_MS else " (over)"
        print(f"| {name} | {statistics.median(took):.1f} | {p95:.1f} | {BUDGET_MS:.0f} | "
              f"{p95 / BUDGET_MS:.2f}{verdict} |")  # fmt: skip


if __name__ == "__main__":
    run()

"""The BEPS clearing, ledger and compliance pages against real services: a ClearingService in a
tmp folder with items netted and queued, a SQLite ledger with a few transfers, and the
compliance books with an institution, fee schedules, complaints and a reserve reconciliation.

Each page's figures are checked against the services' own queries; the CSV downloads parse with
the csv module and agree with the engine; closing a round moves the round and shows its
settlement; the permissions hold (the auditor reads clearing but may not close a round, a
merchant opens none of these pages).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import lxml.html
import pytest
from litestar.testing import TestClient

from zhifu.acquirer.site import COMPLIANCE_FILE, Site, open_site_at
from zhifu.clearing import BusinessType, Item, Packet
from zhifu.clearing.rounds import RoundState
from zhifu.clearing.service import ClearingService
from zhifu.compliance import ComplaintBook, FeeBook, FeeSchedule, InstitutionKind, Rate, ReserveBook
from zhifu.core.clock import SHANGHAI, FixedClock
from zhifu.ledger import Account, Ledger, Transfer, TransferFlags
from zhifu.security.access import totp
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.store import KeyStore
from zhifu.web.app import create_app
from zhifu.web.routes.console import ledger as ledger_page
from zhifu.web.routes.console.clearing_views import position_rows

A, B, C = "102100099996", "103100000026", "104290003791"
T0 = datetime(2025, 10, 9, 8, 0, tzinfo=SHANGHAI)  # a Thursday, round 1 of the day
LMK = {"ZHIFU_LMK": "2b" * 32}
PASSWORD = "books console password"
OC = BusinessType.ORDINARY_CREDIT


@dataclass
class Stack:
    home: Path
    site: Site
    service: ClearingService
    ledger: Ledger
    secrets: dict[str, bytes]
    client: TestClient[Any]

    def sign_in(self, name: str) -> TestClient[Any]:
        """A fresh client signed in as ``name`` (its own cookie jar)."""
        self.client.cookies.clear()
        code = totp(self.secrets[name], time.time()) if name in self.secrets else ""
        form = {"user": name, "password": PASSWORD, "totp": code}
        answer = self.client.post("/console/sign-in", data=form, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        return self.client


def _participants(folder: Path) -> None:
    tight = {"NPC": "1000.00", "CCPC": "50000.00"}  # A queues cross-city beyond 1,000.00
    loose = {"NPC": "100000.00", "CCPC": "50000.00"}
    rows = [
        {"code": code, "city": city, "caps": tight if code == A else loose, "reserve": "1000000.00"}
        for code, city in ((A, "1000"), (B, "1000"), (C, "2900"))
    ]
    folder.mkdir(parents=True)
    (folder / "participants.json").write_text(json.dumps({"participants": rows}))


def _send(service: ClearingService, packet: str, sender: str, *items: tuple[str, str, int]) -> None:
    """A packet of ordinary credits from ``sender`` through the centre's recorder."""
    made = [Item(i, OC, sender, payee, fen, packet) for i, payee, fen in items]
    with service.centre.lock:
        service.centre.engine.submit_packet(Packet(packet, sender, OC, made), message=packet)
        service.centre.commit()


def _ledger(home: Path) -> Ledger:
    ledger = Ledger.open(f"sqlite:///{home / 'ledger.db'}")
    ledger.create_accounts(
        [
            Account(1, 156, 10111),
            Account(2, 156, 22411),
            Account(3, 156, 22411),
            Account(4, 156, 60211),
        ]
    )
    ledger.create_transfers(
        [
            Transfer(10, 1, 2, 500_00, 156, 1),
            Transfer(11, 1, 3, 250_00, 156, 1),
            Transfer(12, 2, 4, 1_00, 156, 2),
            Transfer(13, 2, 3, 50_00, 156, 3),
            Transfer(14, 3, 2, 10_00, 156, 3, TransferFlags.PENDING, timeout=3600),
            Transfer(15, 3, 2, 7_00, 156, 3),
        ]
    )
    return ledger


def _compliance(site: Site, home: Path, ledger: Ledger) -> None:
    registry = site.compliance
    registry.apply(
        "Z001",
        kind=InstitutionKind.PAYMENT_INSTITUTION,
        name="Zhifu Pay",
        actor="clerk:wang",
        reason="application",
    )
    for step in ("review", "approve", "register"):
        registry.act(step, "Z001", actor="officer:li", reason="file complete")
    now = datetime.now(SHANGHAI)
    rates = {"transfer": Rate(basis_points=10, min_fen=1, max_fen=2_500)}
    dearer = {"transfer": Rate(basis_points=12, min_fen=1, max_fen=3_000)}
    fees = FeeBook.open(home / COMPLIANCE_FILE)
    fees.publish(
        FeeSchedule("Z001", 1, effective_from=now - timedelta(days=40), rates=rates),
        now=now - timedelta(days=40),
    )
    fees.publish(
        FeeSchedule("Z001", 2, effective_from=now + timedelta(days=31), rates=dearer), now=now
    )
    fees.close()
    complaints = ComplaintBook.open(home / COMPLIANCE_FILE)
    complaints.open_complaint("customer:C1", "Z001", "charged twice", at=now - timedelta(days=5))
    complaints.open_complaint("customer:C2", "Z001", "slow refund", at=now - timedelta(hours=1))
    complaints.close()
    reserves = ReserveBook.open(home / COMPLIANCE_FILE)
    reserves.reconcile(
        ledger,
        institution="Z001",
        customer_accounts=[2, 3],
        reserve_account=1,
        day=date(2025, 10, 8),
    )
    reserves.close()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    home = tmp_path / "var"
    site = open_site_at(home, LMK)
    secrets = {}
    for name, role in (("op", "operator"), ("au", "auditor"), ("co", "compliance")):
        secret = site.access.add_user(name, role, PASSWORD, actor="setup")
        assert secret is not None
        secrets[name] = secret
    site.access.add_user("shop", "merchant", PASSWORD, actor="setup")
    _participants(home / "clearing")
    service = ClearingService.create(
        SoftHsm(KeyStore.in_memory()), home=home / "clearing", clock=FixedClock(T0)
    )
    _send(service, "PA1", A, ("A1", C, 600_00), ("A2", C, 600_00))  # A2 queues (cap)
    _send(service, "PB1", B, ("B1", A, 250_00))  # CCPC-1000
    _send(service, "PC1", C, ("C1", B, 100_00), ("C2", A, 30_00))
    ledger = _ledger(home)
    _compliance(site, home, ledger)
    acquirer = SimpleNamespace(services=SimpleNamespace(ledger=ledger))
    services = {"home": home, "clearing": service, "acquirer": acquirer}
    try:
        with TestClient(app=create_app(site=site, services=services)) as client:
            yield Stack(home, site, service, ledger, secrets, client)
    finally:
        service.stop()
        ledger.close()
        site.close()


def fen(shown: str) -> int:
    """A yuan amount as a page shows it ("1,234.56", "-0.05") back in fen."""
    sign = -1 if shown.startswith("-") else 1
    whole, _, cents = shown.lstrip("-").replace(",", "").partition(".")
    return sign * (int(whole) * 100 + int(cents))


def rows_of(document: str, xpath: str) -> list[list[str]]:
    """The cell texts of each row under ``xpath`` (a table or tbody)."""
    tree = lxml.html.fromstring(document)
    return [[c.text_content().strip() for c in tr.xpath("th|td")] for tr in tree.xpath(xpath)]


def test_clearing_page_shows_the_day_positions_queue_and_caps(stack: Stack) -> None:
    client = stack.sign_in("op")
    page = client.get("/console/clearing?lang=en")
    assert page.status_code == 200
    tree = lxml.html.fromstring(page.text)
    assert "BEPS date 2025-10-09, round 1 (closes 10-09 09:00)" in page.text
    assert tree.get_element_by_id("close-round") is not None  # the operator may close
    book = stack.service.system.book
    positions = book.bilateral[book.current]
    for matrix in tree.xpath("//table[@class='matrix']"):
        node = matrix.get("data-node")
        banks = [th.text_content() for th in matrix.xpath("thead/tr/th")][1:-1]
        nets = []
        for row in matrix.xpath("tbody/tr"):
            bank, *cells, net = [c.text_content() for c in row.xpath("th|td")]
            for other, cell in zip(banks, cells, strict=True):
                want = (
                    positions.get((node, bank, other), 0)
                    if bank < other
                    else -positions.get((node, other, bank), 0)
                )
                assert (0 if cell == "·" else fen(cell)) == want
            assert fen(net) == sum(0 if c == "·" else fen(c) for c in cells)
            nets.append(fen(net))
        assert sum(nets) == 0 and fen(matrix.xpath("tfoot//td")[0].text_content()) == 0
    assert [m.get("data-node") for m in tree.xpath("//table[@class='matrix']")] == [
        "NPC",
        "CCPC-1000",
    ]
    assert rows_of(page.text, "//table[@id='queue']/tbody/tr") == [
        [A, "NPC", "ordinary credit", "1", "600.00"]
    ]
    caps = rows_of(page.text, "//table[@id='caps']/tbody/tr")
    for bank, node, cap, _unsettled, _open, headroom in caps:
        assert fen(cap) == book.cap(bank, node)
        assert fen(headroom) == book.available(bank, node)
    assert [r[5] for r in caps if r[:2] == [A, "NPC"]] == ["430.00"]  # 1,000 - 600 + 30
    assert "Nothing" not in rows_of(page.text, "//table[@id='reconciliation-table']/tbody/tr")[0]
    assert rows_of(page.text, "//table[@id='reconciliation-table']/tbody/tr")[0][1:3] == [
        "agree",
        "balanced",
    ]
    zh = client.get("/console/clearing").text
    assert "BEPS 日期 2025-10-09，第 1 场" in zh and "普通贷记" in zh


def test_csv_downloads_parse_and_agree_with_the_engine(stack: Stack) -> None:
    client = stack.sign_in("au")
    system = stack.service.system
    for report in ("positions", "settlements", "queue", "caps"):
        answer = client.get(f"/console/clearing/csv/{report}")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "text/csv; charset=utf-8"
        assert f"beps-{report}-2025-10-09.csv" in answer.headers["content-disposition"]
        assert answer.content.startswith(b"\xef\xbb\xbf")  # a BOM: spreadsheets read UTF-8
        rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
        for row in rows:
            for name in [k for k in row if k.endswith("_fen")]:
                yuan = row.get(name.replace("_fen", "_yuan"))
                if yuan is not None:
                    assert fen(yuan) == int(row[name])
        if report == "positions":
            assert [(r["node"], r["bank_a"], r["bank_b"], int(r["net_fen"])) for r in rows] == [
                (r["node"], r["bank_a"], r["bank_b"], r["net_fen"]) for r in position_rows(system)
            ]
            nets: dict[tuple[str, str], int] = defaultdict(int)
            for r in rows:
                nets[r["round"], r["bank_a"]] += int(r["net_fen"])
                nets[r["round"], r["bank_b"]] -= int(r["net_fen"])
            assert sum(nets.values()) == 0 and len(rows) == 3
        if report == "queue":
            assert [(r["item_id"], int(r["amount_fen"])) for r in rows] == [("A2", 600_00)]
        if report == "settlements":
            assert rows == []  # nothing closed yet
    assert client.get("/console/clearing/csv/secrets").status_code == 404


def test_close_round_moves_the_round_and_shows_its_settlement(stack: Stack) -> None:
    client = stack.sign_in("op")
    before = stack.service.system.books.reserve_balance(A)
    answer = client.post("/console/clearing/close-round?lang=en", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/clearing?lang=en&closed=2025-10-09R1"
    assert stack.service.current_round == (date(2025, 10, 9), 2)
    record = stack.service.system.rounds[date(2025, 10, 9), 1]
    assert record.state is RoundState.SETTLED
    page = client.get(answer.headers["location"]).text
    assert "Closed 2025-10-09R1: 4 items, state settled" in page  # A2 waits: round 2
    results = rows_of(page, "//table[@id='results']/tbody/tr")
    nets = {bank: fen(net) for _round, _state, _items, _day, bank, net in results}
    assert all(r[:2] == ["2025-10-09R1", "settled"] for r in results) and sum(nets.values()) == 0
    assert nets[A] == stack.service.system.books.reserve_balance(A) - before
    settled = list(
        csv.DictReader(
            io.StringIO(client.get("/console/clearing/csv/settlements").content.decode("utf-8-sig"))
        )
    )
    assert {r["bank"]: int(r["net_fen"]) for r in settled} == nets
    assert "Bilateral positions: 2025-10-09R1" in page  # what the closed round netted
    assert rows_of(page, "//table[@id='queue']/tbody/tr") == []
    now = client.get("/console/clearing?lang=en").text
    assert "Bilateral positions: 2025-10-09R2" in now  # A2 netted once R1 settled
    assert rows_of(now, "//table[@data-node='NPC']/tbody/tr[1]")[0][1:] == [
        "·",
        "-600.00",
        "-600.00",
    ]
    assert "Not a round" in client.get("/console/clearing?lang=en&round=yesterday").text
    with stack.site.lock:
        last = stack.site.trail.records()[-1]
    assert (last.actor, last.action, last.object) == ("op", "clearing.round.close", "2025-10-09R1")
    assert last.outcome.startswith("closed: 4 items")


def test_who_may_read_and_who_may_close(stack: Stack) -> None:
    client = stack.sign_in("au")
    page = client.get("/console/clearing")
    assert page.status_code == 200 and 'id="close-round"' not in page.text
    assert client.post("/console/clearing/close-round").status_code == 403
    assert stack.service.current_round == (date(2025, 10, 9), 1)
    assert client.get("/console/ledger").status_code == 200
    assert client.get("/console/compliance").status_code == 200
    client = stack.sign_in("shop")
    for path in (
        "/console/clearing",
        "/console/clearing/csv/positions",
        "/console/ledger",
        "/console/ledger/1",
        "/console/compliance",
    ):
        assert client.get(path).status_code == 403, path
    assert client.post("/console/clearing/close-round").status_code == 403
    client = stack.sign_in("co")
    assert client.get("/console/clearing").status_code == 403
    assert client.get("/console/ledger").status_code == 200
    home = client.get("/console").text
    assert "/console/compliance" in home and "/console/ledger" in home
    assert "/console/clearing" not in home


def test_ledger_totals_by_code_match_the_ledger(stack: Stack) -> None:
    client = stack.sign_in("au")
    page = client.get("/console/ledger?lang=en")
    assert page.status_code == 200
    accounts = {a.id: a for a in stack.ledger.lookup_accounts([1, 2, 3, 4])}
    totals = rows_of(page.text, "//table[@id='totals']/tbody/tr")
    assert [r[0] for r in totals] == ["10111", "22411", "60211"]
    for code, _name, _side, count, debits, credits, _balance, _pending in totals:
        mine = [a for a in accounts.values() if a.code == int(code)]
        assert int(count) == len(mine)
        assert fen(debits) == sum(a.debits_posted for a in mine)
        assert fen(credits) == sum(a.credits_posted for a in mine)
    assert fen(totals[1][6]) == 456_00 + 293_00  # customers: credits less debits
    check = lxml.html.fromstring(page.text).get_element_by_id("balance-check").text_content()
    assert check == "Debits 808.00 = credits 808.00: the books balance"
    subtotals = rows_of(page.text, "//tr[@class='subtotal']")
    assert [fen(r[3]) for r in subtotals] == [750_00, 749_00, 1_00]
    assert rows_of(page.text, "//tr[@class='subtotal' and @data-code='22411']")[0][4] == (
        "10.00 / 10.00"
    )


def test_an_accounts_postings_newest_first_with_running_balance(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = stack.sign_in("op")
    monkeypatch.setattr(ledger_page, "PAGE_SIZE", 2)
    first = client.get("/console/ledger/2?lang=en")
    assert first.status_code == 200
    rows = rows_of(first.text, "//table[@id='postings']/tbody/tr")
    assert [(r[1], r[3], r[4], r[5], r[6]) for r in rows] == [
        ("f", "", "7.00", "456.00", "posted"),
        ("e", "", "10.00", "449.00", "pending (not in the balance)"),
    ]
    account = stack.ledger.lookup_accounts([2])[0]
    assert fen(rows[0][5]) == account.credits_posted - account.debits_posted
    next_link = lxml.html.fromstring(first.text).xpath("//a[@rel='next']/@href")[0]
    second = rows_of(client.get(next_link).text, "//table[@id='postings']/tbody/tr")
    assert [(r[1], r[3], r[4], r[5]) for r in second] == [
        ("d", "50.00", "", "449.00"),
        ("c", "1.00", "", "499.00"),
    ]
    third_link = lxml.html.fromstring(client.get(next_link).text).xpath("//a[@rel='next']/@href")
    third = rows_of(client.get(third_link[0]).text, "//table[@id='postings']/tbody/tr")
    assert [(r[1], r[4], r[5]) for r in third] == [("a", "500.00", "500.00")]
    for bad in ("/console/ledger/99", "/console/ledger/not-hex", "/console/ledger/0"):
        missing = client.get(bad + "?lang=en")
        assert missing.status_code == 404 and "No account" in missing.text
        assert "text/html" in missing.headers["content-type"]


def test_ledger_of_the_clearing_books(stack: Stack) -> None:
    client = stack.sign_in("op")
    page = client.get("/console/ledger?lang=en&books=clearing")
    totals = rows_of(page.text, "//table[@id='totals']/tbody/tr")
    assert [r[0] for r in totals] == ["10031", "20112", "30013"]
    assert fen(totals[0][6]) == 3 * 1_000_000_00  # the three reserves paid in
    assert "the books balance" in page.text


def test_compliance_page_shows_institutions_fees_complaints_reserves(stack: Stack) -> None:
    client = stack.sign_in("co")
    page = client.get("/console/compliance?lang=en")
    assert page.status_code == 200
    institutions = rows_of(page.text, "//table[@id='institutions']/tbody/tr")
    assert institutions[0][:4] == ["Z001", "payment-institution", "Zhifu Pay", "registered"]
    fees = rows_of(page.text, "//table[@id='fees']/tbody/tr")
    assert [(r[1], r[2], r[6]) for r in fees] == [
        ("2", "announced", "12 bp + 0.00, min 0.01, max 30.00"),
        ("1", "in force", "10 bp + 0.00, min 0.01, max 25.00"),
    ]
    counts = lxml.html.fromstring(page.text).get_element_by_id("complaint-counts").text_content()
    assert counts.startswith("2 open, 1 of them overdue")
    complaints = rows_of(page.text, "//table[@id='complaints']/tbody/tr")
    assert [(r[0], r[2], r[7]) for r in complaints] == [
        ("2", "slow refund", ""),
        ("1", "charged twice", "overdue"),
    ]
    reserves = rows_of(page.text, "//table[@id='reserves']/tbody/tr")
    assert reserves == [["Z001", "2025-10-08", "749.00", "750.00", "1.00", "differs", "2"]]
    assert "合规" in client.get("/console/compliance").text


def test_pages_without_the_services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZHIFU_LEDGER_URL", raising=False)
    site = open_site_at(tmp_path / "var", LMK)
    secret = site.access.add_user("op", "operator", PASSWORD, actor="setup")
    assert secret is not None
    try:
        with TestClient(app=create_app(site=site)) as client:
            form = {"user": "op", "password": PASSWORD, "totp": totp(secret, time.time())}
            client.post("/console/sign-in", data=form)
            assert "No BEPS centre runs" in client.get("/console/clearing?lang=en").text
            assert client.get("/console/clearing/csv/positions").status_code == 404
            closing = client.post("/console/clearing/close-round", follow_redirects=False)
            assert closing.status_code == 303
            assert "not open in this process" in client.get("/console/ledger?lang=en").text
            assert client.get("/console/ledger/1").status_code == 404
    finally:
        site.close()

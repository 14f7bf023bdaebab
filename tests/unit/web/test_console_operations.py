"""The operations dashboard and the transactions pages over real card purchases: two terminals
sign on to an in-process acquirer host (the frames carried by a relay, no socket) and buy with
an emulated chip card; the pages are read through Litestar's TestClient as an operator."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from litestar.testing import TestClient

from zhifu.acquirer import AcquirerHost, register_terminal
from zhifu.acquirer.site import Site, open_site_at
from zhifu.barcode.platform.db import Database as BarcodeDatabase
from zhifu.barcode.platform.db import to_us
from zhifu.card.icc.emulated import EmulatedCard
from zhifu.core.clock import SHANGHAI
from zhifu.iso8583.response_codes import lookup
from zhifu.security.access import totp
from zhifu.security.risk import Alert
from zhifu.terminal import Terminal, TransactionResult
from zhifu.terminal.link import RelayLink
from zhifu.web.app import create_app

PASSWORD = "operations test password"
MID_A, MID_B = "898100012345678", "898100087654321"


@dataclass
class Seeded:
    """The host, the site, the card's PAN and the answers of the three purchases."""

    host: AcquirerHost
    site: Site
    home: Path
    pan: str
    approved: TransactionResult  # terminal A, 12.34 yuan
    declined: TransactionResult  # terminal A, wrong PIN (55)
    other: TransactionResult  # terminal B (another merchant, batch 000003), 56.78 yuan


def _terminal(host: AcquirerHost, folder: Path, merchant: str, terminal_id: str) -> Terminal:
    services = host.services
    reg = register_terminal(services.registry, services.hsm, merchant, terminal_id)
    parts = [c.material.reveal().hex() for c in reg.components]
    terminal = Terminal.init(folder / terminal_id, merchant, terminal_id, parts)

    def carry(frame: bytes) -> bytes:
        reply = host.handle(frame[2:], peer="relay")
        assert reply.frame is not None
        return reply.frame[2:]

    terminal.relay = RelayLink(carry)
    assert terminal.sign_on().get("39") == "00"
    return terminal


def _barcode_orders(home: Path) -> None:
    """Two orders of this hour in the data directory's barcode platform: one paid, one not."""
    db = BarcodeDatabase(str(home / "barcode" / "barcode.db"))
    now = to_us(datetime.now(SHANGHAI))
    insert = (
        "INSERT INTO orders (order_id, institution, merchant_id, out_trade_no, direction, amount,"
        " description, status, created_us) VALUES (?, 'zhifu', 'M1', ?, 'collect', ?, 'tea', ?, ?)"
    )
    db.run(lambda cur: cur.execute(insert, ("O1", "t1", 2_500, "PAID", now)).rowcount)
    db.run(lambda cur: cur.execute(insert, ("O2", "t2", 900, "CLOSED", now)).rowcount)
    db.close()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    folder = tmp_path_factory.mktemp("operations")
    host = AcquirerHost.in_memory()
    card = folder / "card.json"
    assert host.services.issuer is not None
    host.services.issuer.issue_card("debit", 100_000, "1234", card)  # type: ignore[attr-defined]
    raw = EmulatedCard.load(card).image.applications[0].internal(0x5A)
    assert raw is not None
    pan = raw.hex().upper().rstrip("F")
    a = _terminal(host, folder, MID_A, "10000001")
    b = _terminal(host, folder, MID_B, "10000002")
    assert b.sign_on().get("39") == "00"  # B's batch is 000003, A's 000002
    approved = a.transact("purchase", card, pin="1234", amount=1_234)
    declined = a.transact("purchase", card, pin="9999", amount=100)
    other = b.transact("purchase", card, pin="1234", amount=5_678)
    assert (approved.response_code, declined.response_code, other.response_code) == (
        "00", "55", "00")  # fmt: skip
    home = folder / "var"
    site = open_site_at(home, {"ZHIFU_LMK": "2b" * 32})
    site.risk.add_alert(Alert(time.time(), "velocity", "alert", "pan", "622800******0001", "many"))
    site.record("ops", "terminal.block", "10000002", "ok")
    _barcode_orders(home)
    yield Seeded(host, site, home, pan, approved, declined, other)
    site.close()
    host.close()


@pytest.fixture
def client(seeded: Seeded) -> Iterator[TestClient]:
    services = {"acquirer": seeded.host, "home": seeded.home}
    with TestClient(app=create_app(site=seeded.site, services=services)) as test_client:
        _sign_in(test_client, seeded.site, "operator")
        yield test_client


def _sign_in(client: TestClient, site: Site, role: str) -> None:
    name = f"user-{role}-{len(site.access.users())}"
    secret = site.access.add_user(name, role, PASSWORD, actor="setup")
    code = totp(secret, time.time()) if secret is not None else ""
    form = {"user": name, "password": PASSWORD, "totp": code}
    assert client.post("/console/sign-in", data=form, follow_redirects=False).status_code == 303


def _seqs(html: str) -> set[int]:
    return {int(s) for s in re.findall(r'href="/console/transactions/(\d+)\?', html)}


def test_the_dashboard_draws_the_day(client: TestClient, seeded: Seeded) -> None:
    page = client.get("/console/dashboard?lang=en")
    assert page.status_code == 200
    html = page.text
    assert '<svg id="card-volume"' in html and '<svg id="card-amount"' in html
    assert '<svg id="card-codes"' in html and f"55 {lookup('55').meaning_en}" in html
    assert re.search(r'id="sum-answers"><dt>Card answers</dt><dd>3</dd>', html)
    assert re.search(r'id="sum-rate"><dt>Approval rate</dt><dd>66.7%</dd>', html)
    assert '<svg id="barcode-volume"' in html and "2 orders, 1 paid, 25.00 yuan" in html
    assert "velocity" in html and "<script" not in html and " style=" not in html
    zh = client.get("/console/dashboard")
    assert "批准率" in zh.text and 'lang="zh-CN"' in zh.text
    assert "/console/dashboard" in client.get("/console?lang=en").text
    other_day = client.get("/console/dashboard?lang=en&date=2020-01-01").text
    assert re.search(r'id="sum-answers"><dt>Card answers</dt><dd>0</dd>', other_day)
    bad = client.get("/console/dashboard?lang=en&date=yesterday")
    assert bad.status_code == 400 and "A date is YYYY-MM-DD" in bad.text


def test_each_criterion_finds_its_rows_only(client: TestClient, seeded: Seeded) -> None:
    everything = _seqs(client.get("/console/transactions?lang=en").text)
    assert len(everything) == 3  # sign-ons are not transactions...
    every = _seqs(client.get("/console/transactions?lang=en&every=1").text)
    assert len(every) == 3 + 3  # ...unless asked for
    a_ok, a_no, b_ok = sorted(everything)
    today = datetime.now(SHANGHAI).date().isoformat()
    cases = {
        "terminal=10000002": {b_ok},
        f"merchant={MID_A}": {a_ok, a_no},
        "batch=000003": {b_ok},
        "batch=2": {a_ok, a_no},
        f"stan={seeded.approved.stan}": {a_ok},
        f"rrn={seeded.approved.rrn}": {a_ok},
        f"order=10000001-000002-{seeded.approved.stan}": {a_ok},
        f"date={today}": everything,
        "date=2020-01-01": set(),
        "status=approved": {a_ok, b_ok},
        "status=declined": {a_no},
        "terminal=10000001&status=approved": {a_ok},
    }
    for query, wanted in cases.items():
        page = client.get(f"/console/transactions?lang=en&{query}")
        assert page.status_code == 200, query
        assert _seqs(page.text) == wanted, query
    bad = client.get("/console/transactions?lang=en&rrn=123")
    assert bad.status_code == 400 and "RRN (37): expected 12 letters or digits" in bad.text
    zh = client.get("/console/transactions?order=nonsense")
    assert zh.status_code == 400 and "订单号" in zh.text
    assert client.get("/console/transactions?page=x").status_code == 400


def test_the_detail_decodes_and_masks(client: TestClient, seeded: Seeded) -> None:
    seq = max(_seqs(client.get(f"/console/transactions?rrn={seeded.approved.rrn}").text))
    page = client.get(f"/console/transactions/{seq}?lang=en")
    assert page.status_code == 200
    html = page.text
    assert "retrieval reference number (RRN)" in html and seeded.approved.rrn in html
    assert "primary account number (PAN)" in html
    assert f"{seeded.pan[:6]}******{seeded.pan[-4:]}" in html
    assert seeded.pan not in html and not re.search(r"62280\d{10,}", html)
    assert 'id="icc-request"' in html and "Application Transaction Counter" in html
    assert "Amount, Authorised" in html or "Amount, Authorized" in html
    assert "60.2" in html and "approved" in html
    transfers = html[html.index('id="transfers"') :]
    assert "12.34" in transfers and "acquirer" in transfers and "issuer" in transfers
    assert "22412" in transfers  # the merchant's pending settlement account
    zh = client.get(f"/console/transactions/{seq}").text
    assert "检索参考号" in zh and "账务分录" in zh
    answer_row = client.get(f"/console/transactions/{seq + 1}?lang=en")  # its response's seq
    assert answer_row.status_code == 404
    other = max(_seqs(client.get("/console/transactions?terminal=10000002").text))
    assert "terminal.block" in client.get(f"/console/transactions/{other}?lang=en").text
    missing = client.get("/console/transactions/999999")
    assert missing.status_code == 404 and "没有序号为 999999 的交易请求" in missing.text
    assert "No transaction request" in client.get("/console/transactions/0?lang=en").text


def test_a_merchant_is_refused(seeded: Seeded) -> None:
    services = {"acquirer": seeded.host, "home": seeded.home}
    with TestClient(app=create_app(site=seeded.site, services=services)) as client:
        _sign_in(client, seeded.site, "merchant")
        for path in ("/console/dashboard", "/console/transactions", "/console/transactions/1"):
            assert client.get(path).status_code == 403, path


def test_without_the_services_the_pages_say_so(seeded: Seeded, tmp_path: Path) -> None:
    with TestClient(app=create_app(site=seeded.site, services={"home": tmp_path})) as client:
        _sign_in(client, seeded.site, "auditor")
        dashboard = client.get("/console/dashboard?lang=en").text
        assert 'id="no-acquirer"' in dashboard and 'id="no-barcode"' in dashboard
        assert 'id="no-acquirer"' in client.get("/console/transactions?lang=en").text
        assert client.get("/console/transactions/1?lang=en").status_code == 200

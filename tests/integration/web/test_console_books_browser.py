"""The BEPS clearing, ledger and compliance pages in Chromium against a real ``zhifu serve``.

The stack here is this module's own: its data directory holds a ``participants.json`` with three
banks' SM2 public keys and reserves, and the BEPS centres run on a rehearsal clock (a Thursday,
08:30, round 1) so that a closed round settles at once. Two banks send signed credit transfers
to the served centre over HTTP (their MBFE clients, as a bank's front-end would); an operator
signs in, presses "close the round", sees the round's settlement in the results, downloads a
CSV, opens the ledger and compliance pages, switches the language; each page fits a 375-pixel
phone. Screenshots: ``console-clearing.png``, ``console-ledger.png``, ``console-compliance.png``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from tests.integration.web.browser import (
    Served,
    Visit,
    serving,
    sign_in,
)

from zhifu.acquirer.site import COMPLIANCE_FILE
from zhifu.clearing import BusinessType, Item
from zhifu.clearing.mbfe import MbfeClient
from zhifu.compliance import (
    ComplaintBook,
    FeeBook,
    FeeSchedule,
    InstitutionKind,
    InstitutionRegistry,
    Rate,
)
from zhifu.core.clock import SHANGHAI
from zhifu.security.hsm.soft import SoftHsm
from zhifu.security.keys import KeyAlgorithm, KeyHandle, KeyUsage
from zhifu.security.store import KeyStore

A, B, C = "102100099996", "103100000026", "104290003791"
CITIES = {A: "1000", B: "1000", C: "2900"}
OC = BusinessType.ORDINARY_CREDIT
CLOCK = "2025-10-09T08:30:00+08:00"  # a Thursday: round 1, settled as soon as it closes


class Bank:
    """A bank's own security module and SM2 signing key."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.hsm = SoftHsm(KeyStore.in_memory())
        self.key: KeyHandle = self.hsm.generate_key(KeyUsage.SIGNING, KeyAlgorithm.SM2)

    def client(self, served: Served) -> MbfeClient:
        centre = bytes.fromhex((served.home / "clearing" / "centre.pub").read_text().strip())
        return MbfeClient(self.code, self.key, self.hsm, served.url, centre_key=centre)


@pytest.fixture(scope="module")
def banks() -> dict[str, Bank]:
    return {code: Bank(code) for code in CITIES}


def _prepare(home: Path, banks: dict[str, Bank]) -> Path:
    folder = home / "clearing"
    folder.mkdir(parents=True)
    caps = {"NPC": "100000.00", "CCPC": "50000.00"}
    rows = [
        {"code": code, "city": city, "caps": caps, "reserve": "1000000.00",
         "public_key": banks[code].hsm.get_public_key(banks[code].key).hex()}
        for code, city in CITIES.items()
    ]  # fmt: skip
    (folder / "participants.json").write_text(json.dumps({"participants": rows}))
    clock = home / "beps-clock.txt"
    clock.write_text(CLOCK)
    return clock


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, banks: dict[str, Bank]) -> Iterator[Served]:
    """``zhifu serve`` on a data directory with participants who can sign, on a set clock."""
    home = tmp_path_factory.mktemp("serve-books")
    clock = _prepare(home, banks)
    with serving(home, {"ZHIFU_BEPS_CLOCK_FILE": str(clock)}) as found:
        yield found


def _compliance_records(home: Path) -> None:
    """An institution, its fee schedules and two complaints, in the data directory's books."""
    path = home / COMPLIANCE_FILE
    registry = InstitutionRegistry.open(path)
    registry.apply("Z001", kind=InstitutionKind.PAYMENT_INSTITUTION, name="Zhifu Pay",
                   actor="clerk:wang", reason="application")  # fmt: skip
    for step in ("review", "approve", "register"):
        registry.act(step, "Z001", actor="officer:li", reason="file complete")
    registry.close()
    now = datetime.now(SHANGHAI)
    fees = FeeBook.open(path)
    rates = {"transfer": Rate(basis_points=10, min_fen=1, max_fen=2_500)}
    fees.publish(FeeSchedule("Z001", 1, effective_from=now, rates=rates), now=now)
    later = {"transfer": Rate(basis_points=12, min_fen=1, max_fen=3_000)}
    fees.publish(FeeSchedule("Z001", 2, now + timedelta(days=31), later), now=now)
    fees.close()
    complaints = ComplaintBook.open(path)
    complaints.open_complaint("customer:C1", "Z001", "charged twice", at=now - timedelta(days=3))
    complaints.close()


def test_close_a_round_and_read_the_books(served: Served, banks: dict[str, Bank],
                                          visit: Visit) -> None:  # fmt: skip
    sent = banks[A].client(served).send_items([Item("A1", OC, A, C, 600_00)])
    assert [line.processing.status.value for line in sent.lines] == ["PR03"]  # netted
    banks[B].client(served).send_items([Item("B1", OC, B, A, 250_00), Item("B2", OC, B, C, 75_00)])
    sign_in(visit, served, "ops", "operator")
    page = visit.page
    page.goto(f"{served.url}/console/clearing")
    assert "2025-10-09，第 1 场" in page.locator("#beps-day").inner_text()
    assert page.locator("table.matrix").count() == 2  # NPC and CCPC-1000
    assert page.locator(".zero-sum.ok").count() == 2
    page.click("#close-round")
    page.wait_for_url("**/console/clearing?lang=zh&closed=2025-10-09R1")
    assert "已关闭 2025-10-09R1：3 笔，状态 已清算" in page.locator("#closed").inner_text()
    assert "2025-10-09，第 2 场" in page.locator("#beps-day").inner_text()
    results = page.locator("#results tbody tr")
    assert results.count() == 3
    nets = {}
    for row in results.all():
        cells = [c.inner_text() for c in row.locator("td").all()]
        assert cells[:2] == ["2025-10-09R1", "已清算"]
        nets[cells[4]] = cells[5]
    assert nets == {A: "-350.00", B: "-325.00", C: "675.00"}
    visit.screenshot("console-clearing.png")
    with page.expect_download() as waiting:
        page.click("#csv-settlements")
    download = Path(waiting.value.path())
    rows = list(csv.DictReader(io.StringIO(download.read_bytes().decode("utf-8-sig"))))
    assert {r["bank"]: int(r["net_fen"]) for r in rows} == {A: -350_00, B: -325_00, C: 675_00}
    page.click("#lang-switch")
    page.wait_for_url("**/console/clearing?lang=en*")
    assert page.locator("h1").inner_text() == "BEPS clearing"
    assert page.locator("#results tbody tr").first.locator("td").nth(1).inner_text() == "settled"

    page.goto(f"{served.url}/console/ledger?lang=en&books=clearing")
    assert "the books balance" in page.locator("#balance-check").inner_text()
    reserves = page.locator("#totals tbody tr").first.locator("td")
    assert reserves.first.inner_text() == "10031"
    assert reserves.nth(6).inner_text() == "3,000,000.00"  # reserves move between banks only
    page.locator("tr.code#code-10031 ~ tr a").first.click()
    page.wait_for_url("**/console/ledger/*")
    assert page.locator("#postings tbody tr").count() >= 2  # funded, then settled
    page.goto(f"{served.url}/console/ledger")
    assert page.locator("#balance-check").inner_text().endswith("借贷相等")
    page.goto(f"{served.url}/console/ledger?books=clearing")
    visit.screenshot("console-ledger.png")

    _compliance_records(served.home)
    sign_in(visit, served, "officer", "compliance")  # not the operator's page
    page.goto(f"{served.url}/console/compliance?lang=en")
    assert page.locator("#institutions tbody tr").first.locator("td").nth(3).inner_text() == (
        "registered")  # fmt: skip
    assert page.locator("#fees tbody tr").count() == 2
    assert page.locator("#complaint-counts").inner_text().startswith("1 open, 1 of them overdue")
    assert page.locator("#reserve-how").is_visible()
    page.click("#lang-switch")
    page.wait_for_url("**/console/compliance?lang=zh")
    visit.screenshot("console-compliance.png")
    visit.check_offline()


def test_the_books_pages_fit_a_phone(served: Served, phone: Visit) -> None:
    sign_in(phone, served, "auditor-phone", "auditor")  # reads all three
    for path in ("/console/clearing", "/console/ledger", "/console/compliance?lang=en",
                 "/console/ledger?books=clearing"):  # fmt: skip
        phone.page.goto(f"{served.url}{path}")
        assert phone.page.locator("h1").is_visible()
        phone.fits()
    phone.page.locator("tr.code ~ tr a").first.click()  # an account of the clearing books
    phone.page.wait_for_url("**/console/ledger/*")
    phone.fits()
    phone.page.goto(f"{served.url}/console/clearing")
    phone.fits()
    phone.screenshot("console-clearing-phone.png")
    phone.check_offline()

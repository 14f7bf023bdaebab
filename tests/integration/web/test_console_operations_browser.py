"""The operations dashboard and the transactions pages in a real browser, against ``zhifu
serve`` holding one real purchase: a card issued, a terminal registered, signed on and buying
over the acquirer port with zhifu's own command line. An operator signs in, opens both pages on
a desktop and on a 375-pixel phone, switches the language, searches and opens the detail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from tests.integration.web.browser import Served, Visit, sign_in

MID, TID = "898100012345678", "10000091"


def _zhifu(served: Served, *argv: str) -> dict[str, Any]:
    """``zhifu ARGV --json`` on the running stack's data directory; its JSON answer."""
    env = {**os.environ, "ZHIFU_HOME": str(served.home)}
    env.pop("ZHIFU_LMK", None)
    env.pop("ZHIFU_LMK_FILE", None)
    done = subprocess.run([sys.executable, "-m", "zhifu.cli", *argv, "--json"], env=env,
                          capture_output=True, text=True, timeout=120, check=True)  # fmt: skip
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


@pytest.fixture(scope="module")
def purchase(served: Served, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One approved purchase of 12.34 yuan through the acquirer port."""
    folder = tmp_path_factory.mktemp("shop")
    card, state = str(folder / "card.json"), str(folder / "terminal")
    _zhifu(served, "issuer", "card", "issue", "--product", "debit", "--balance", "1000.00",
           "--pin", "1234", "--out", card)  # fmt: skip
    reg = _zhifu(served, "acquirer", "register-terminal", "--merchant", MID, "--terminal", TID)
    parts = [c["component"] for c in reg["components"]]
    _zhifu(served, "terminal", "init", "--state", state, "--merchant", MID, "--terminal", TID,
           "--tmk-component", parts[0], "--tmk-component", parts[1])  # fmt: skip
    _zhifu(served, "terminal", "signon", "--state", state, "--host",
           f"127.0.0.1:{served.acquirer_port}")  # fmt: skip
    sale = _zhifu(served, "terminal", "purchase", "--state", state, "--card", card, "--pin",
                  "1234", "--amount", "12.34")  # fmt: skip
    assert sale["approved"] is True
    return sale


def test_dashboard_and_transactions_on_a_desktop(
    served: Served, purchase: dict[str, Any], visit: Visit
) -> None:
    sign_in(visit, served, "ops-desk", "operator", "zh")
    page = visit.page
    page.goto(f"{served.url}/console/dashboard")
    assert page.locator("h1").inner_text() == "运营看板"
    assert page.locator("#card-volume").is_visible()
    assert page.locator("#sum-answers dd").inner_text() == "1"
    assert page.locator("#sum-rate dd").inner_text() == "100.0%"
    visit.fits()
    visit.screenshot("console-dashboard.png")
    page.click("#lang-switch")
    page.wait_for_url("**/console/dashboard?lang=en*")
    assert page.locator("h1").inner_text() == "Operations dashboard"
    page.goto(f"{served.url}/console/transactions?lang=en")
    page.fill("input[name=terminal]", TID)
    page.click("#search button[type=submit]")
    page.wait_for_url(f"**terminal={TID}*")
    rows = page.locator("#exchanges tbody tr")
    assert rows.count() == 1 and "12.34" in rows.first.inner_text()
    visit.screenshot("console-transactions.png")
    rows.first.locator("a").click()
    page.wait_for_url("**/console/transactions/*")
    assert "retrieval reference number (RRN)" in page.locator("#response").inner_text()
    assert page.locator("#icc-request li").count() > 5  # field 55's tags, named
    assert "12.34" in page.locator("#transfers").inner_text()
    page.click("#lang-switch")
    assert "检索参考号" in page.locator("#response").inner_text()
    visit.screenshot("console-transaction.png")
    visit.check_offline()


def test_dashboard_and_transactions_on_a_phone(
    served: Served, purchase: dict[str, Any], phone: Visit
) -> None:
    sign_in(phone, served, "ops-phone", "operator", "en")
    page = phone.page
    page.goto(f"{served.url}/console/dashboard?lang=en")
    assert page.locator("#card-amount").is_visible()
    phone.fits()
    phone.screenshot("console-dashboard-phone.png")
    page.goto(f"{served.url}/console/transactions?lang=en&status=approved")
    assert page.locator("#exchanges tbody tr").count() == 1
    phone.fits()
    phone.screenshot("console-transactions-phone.png")
    page.click("#lang-switch")
    page.wait_for_url("**lang=zh*")
    assert page.locator("h1").inner_text() == "交易查询"
    phone.fits()
    phone.check_offline()

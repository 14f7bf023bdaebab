"""The wallet pays the checkout in a real browser, through an image: the checkout (desktop)
shows a dynamic collection code, the browser's own screenshot of that QR is uploaded to the
wallet on a 375-pixel phone page, the customer pays, and the checkout turns "paid" by itself.
The wallet's payment code is refreshed by the page's timer (the page's clock is driven by
Playwright, so nothing waits for real time)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from playwright.sync_api import expect
from tests.integration.web.browser import ROOT, SCREENSHOTS, Served, Visit, sign_in

WHOLE_NUMBER = re.compile(r"^\d+$")


def _copy(name: str) -> None:
    """Keep the final screenshot in docs/screenshots/ as well."""
    target = ROOT / "docs" / "screenshots"
    if SCREENSHOTS.resolve() != target.resolve():
        shutil.copyfile(SCREENSHOTS / name, target / name)


def test_a_wallet_pays_a_checkout_code_read_from_its_image(
    served: Served, visit: Visit, phone: Visit, tmp_path: Path
) -> None:
    sign_in(visit, served, "cashier", "operator")
    till = visit.page
    till.goto(f"{served.url}/console/checkout")
    assert till.locator("h1").inner_text() == "收银台"
    till.fill("#collect-form input[name=amount]", "12.34")
    till.click("#collect-form button[type=submit]")
    till.wait_for_url("**order=*")
    qr = till.locator("#collect-qr")
    expect(qr).to_be_visible()
    assert "¥12.34" in till.locator("#order").inner_text()
    expect(till.locator("#order-status")).to_have_attribute("data-status", "CREATED")
    visit.fits()
    image = tmp_path / "collection-code.png"
    qr.screenshot(path=str(image))  # what the browser shows, as the customer's photo of it
    visit.screenshot("console-checkout.png")
    _copy("console-checkout.png")

    sign_in(phone, served, "customer", "operator")
    wallet = phone.page
    wallet.goto(f"{served.url}/console/wallet")
    assert wallet.locator("h1").inner_text() == "演示钱包"
    expect(wallet.locator("#balance")).to_have_text("1,000.00")
    phone.fits()
    wallet.set_input_files("#scan-file", str(image))
    wallet.click("#scan-form button[type=submit]")
    expect(wallet.locator("#confirm")).to_be_visible()
    expect(wallet.locator("#confirm-amount")).to_have_text("12.34")
    expect(wallet.locator("#confirm-payee")).to_have_text("演示商户 cashier")
    wallet.click("#pay-button")
    expect(wallet.locator("#pay-result")).to_contain_text("付款 ¥12.34")
    expect(wallet.locator("#balance")).to_have_text("987.66")
    expect(wallet.locator("#history tbody tr").first).to_contain_text("-12.34")
    phone.fits()
    phone.screenshot("console-wallet.png")
    _copy("console-wallet.png")

    # the checkout's page turns "paid" by itself (its script polls the order)
    expect(till.locator("#order-status")).to_have_attribute("data-status", "PAID")
    expect(till.locator("#order-status")).to_have_text("已支付")
    expect(till.locator("#collect-qr")).to_have_count(0)
    till.click("#lang-switch")  # the language switch keeps the order shown
    till.wait_for_url("**lang=en**")
    assert till.locator("h1").inner_text() == "Checkout"
    expect(till.locator("#order-status")).to_have_text("Paid")
    visit.fits()
    wallet.goto(f"{served.url}/console/checkout?lang=en")  # the checkout fits a phone too
    wallet.fill("#collect-form input[name=amount]", "0.01")
    wallet.click("#collect-form button[type=submit]")
    expect(wallet.locator("#collect-qr")).to_be_visible()
    phone.fits()
    visit.check_offline()
    phone.check_offline()


def test_the_wallet_refreshes_its_payment_code_before_it_expires(
    served: Served, phone: Visit
) -> None:
    sign_in(phone, served, "walker", "operator", "en")
    page = phone.page
    page.clock.install()  # the page's timers run when the test moves its clock
    page.goto(f"{served.url}/console/wallet?lang=en")
    assert page.locator("h1").inner_text() == "Demo wallet"
    figure = page.locator("#paycode")
    expect(figure).to_have_attribute("data-scheduled", WHOLE_NUMBER)
    scheduled = int(figure.get_attribute("data-scheduled") or 0)
    deadline = int(figure.get_attribute("data-deadline") or 0)
    now = int(page.evaluate("Date.now()"))
    assert now < scheduled < deadline  # a refresh is planned, before the code expires
    before = page.locator("#paycode-digits").inner_text()
    page.clock.run_for(scheduled - now + 100)
    expect(figure).to_have_attribute("data-count", "1")
    assert page.locator("#paycode-digits").inner_text() != before
    assert page.locator("#paycode-expiry").inner_text().startswith("Valid until")
    assert int(figure.get_attribute("data-scheduled") or 0) < int(
        figure.get_attribute("data-deadline") or 0
    )
    page.click("#lang-switch")
    page.wait_for_url("**lang=zh**")
    assert page.locator("h1").inner_text() == "演示钱包"
    phone.fits()
    phone.check_offline()

"""The wallet pays the checkout in a real browser, through an image: the checkout (desktop)
shows a dynamic collection code, the browser's own screenshot of that QR is uploaded to the
wallet on a 375-pixel phone page, the customer pays, and the checkout turns "paid" by itself.
The wallet's payment code is refreshed by the page's timer (the page's clock is driven by
Playwright, so nothing waits for real time), and a code shown to a camera (Chromium's fake
camera playing a video of the QR) is read and paid."""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image
from playwright.sync_api import Browser, expect
from tests.integration.web.browser import (
    CHROMIUM,
    LOCAL_HOST,
    PHONE,
    Served,
    Visit,
    open_visit,
    sign_in,
)

WHOLE_NUMBER = re.compile(r"^\d+$")


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


def _y4m(png: Path, out: Path, size: tuple[int, int] = (640, 480)) -> None:
    """A one-frame Y4M video (what Chromium's fake camera plays in a loop) of ``png``, grey,
    centred on white."""
    frame = Image.new("L", size, 255)
    code = Image.open(png).convert("L")
    frame.paste(code, ((size[0] - code.width) // 2, (size[1] - code.height) // 2))
    chroma = bytes([128]) * (size[0] // 2 * (size[1] // 2))
    header = f"YUV4MPEG2 W{size[0]} H{size[1]} F30:1 Ip A1:1 C420jpeg\n".encode()
    out.write_bytes(header + b"FRAME\n" + frame.tobytes() + chroma + chroma)


def test_the_wallet_reads_a_collection_code_from_the_camera(
    served: Served, visit: Visit, browser: Browser, tmp_path: Path
) -> None:
    sign_in(visit, served, "camera-till", "operator", "en")
    till = visit.page
    till.goto(f"{served.url}/console/checkout?lang=en")
    till.fill("#collect-form input[name=amount]", "3.21")
    till.click("#collect-form button[type=submit]")
    image = tmp_path / "code.png"
    till.locator("#collect-qr").screenshot(path=str(image))
    video = tmp_path / "camera.y4m"
    _y4m(image, video)
    camera = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              f"--use-file-for-fake-video-capture={video}"]  # fmt: skip
    rules = f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {LOCAL_HOST}"
    with_camera = browser.browser_type.launch(executable_path=CHROMIUM, args=[rules, *camera])
    try:
        phone, context = open_visit(with_camera, PHONE)
        sign_in(phone, served, "camera-customer", "operator", "en")
        wallet = phone.page
        wallet.goto(f"{served.url}/console/wallet?lang=en")
        expect(wallet.locator("#camera")).to_be_visible()  # offered: there is a camera
        wallet.click("#camera-start")
        expect(wallet.locator("#camera-shot")).to_be_visible()
        wallet.click("#camera-shot")
        expect(wallet.locator("#confirm-amount")).to_have_text("3.21")
        wallet.click("#pay-button")
        expect(wallet.locator("#pay-result")).to_contain_text("Paid ¥3.21")
        expect(till.locator("#order-status")).to_have_attribute("data-status", "PAID")
        phone.fits()
        phone.check_offline()
        assert phone.pans == []
        context.close()  # type: ignore[attr-defined]
    finally:
        with_camera.close()

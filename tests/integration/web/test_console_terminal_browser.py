"""The virtual mPOS in Chromium: a purchase typed on the page's keypad with the PIN, against
the acquirer of a real ``zhifu serve`` over TCP; the PIN's digits never leave the page in clear
(every request body the browser sent is inspected)."""

from __future__ import annotations

import json

from tests.integration.web.browser import Served, Visit, sign_in

from zhifu.web.desk import TEST_PIN


def _press(visit: Visit, keys: str) -> None:
    names = {"O": "confirm", "C": "correct", "X": "cancel"}
    for key in keys:
        visit.page.click(f"[data-key='{names.get(key, key)}']")


def _phase(visit: Visit, phase: str) -> None:
    visit.page.wait_for_selector(f"#screen[data-phase='{phase}']")


def test_a_purchase_on_the_virtual_mpos_with_the_pin_sealed(served: Served, visit: Visit) -> None:
    sign_in(visit, served, "pos", "operator")
    page = visit.page
    page.goto(f"{served.url}/console/terminal")
    _phase(visit, "idle")
    assert page.locator("#card option").count() == 3
    assert all("*" in t for t in page.locator("#card option").all_inner_texts())
    _press(visit, "O1")  # the menu, then 1: purchase
    _phase(visit, "amount")
    _press(visit, "123459C")  # 1,234.59 then one digit corrected: 123.45 yuan
    _press(visit, "O")
    _phase(visit, "card")
    page.select_option("#card", "0")  # the debit chip card
    before_pin = len(visit.posted)
    page.click("[data-how='insert']")
    page.wait_for_selector("#screen[data-seal]")
    _press(visit, TEST_PIN)
    page.wait_for_function(
        f"document.getElementById('pin-entry').textContent.length === {len(TEST_PIN)}"
    )
    assert page.locator("#pin-entry").inner_text() == "*" * len(TEST_PIN)
    _press(visit, "O")
    _phase(visit, "result")
    receipt = page.locator("#receipt").inner_text()
    assert "123.45" in receipt and "622800******" in receipt
    visit.screenshot("console-terminal.png")

    sent = [json.loads(body) for body in visit.posted[before_pin:]]
    sealed = [body for body in sent if "sealed" in body]
    assert len(sealed) == len(TEST_PIN)
    assert [body["key"] for body in sent if "key" in body] == ["confirm"]
    assert all(len(body["sealed"]) > 300 for body in sealed)  # an RSA-2048 block each
    assert not any(TEST_PIN in body for body in visit.posted)
    assert not any(f'"key": "{d}"' in b or f'"key":"{d}"' in b
                   for b in visit.posted[before_pin:] for d in "0123456789")  # fmt: skip
    _press(visit, "O")
    _phase(visit, "idle")
    visit.check_offline()


def test_the_terminal_page_fits_a_phone(served: Served, phone: Visit) -> None:
    sign_in(phone, served, "shop", "merchant", "en")
    phone.page.goto(f"{served.url}/console/terminal?lang=en")
    _phase(phone, "idle")
    assert phone.page.locator("h1").inner_text() == "Virtual mPOS terminal"
    phone.fits()
    phone.screenshot("console-terminal-phone.png")
    phone.check_offline()

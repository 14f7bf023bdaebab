"""The pages a person opens, in a real browser, against ``zhifu serve`` with no network.

Debian's Chromium, driven by Playwright, opens the landing page, the OpenAPI page and the error
catalogue of a real ``zhifu serve`` (web app, acquirer host and BEPS centres) on 127.0.0.1. Every
request that would leave 127.0.0.1 is aborted and recorded, and each test asserts there was
none, that the page logged no error, and that it shows its content. Each test saves what the
browser showed under ``build/screenshots/`` (``ZHIFU_SCREENSHOTS`` names another folder;
``make screenshots`` refreshes the committed ones in ``docs/screenshots/``).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

from tests.integration.web.browser import Served, Visit, add_user

from zhifu.security.access import totp


def test_landing_page_in_chinese_then_english(served: Served, visit: Visit) -> None:
    page = visit.page
    page.goto(f"{served.url}/")
    assert page.locator("h1").inner_text() == "zhifu 支付"
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert f"监听 127.0.0.1:{served.acquirer_port}" in page.locator("#acquirer").inner_text()
    assert "NPC（国家处理中心）" in page.locator("#beps").inner_text()
    assert page.locator("#version").inner_text() != ""
    visit.screenshot("landing.png")
    page.get_by_role("link", name="English").click()
    page.wait_for_url("**/?lang=en")
    assert page.get_by_text("Running in this process").is_visible()
    assert (
        f"Listening on 127.0.0.1:{served.acquirer_port}" in page.locator("#acquirer").inner_text()
    )
    visit.screenshot("landing-en.png")
    visit.check_offline()


def test_schema_page_lists_the_operations(served: Served, visit: Visit) -> None:
    page = visit.page
    page.goto(f"{served.url}/schema")
    operations = page.locator(".opblock")
    operations.first.wait_for(state="visible")
    with urllib.request.urlopen(f"{served.url}/schema/openapi.json", timeout=5) as answer:
        paths = json.load(answer)["paths"]
    count = sum(
        len([m for m in item if m in ("get", "post", "put", "delete")]) for item in paths.values()
    )
    assert operations.count() == count
    assert page.locator(".info .title").inner_text().startswith("zhifu")
    micropay = page.locator("[id$='-V1MicropayMicropay']")  # operationId
    micropay.locator(".opblock-summary").click()
    example = micropay.locator(".body-param__example, .microlight, pre").first
    example.wait_for(state="visible")
    assert "921998500200181912" in micropay.inner_text()  # the real example, not a random one
    micropay.evaluate("element => element.scrollIntoView()")
    visit.screenshot("schema.png", full_page=False)
    visit.check_offline()


def test_a_doc_url_opens_its_section(served: Served, visit: Visit) -> None:
    try:
        urllib.request.urlopen(f"{served.url}/no/such/page", timeout=5)
    except urllib.error.HTTPError as refusal:
        error = json.loads(refusal.read())["error"]
    else:
        raise AssertionError("an unknown path must answer 404")
    page = visit.page
    page.goto(f"{served.url}{error['doc_url']}")
    section = page.locator(f"#{error['code']}")
    assert section.is_visible() and section.inner_text() == error["code"]
    assert section.evaluate("e => e.getBoundingClientRect().top") < 200  # scrolled to it
    assert page.locator("h1").first.inner_text() == "Error catalogue (HTTP API)"
    visit.screenshot("errors.png", full_page=False)
    visit.check_offline()


def test_sign_in_with_totp_then_the_audit_trail(served: Served, visit: Visit) -> None:
    password = "a console password"
    secret = add_user(served, "li", "admin", password)
    page = visit.page
    page.goto(f"{served.url}/console")  # not signed in: to the sign-in page
    page.wait_for_url("**/console/sign-in**")
    assert page.locator("h1").inner_text() == "登录"
    page.fill("input[name=user]", "li")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")  # no code: a privileged role needs one
    assert "6 位动态口令" in page.locator(".error").inner_text()
    page.get_by_role("link", name="English").click()
    page.fill("input[name=user]", "li")
    page.fill("input[name=password]", password)
    page.fill("input[name=totp]", totp(secret, time.time()))
    visit.screenshot("console-sign-in.png")
    page.click("button[type=submit]")
    page.wait_for_url("**/console?lang=en")
    assert "Signed in: li (admin)" in page.locator("#who").inner_text()
    page.get_by_role("link", name="Audit trail").click()
    assert page.locator("#verdict").inner_text().startswith("The chain holds")
    actions = page.locator("#trail tbody td:nth-child(4)").all_inner_texts()
    assert "session.start" in actions and "user.add" in actions
    visit.screenshot("console-audit.png")
    page.goto(f"{served.url}/console/risk?lang=en")
    assert page.locator("h1").inner_text() == "Risk alerts and blocks"
    assert page.locator("#alerts").count() == 1 and page.locator("#blocks").count() == 1
    cookie = next(c for c in page.context.cookies() if c["name"] == "zhifu_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    visit.check_offline()

"""The pages a person opens, in a real browser, against ``zhifu serve`` with no network.

Debian's Chromium, driven by Playwright, opens the landing page, the OpenAPI page and the error
catalogue of a real ``zhifu serve`` (web app, acquirer host and BEPS centres) on 127.0.0.1. Every
request that would leave 127.0.0.1 is aborted and recorded, and each test asserts there was
none, that the page logged no error, and that it shows its content. Each test saves what the
browser showed under ``build/screenshots/`` (``ZHIFU_SCREENSHOTS`` names another folder;
``make screenshots`` refreshes the committed ones in ``docs/screenshots/``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, Route, sync_playwright

from zhifu.security.access import totp

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = Path(os.environ.get("ZHIFU_SCREENSHOTS") or ROOT / "build" / "screenshots")
LOCAL_HOST = "127.0.0.1"
TIMEOUT_MS = 30_000

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCAL_HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Served:
    """A running ``zhifu serve``."""

    url: str
    acquirer_port: int
    home: Path


def _wait_healthy(url: str, proc: subprocess.Popen[str], limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, "zhifu serve stopped while starting"
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer,
        ):
            if answer.status == 200:
                return
        time.sleep(0.3)
    raise AssertionError(f"zhifu serve did not answer /healthz within {limit_s} s")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    web, acquirer = _free_port(), _free_port()
    home = tmp_path_factory.mktemp("serve")
    env = {**os.environ, "ZHIFU_HOME": str(home)}
    env.pop("ZHIFU_LMK", None)
    env.pop("ZHIFU_LMK_FILE", None)
    command = [sys.executable, "-m", "zhifu.cli", "serve", "--port", str(web)]
    proc = subprocess.Popen(
        [*command, "--acquirer-port", str(acquirer)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://{LOCAL_HOST}:{web}"
    try:
        _wait_healthy(url, proc)
        yield Served(url, acquirer, home)
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert "Traceback" not in output, output


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        yield _launch(playwright)


def _launch(playwright: Playwright) -> Browser:
    # Resolve no name but the loopback one: the browser itself cannot reach out either.
    rules = f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {LOCAL_HOST}"
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[rules])


@dataclass
class Visit:
    """A page with every request and every error it made recorded."""

    page: Page
    requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def check_offline(self) -> None:
        """Nothing left 127.0.0.1, nothing failed."""
        assert self.blocked == []
        assert self.errors == []
        for url in self.requests:
            parts = urlsplit(url)
            assert parts.scheme in ("data", "blob") or parts.hostname == LOCAL_HOST, url

    def screenshot(self, name: str, *, full_page: bool = True) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = str(SCREENSHOTS / name)
        self.page.screenshot(path=path, full_page=full_page, animations="disabled")


@pytest.fixture
def visit(browser: Browser) -> Iterator[Visit]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    seen = Visit(page)

    def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname == LOCAL_HOST:
            route.continue_()
        else:
            seen.blocked.append(route.request.url)
            route.abort("internetdisconnected")

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.errors.append(message.text)

    context.route("**/*", only_local)
    page.on("request", lambda request: seen.requests.append(request.url))
    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    try:
        yield seen
    finally:
        context.close()


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


def _add_user(served: Served, name: str, role: str, password: str) -> bytes:
    """``zhifu user add`` against the running stack's data directory; the TOTP secret."""
    env = {**os.environ, "ZHIFU_HOME": str(served.home)}
    env.pop("ZHIFU_LMK", None)
    env.pop("ZHIFU_LMK_FILE", None)
    done = subprocess.run(
        [sys.executable, "-m", "zhifu.cli", "user", "add", name, "--role", role,
         "--password-stdin", "--json"],
        input=password + "\n", capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    return base64.b32decode(json.loads(done.stdout)["totp_secret"])


def test_sign_in_with_totp_then_the_audit_trail(served: Served, visit: Visit) -> None:
    password = "a console password"
    secret = _add_user(served, "li", "admin", password)
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

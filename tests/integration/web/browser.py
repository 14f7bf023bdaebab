"""The browser tests' shared fixtures and helpers: a real ``zhifu serve`` with no network, Debian's
Chromium driven by Playwright, and a :class:`Visit` that records every request, every error and
every answer the page received.

Every answer a page received (HTML, JSON, text, SVG) is scanned for a card number in clear:
no page may show more than the first 6 and the last 4 digits of a PAN (:func:`pan_leaks`).
Screenshots go under ``build/screenshots/`` (``ZHIFU_SCREENSHOTS`` names another folder;
``make screenshots`` refreshes the committed ones in ``docs/screenshots/``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    Response,
    Route,
    sync_playwright,
)

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


@contextlib.contextmanager
def serving(home: Path, env: dict[str, str] | None = None) -> Iterator[Served]:
    """``zhifu serve`` on free ports over the data directory ``home`` (``env`` added to the
    environment, whose LMK and database settings are dropped), stopped at the end; its output
    must hold no traceback."""
    web, acquirer = _free_port(), _free_port()
    environ = {**os.environ, "ZHIFU_HOME": str(home)}
    for name in ("ZHIFU_LMK", "ZHIFU_LMK_FILE", "ZHIFU_DATABASE_URL", "ZHIFU_LEDGER_URL"):
        environ.pop(name, None)
    command = [sys.executable, "-m", "zhifu.cli", "serve", "--port", str(web)]
    proc = subprocess.Popen(
        [*command, "--acquirer-port", str(acquirer)],
        env={**environ, **(env or {})},
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
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("serve")) as found:
        yield found


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
    posted: list[str] = field(default_factory=list)  # every request body the page sent
    pans: list[str] = field(default_factory=list)  # answers that showed a whole card number
    answers: int = 0

    def check_offline(self) -> None:
        """Nothing left 127.0.0.1, nothing failed."""
        assert self.blocked == []
        assert self.errors == []
        for url in self.requests:
            parts = urlsplit(url)
            assert parts.scheme in ("data", "blob") or parts.hostname == LOCAL_HOST, url

    def scan(self, response: Response) -> None:
        """Look for a whole card number in an answer the page received."""
        kind = response.headers.get("content-type", "")
        if not kind.startswith(("text/", "application/json", "image/svg")):
            return
        with contextlib.suppress(Exception):  # a redirect or an aborted answer has no body
            body = response.text()
            self.answers += 1
            self.pans += [f"{response.url}: {found[:6]}...{found[-4:]}"
                          for found in whole_pans(body)]  # fmt: skip

    def fits(self) -> None:
        """The page needs no sideways scrolling at its width (wide tables scroll inside)."""
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= self.page.viewport_size["width"], width  # type: ignore[index]

    def screenshot(self, name: str, *, full_page: bool = True) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = str(SCREENSHOTS / name)
        self.page.screenshot(path=path, full_page=full_page, animations="disabled")


PAN = re.compile(r"(?<![0-9])(62280[0-2]\d{7,13})(?![0-9])")
"""A run of 13-19 digits starting with a BIN of the emulated issuers (622800-622802); a
Luhn-valid one is a whole card number (any 62 run would match payment codes and order ids)."""
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


def luhn(digits: str) -> bool:
    """The Luhn check of a card number."""
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def whole_pans(text: str) -> list[str]:
    """Luhn-valid UnionPay card numbers in ``text`` (a masked one, 6 + stars + 4, is none)."""
    return [m.group(1) for m in PAN.finditer(text) if luhn(m.group(1))]


def open_visit(browser: Browser, viewport: dict[str, int]) -> tuple[Visit, object]:
    """A new browser context at ``viewport`` whose page records everything (see Visit)."""
    context = browser.new_context(viewport=viewport, locale="zh-CN")  # type: ignore[arg-type]
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

    def on_request(request: object) -> None:
        seen.requests.append(request.url)  # type: ignore[attr-defined]
        body = request.post_data  # type: ignore[attr-defined]
        if body:
            seen.posted.append(body)

    context.route("**/*", only_local)
    page.on("request", on_request)
    page.on("response", seen.scan)
    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    return seen, context


@pytest.fixture
def visit(browser: Browser) -> Iterator[Visit]:
    """A desktop-sized page; at the end, no answer it received showed a whole card number."""
    seen, context = open_visit(browser, DESKTOP)
    try:
        yield seen
    finally:
        context.close()  # type: ignore[attr-defined]
    assert seen.pans == [], seen.pans


@pytest.fixture
def phone(browser: Browser) -> Iterator[Visit]:
    """A 375-pixel-wide page, scanned like :func:`visit`'s."""
    seen, context = open_visit(browser, PHONE)
    try:
        yield seen
    finally:
        context.close()  # type: ignore[attr-defined]
    assert seen.pans == [], seen.pans


def add_user(served: Served, name: str, role: str, password: str) -> bytes:
    """``zhifu user add`` against the running stack's data directory; the TOTP secret."""
    env = {**os.environ, "ZHIFU_HOME": str(served.home)}
    env.pop("ZHIFU_LMK", None)
    env.pop("ZHIFU_LMK_FILE", None)
    done = subprocess.run(
        [sys.executable, "-m", "zhifu.cli", "user", "add", name, "--role", role,
         "--password-stdin", "--json"],
        input=password + "\n", capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    secret = json.loads(done.stdout).get("totp_secret")  # a merchant has none
    return base64.b32decode(secret) if secret else b""


def sign_in(visit: Visit, served: Served, name: str, role: str, lang: str = "zh") -> None:
    """Add the user ``name`` with ``role`` and sign the page in through the form (with TOTP)."""
    password = f"{name} console password"
    secret = add_user(served, name, role, password)
    page = visit.page
    page.goto(f"{served.url}/console/sign-in?lang={lang}")
    page.fill("input[name=user]", name)
    page.fill("input[name=password]", password)
    if secret:
        page.fill("input[name=totp]", totp(secret, time.time()))
    page.click("button[type=submit]")
    page.wait_for_url("**/console?lang=*")

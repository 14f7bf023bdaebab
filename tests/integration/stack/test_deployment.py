"""Two of each front process on one data directory and one PostgreSQL ledger (the deployment
`docs/deployment.md` describes): two ``zhifu issuer run``, two ``zhifu acquirer run`` (each asking
its own issuer over TCP) and two ``zhifu serve --no-acquirer --no-clearing`` web processes. A mixed
load goes to both of each — card purchases, balance inquiries, a void, a retransmission that
reaches the other acquirer, barcode orders and wallet payments over HTTP, a POST repeated with
its Idempotency-Key on the other web process, a nonce replayed there, a session opened on one
and used on the other — and then the books are checked: the PostgreSQL ledger balances, every
card's balance is its opening less what was approved and not voided, the barcode ledgers balance,
the audit trail verifies."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration.payments.conftest import pan_of, purchase_request, replay
from tests.support.net import free_port

from zhifu.acquirer import AcquirerConfig, AcquirerHost, register_terminal
from zhifu.acquirer.site import open_site_at
from zhifu.barcode.api.client import ApiClient
from zhifu.barcode.api.signing import SigningKey, load_private_key
from zhifu.barcode.platform.system import BarcodeSystem
from zhifu.cli.barcode.support import platform_sealer
from zhifu.ledger import Ledger
from zhifu.security.access import totp
from zhifu.terminal import Terminal

LMK = "4C" * 32
MID = "898100012345678"
PASSWORD = "deployment test password"
OPENING = 100_000
STARTED: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _no_process_left() -> Iterator[None]:
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
            process.wait(30)


def _env(home: Path, pg_url: str) -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[3] / "src")
    return {
        **os.environ,
        "ZHIFU_HOME": str(home),
        "ZHIFU_LMK": LMK,
        "ZHIFU_LEDGER_URL": pg_url,
        "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])),
    }


def _cli(env: dict[str, str], *args: str, stdin: str = "") -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "zhifu", *args, "--json"],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    return dict(json.loads(done.stdout))


def _start(env: dict[str, str], log: Path, *args: str, pattern: str) -> int:
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "zhifu", *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    STARTED.append(process)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text())
        if found:
            return int(found.group(1)) if found.group(1).isdigit() else 0
        assert process.poll() is None, log.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{args[0]} did not start: " + log.read_text())


def _web(env: dict[str, str], log: Path) -> str:
    port = free_port()
    _start(
        env,
        log,
        "serve",
        "--no-acquirer",
        "--no-clearing",
        "--port",
        str(port),
        pattern=r"(Application startup complete)",
    )
    return f"http://127.0.0.1:{port}"


def _prepare(
    tmp_path: Path, home: Path, env: dict[str, str]
) -> tuple[list[Any], list[Path], bytes]:
    host = AcquirerHost.open(AcquirerConfig.local(home, port=0), environ={"ZHIFU_LMK": LMK})
    try:
        regs = [
            register_terminal(host.services.registry, host.services.hsm, MID, f"1000020{n}")
            for n in range(4)
        ]
        cards = [tmp_path / f"card-{n}.json" for n in range(4)]
        for card in cards:
            host.services.issuer.issue_card("debit", OPENING, "1234", card)  # type: ignore[union-attr]
    finally:
        host.close()
    _cli(env, "barcode", "demo")
    _cli(
        env,
        "barcode",
        "key",
        "generate",
        "--principal",
        "institution:huanyu",
        "--key-id",
        "huanyu-k1",
        "--out",
        str(tmp_path / "huanyu.pem"),
    )
    secret = _cli(
        env, "user", "add", "ops", "--role", "operator", "--password-stdin", stdin=PASSWORD + "\n"
    )["totp_secret"]
    return regs, cards, base64.b32decode(secret)


def _key(key_id: str, path: Path) -> SigningKey:
    algorithm, private = load_private_key(path.read_bytes())
    return SigningKey(key_id, algorithm, private)


def _cards_load(
    tmp_path: Path, regs: list[Any], cards: list[Path], acquirers: list[int]
) -> dict[int, int]:
    """Purchases on both acquirers, a balance, a void, a retransmission to the other host;
    what each card should have spent."""
    spent = dict.fromkeys(range(len(cards)), 0)
    for n, (reg, card) in enumerate(zip(regs, cards, strict=True)):
        parts = [c.material.reveal().hex() for c in reg.components]
        term = Terminal.init(tmp_path / f"term-{n}", MID, reg.terminal.terminal_id, parts)
        try:
            assert term.sign_on(f"127.0.0.1:{acquirers[n % 2]}").get("39") == "00"
            for k in range(3):
                term.link(f"127.0.0.1:{acquirers[(n + k) % 2]}")
                sale = term.transact("purchase", card, pin="1234", amount=1_00 * (k + 1))
                assert sale.approved, sale
                spent[n] += sale.amount
            assert term.transact("balance", card, pin="1234").approved
            if n == 0:  # a void of the last purchase, on the other acquirer
                term.link(f"127.0.0.1:{acquirers[1]}")
                assert term.transact("void", card, pin="1234", original=sale.stan).approved
                spent[n] -= sale.amount
            if n == 1:  # the same request to both acquirers: one answer, one posting
                request = purchase_request(term, card, 5_00)
                term.link(f"127.0.0.1:{acquirers[0]}")
                first = replay(term, request)
                term.link(f"127.0.0.1:{acquirers[1]}")
                again = replay(term, request)
                assert first["39"] == again["39"] == "00" and first["38"] == again["38"]
                spent[n] += 5_00
        finally:
            term.close()
    return spent


def _barcode_load(tmp_path: Path, home: Path, webs: list[str]) -> None:
    merchant = [
        ApiClient(url, _key("M100001-k1", home / "barcode" / "M100001-k1.pem")) for url in webs
    ]
    wallet = [ApiClient(url, _key("huanyu-k1", tmp_path / "huanyu.pem")) for url in webs]
    for n in range(3):
        body = {
            "merchant_id": "M100001",
            "out_trade_no": f"DEP{n}",
            "amount": 3_00 + n,
            "description": "deployment test",
        }
        made = merchant[n % 2].post("/v1/orders", body, idempotency_key=f"dep-{n}")
        again = merchant[(n + 1) % 2].post("/v1/orders", body, idempotency_key=f"dep-{n}")
        assert made.status in (200, 201) and made.json()["order_id"] == again.json()["order_id"]
        pay = {
            "code": made.json()["code_url"],
            "customer_id": "C200001",
            "account_id": "A200001",
            "factors": ["password"],
            "scan_source": "camera",
        }
        paid = wallet[(n + 1) % 2].post("/v1/wallet/payments", pay, idempotency_key=f"pay-{n}")
        assert paid.status in (200, 201), paid.json()
    body = {
        "merchant_id": "M100001",
        "out_trade_no": "DEPNONCE",
        "amount": 1_00,
        "description": "nonce",
    }
    first = merchant[0].post("/v1/orders", body, idempotency_key="nonce-1", nonce="n" * 32)
    assert first.status in (200, 201)
    replayed = merchant[1].post("/v1/orders", body, idempotency_key="nonce-2", nonce="n" * 32)
    assert replayed.status == 401 and "nonce" in replayed.json()["error"]["code"]


def _session_across(webs: list[str], secret: bytes) -> None:
    body = json.dumps({"user": "ops", "password": PASSWORD, "totp": totp(secret, time.time())})
    request = urllib.request.Request(
        f"{webs[0]}/v1/session", body.encode(), {"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        token = json.load(answer)["token"]
    other = urllib.request.Request(
        f"{webs[1]}/v1/session", headers={"authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(other, timeout=10) as answer:
        assert json.load(answer)["name"] == "ops"


def test_two_of_each_process_on_one_postgresql(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHIFU_LMK", LMK)
    monkeypatch.setenv("ZHIFU_LEDGER_URL", pg_url)
    home = tmp_path / "var"
    env = _env(home, pg_url)
    regs, cards, secret = _prepare(tmp_path, home, env)
    issuers = [
        _start(
            env,
            tmp_path / f"issuer-{n}.log",
            "issuer",
            "run",
            "--port",
            "0",
            pattern=r"issuer listening on 127\.0\.0\.1:(\d+)",
        )
        for n in range(2)
    ]
    acquirers = [
        _start(
            env,
            tmp_path / f"acquirer-{n}.log",
            "acquirer",
            "run",
            "--port",
            "0",
            "--issuer",
            f"127.0.0.1:{issuers[n]}",
            pattern=r"listening on 127\.0\.0\.1:(\d+)",
        )
        for n in range(2)
    ]
    webs = [_web(env, tmp_path / f"web-{n}.log") for n in range(2)]

    spent = _cards_load(tmp_path, regs, cards, acquirers)
    _barcode_load(tmp_path, home, webs)
    _session_across(webs, secret)
    for process in STARTED:
        process.send_signal(signal.SIGTERM)
    for process in STARTED:
        process.wait(30)

    host = AcquirerHost.open(AcquirerConfig.local(home, port=0), environ={"ZHIFU_LMK": LMK})
    try:
        for n, card in enumerate(cards):
            balances = host.services.issuer.balances(pan_of(card))  # type: ignore[union-attr]
            assert balances.available == OPENING - spent[n], n
    finally:
        host.close()
    ledger = Ledger.open(pg_url)
    try:
        assert ledger.check().balanced
    finally:
        ledger.close()
    system = BarcodeSystem.open(home / "barcode", sealer=platform_sealer(home / "barcode"))
    try:
        assert all(node.ledger.check().balanced for node in system.nodes.values())
    finally:
        system.close()
    site = open_site_at(home, {"ZHIFU_LMK": LMK})
    try:
        assert site.trail.verify().ok
    finally:
        site.close()

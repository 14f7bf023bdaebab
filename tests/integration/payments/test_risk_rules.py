"""The risk rules enforcing in a running bank: a card used too fast is refused (34) before the
issuer sees it; MAC failures from a terminal block it in the registry (58) until an operator
unblocks it; each rule fired is an alert in risk.db and a record of the audit trail."""

from __future__ import annotations

import dataclasses
import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from zhifu.acquirer import AcquirerConfig, start_in_background
from zhifu.acquirer.site import open_site_at
from zhifu.cli.main import main
from zhifu.iso8583.mac import hsm_mac_fn, sign
from zhifu.security.hsm.data import MacAlgorithm
from zhifu.security.risk.webhook import HEADER, verify

from .conftest import LMK, Bank, purchase_request

SECRET = b"a webhook secret of the test"


class _Receiver(http.server.BaseHTTPRequestHandler):
    got: ClassVar[list[tuple[bytes, str]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.got.append((body, self.headers[HEADER]))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.got.clear()
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/risk"
    server.shutdown()


@pytest.fixture
def guarded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: str) -> Iterator[Bank]:
    monkeypatch.setenv("ZHIFU_LMK", LMK)
    monkeypatch.setenv("ZHIFU_HOME", str(tmp_path / "var"))
    monkeypatch.setenv("ZHIFU_RISK_WEBHOOK_SECRET", SECRET.decode())
    monkeypatch.delenv("ZHIFU_LEDGER_URL", raising=False)
    config = dataclasses.replace(AcquirerConfig.local(tmp_path / "var", port=0), risk="enforce",
                                 risk_webhook=receiver)  # fmt: skip
    background = start_in_background(config, environ={"ZHIFU_LMK": LMK})
    yield Bank(background, background.host, tmp_path)
    background.stop()


def _trail_actions(bank: Bank) -> list[tuple[str, str]]:
    site = open_site_at(bank.folder / "var", {"ZHIFU_LMK": LMK})
    try:
        assert site.trail.verify().ok
        return [(r.action, r.outcome) for r in site.trail.records()]
    finally:
        site.close()


def test_a_card_used_too_fast_is_refused_before_the_issuer(guarded: Bank) -> None:
    card, term = guarded.card(), guarded.terminal()
    codes = [term.transact("purchase", card, pin="1234", amount=100).response_code
             for _ in range(6)]  # fmt: skip
    assert codes == ["00"] * 5 + ["34"]
    assert guarded.available(card) == 100_000 - 5 * 100  # the sixth never reached the issuer
    risk = guarded.host.services.risk
    assert risk is not None
    assert [a.rule for a in risk.engine.store.alerts()] == ["card-velocity"]
    assert term.settle()["balanced"] is True
    actions = _trail_actions(guarded)
    assert ("risk.decline", "rule card-velocity on card.purchase") in actions
    assert ("acquirer.settlement", "answered 00") in actions  # a money-moving decision


def test_mac_failures_block_the_terminal_until_unblocked(
    guarded: Bank, capsys: pytest.CaptureFixture[str]
) -> None:
    card, term = guarded.card(), guarded.terminal("10000061")
    request = purchase_request(term, card, 500)
    body = bytearray(sign(request, hsm_mac_fn(term.hsm, term.state.keys["mak"],
                                              MacAlgorithm.CUP_ECB)))  # fmt: skip
    body[-1] ^= 0x01  # the MAC itself
    answers = [term.link().exchange(request, bytes(body))[0]["39"] for _ in range(3)]
    assert answers == ["A0", "A0", "A0"]
    assert term.sign_on(guarded.address).get("39") == "58"  # blocked after the third
    assert guarded.host.services.registry.terminal("10000061").status == "blocked"  # type: ignore[union-attr]
    assert main(["acquirer", "unblock-terminal", "10000061", "--reason", "MAC key renewed"]) == 0
    assert term.sign_on(guarded.address).get("39") == "00"
    assert term.transact("purchase", card, pin="1234", amount=100).approved
    risk = guarded.host.services.risk
    assert risk is not None and risk.engine.store.blocks() == []
    assert ("risk.block", "rule mac-failure-burst on mac.failure") in _trail_actions(guarded)
    deadline = time.monotonic() + 5
    while not _Receiver.got and time.monotonic() < deadline:
        time.sleep(0.05)
    body, signature = _Receiver.got[0]
    assert verify(body, signature, SECRET, now=time.time(), seen=set())
    assert json.loads(body)["rule"] == "mac-failure-burst"

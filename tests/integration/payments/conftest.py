"""A whole bank on 127.0.0.1: the acquirer host (with the issuer in-process) in a background
thread on a real data directory, a registered terminal signed on over TCP, cards to issue."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from zhifu.acquirer import AcquirerConfig, AcquirerHost, register_terminal, start_in_background
from zhifu.acquirer.background import BackgroundAcquirer
from zhifu.acquirer.payments.postings import merchant_accounts
from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.stripe import StripeCard, is_stripe_file
from zhifu.codec.tlv import Tlv
from zhifu.iso8583 import Message
from zhifu.iso8583.fields_55 import build_icc_data
from zhifu.iso8583.mac import hsm_mac_fn, sign
from zhifu.issuer import Issuer
from zhifu.ledger import Ledger
from zhifu.security.hsm.data import MacAlgorithm
from zhifu.terminal import Terminal
from zhifu.terminal.chip import ChipSession

LMK = "5A" * 32
MID = "898100012345678"


@dataclasses.dataclass
class Bank:
    """The running host, its issuer and ledger, and a folder for cards and terminals."""

    background: BackgroundAcquirer
    host: AcquirerHost
    folder: Path

    @property
    def issuer(self) -> Issuer:
        issuer = self.host.services.issuer
        assert isinstance(issuer, Issuer)
        return issuer

    @property
    def ledger(self) -> Ledger:
        assert self.host.services.ledger is not None
        return self.host.services.ledger

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.background.port}"

    def card(self, balance: int = 100_000, product: str = "debit", pin: str = "1234") -> Path:
        out = self.folder / f"card-{len(list(self.folder.glob('card-*')))}.json"
        self.issuer.issue_card(product, balance, pin, out)
        return out

    def terminal(self, terminal_id: str = "10000001", *, timeout: float = 10.0) -> Terminal:
        services = self.host.services
        reg = register_terminal(services.registry, services.hsm, MID, terminal_id)
        parts = [c.material.reveal().hex() for c in reg.components]
        terminal = Terminal.init(self.folder / f"term-{terminal_id}", MID, terminal_id, parts)
        terminal.timeout = timeout
        assert terminal.sign_on(self.address).get("39") == "00"
        return terminal

    def available(self, card: Path) -> int:
        return self.issuer.balances(pan_of(card)).available

    def merchant_pending(self) -> int:
        account = self.ledger.lookup_accounts([merchant_accounts(MID)[0]])
        return account[0].credits_posted - account[0].debits_posted if account else 0


def pan_of(card: Path) -> str:
    if is_stripe_file(card):
        return StripeCard.load(card).track2.pan
    pan = EmulatedCard.load(card).image.applications[0].internal(0x5A)
    assert pan is not None
    return pan.hex().upper().rstrip("F")


@pytest.fixture
def bank(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bank]:
    monkeypatch.setenv("ZHIFU_LMK", LMK)
    monkeypatch.delenv("ZHIFU_LEDGER_URL", raising=False)
    # these flows reuse a few cards at machine speed: the risk rules watch without refusing
    # (tests/integration/payments/test_risk_rules.py runs them enforcing)
    config = dataclasses.replace(AcquirerConfig.local(tmp_path / "var", port=0), risk="monitor")
    background = start_in_background(config, environ={"ZHIFU_LMK": LMK})
    yield Bank(background, background.host, tmp_path)
    background.stop()


def replay(term: Terminal, request: Message) -> Message:
    assert term.state.keys is not None
    mac_fn = hsm_mac_fn(term.hsm, term.state.keys["mak"], MacAlgorithm.CUP_ECB)
    return term.link().exchange(request, sign(request, mac_fn))[0]


def purchase_request(term: Terminal, card: Path, amount: int) -> Message:
    """A chip purchase request built the terminal's way, not sent."""
    chip = ChipSession(card)
    facts, icc = chip.facts(), chip.first_ac(amount, 0x00)
    chip.close()
    fields = {**term._fields("22", "000"), "3": "000000", "4": f"{amount:012d}", "22": "051",
              "25": "00", "49": "156", **term._card_fields(facts, swipe=False, chip=True),
              "52": term._pin_block("1234", facts.pan),
              "55": build_icc_data(Tlv(t, v) for t, v in icc.items())}  # fmt: skip
    return Message("0200", fields)

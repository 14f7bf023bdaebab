"""The terminal driven as a person drives it (keys and card events, in process) against
zhifu's acquirer over 127.0.0.1: a purchase with the PIN typed on the PIN pad, a wrong PIN,
a PIN entry cancelled, a tap, a void by STAN, the e-cash balance read offline, sign-on and
settlement from the menu, and the slips printed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from zhifu.acquirer import AcquirerConfig, register_terminal, start_in_background
from zhifu.acquirer.background import BackgroundAcquirer
from zhifu.card.icc.emulated import EmulatedCard
from zhifu.issuer import Issuer
from zhifu.terminal import Terminal
from zhifu.terminal.chip import KernelOptions
from zhifu.terminal.flow import DEFAULT_KERNEL
from zhifu.terminal.kernel.config import TerminalConfig
from zhifu.terminal.ui import Key, Phase, TerminalUI

LMK = "5A" * 32
MID = "898100012345678"


@pytest.fixture
def host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[BackgroundAcquirer]:
    monkeypatch.setenv("ZHIFU_LMK", LMK)
    config = AcquirerConfig.local(tmp_path / "var", port=0)
    background = start_in_background(config, environ={"ZHIFU_LMK": LMK})
    yield background
    background.stop()


@pytest.fixture
def ui(host: BackgroundAcquirer, tmp_path: Path) -> Iterator[TerminalUI]:
    reg = register_terminal(host.host.services.registry, host.host.services.hsm, MID, "10000077")
    parts = [c.material.reveal().hex() for c in reg.components]
    term = Terminal.init(tmp_path / "term", MID, "10000077", parts, host=f"127.0.0.1:{host.port}")
    face = TerminalUI(term, receipts=tmp_path / "slips")
    yield face
    term.close()


def _card(host: BackgroundAcquirer, path: Path, balance: int = 100_000) -> Path:
    issuer = host.host.services.issuer
    assert isinstance(issuer, Issuer)
    issuer.issue_card("debit", balance, "1234", path)
    return path


def _keys(ui: TerminalUI, typed: str) -> None:
    named = {"O": Key.CONFIRM, "X": Key.CANCEL, "C": Key.CORRECT, "D": Key.DOWN, "U": Key.UP}
    for char in typed:
        ui.press(named.get(char) or Key(char))


def _menu(ui: TerminalUI, *path: str) -> None:
    """From idle, open the menu and choose by the labels' English names."""
    assert ui.phase is Phase.IDLE
    ui.press(Key.CONFIRM)
    for label in path:
        numbers = [n for n, item in enumerate(ui.items, 1) if item.label["en"] == label]
        ui.press(Key(str(numbers[0])))


def _sign_on(ui: TerminalUI) -> None:
    _menu(ui, "Sign on")
    assert ui.wait_for(Phase.RESULT) and ui.result is not None and ui.result.approved
    assert ui.screen.lines[1] == "交易成功"
    ui.press(Key.CONFIRM)


def test_a_purchase_typed_on_the_keypad_with_the_pin_on_the_pin_pad(
    ui: TerminalUI, host: BackgroundAcquirer, tmp_path: Path
) -> None:
    _sign_on(ui)
    card = _card(host, tmp_path / "card.json")
    _menu(ui, "Purchase")
    assert ui.phase is Phase.AMOUNT and ui.screen.lines[1] == "请输入金额:"
    _keys(ui, "12349C")  # 123.49, then one digit corrected
    assert ui.screen.lines[3] == "12.34"
    _keys(ui, "O")
    assert ui.phase is Phase.CARD and ui.screen.lines[1] == "金额 12.34"
    assert ui.present(card, "insert")
    assert ui.wait_for(Phase.PIN)
    _keys(ui, "12")
    assert ui.screen.lines[3] == "**" and "1" not in "".join(ui.screen.lines[2:])
    assert ui.pad is not None and "12" not in repr(ui.pad)
    _keys(ui, "34O")
    assert ui.wait_for(Phase.RESULT)
    result = ui.result
    assert result is not None and result.approved and result.amount == 1234
    assert ui.screen.lines[:3] == ["消费", "交易成功", "金额 12.34"]
    assert sorted(p.name for p in ui.slips) == sorted(
        f"{result.batch}-{result.stan}-{copy}.{ext}"
        for copy in ("merchant", "cardholder")
        for ext in ("txt", "png")
    )
    assert ui.terminal.state.pending_reversal is None
    _keys(ui, "O")
    assert ui.phase is Phase.IDLE

    # void it by its STAN, PIN again
    _menu(ui, "Void")
    assert ui.phase is Phase.ORIGINAL
    _keys(ui, result.stan.lstrip("0") + "O")
    assert ui.phase is Phase.CARD and ui.present(card, "insert") and ui.wait_for(Phase.PIN)
    _keys(ui, "1234O")
    assert ui.wait_for(Phase.RESULT) and ui.result is not None and ui.result.approved
    assert ui.result.kind == "void"


def test_a_wrong_pin_is_declined_and_a_cancelled_pin_sends_nothing(
    ui: TerminalUI, host: BackgroundAcquirer, tmp_path: Path
) -> None:
    _sign_on(ui)
    card = _card(host, tmp_path / "card.json")
    _menu(ui, "Purchase")
    _keys(ui, "500O")
    ui.present(card, "insert")
    assert ui.wait_for(Phase.PIN)
    _keys(ui, "9999O")
    assert ui.wait_for(Phase.RESULT) and ui.result is not None
    assert ui.result.response_code == "55" and not ui.result.approved
    assert ui.screen.lines[1] == "交易失败 55" and not ui.slips
    _keys(ui, "O")
    _menu(ui, "Balance")
    assert ui.phase is Phase.CARD
    ui.present(card, "insert")
    assert ui.wait_for(Phase.PIN)
    _keys(ui, "12X")  # cancel at the PIN pad: the request is never built
    assert ui.wait_for(Phase.RESULT) and ui.result is not None
    assert not ui.result.answered and ui.screen.lines[1] == "交易取消"
    assert ui.terminal.state.pending_reversal is None


def test_a_tap_under_the_cvm_limit_asks_no_pin_and_ecash_balance_needs_no_host(
    ui: TerminalUI, host: BackgroundAcquirer, tmp_path: Path
) -> None:
    _sign_on(ui)
    card = _card(host, tmp_path / "card.json")
    _menu(ui, "Purchase")
    _keys(ui, "800O")
    ui.present(card, "tap")
    assert ui.wait_for(Phase.RESULT) and ui.result is not None and ui.result.approved
    assert ui.result.entry == "tap" and not ui.result.pin_entered
    _keys(ui, "O")
    host.stop()  # no host from here on
    _menu(ui, "E-cash", "E-cash balance")
    assert ui.phase is Phase.CARD
    ui.present(card, "insert")
    assert ui.wait_for(Phase.RESULT) and ui.result is not None and ui.result.approved
    assert ui.result.balance is not None and ui.screen.lines[2].startswith("余额 ")


def test_the_menu_scrolls_goes_back_and_ignores_cards_out_of_turn(
    ui: TerminalUI, tmp_path: Path
) -> None:
    assert not ui.present(tmp_path / "card.json", "insert")  # idle: not waiting for a card
    ui.press(Key.CONFIRM)
    assert ui.phase is Phase.MENU and ui.screen.lines[1] == "1.消费"
    _keys(ui, "DDDD")
    assert ui.cursor == 4 and "5.电子现金" in ui.screen.lines
    _keys(ui, "O")
    assert ui.screen.lines[0] == "电子现金" and ui.screen.lines[1] == "1.电子现金余额"
    _keys(ui, "X")
    assert ui.phase is Phase.MENU and ui.path == []
    _keys(ui, "UX")
    assert ui.phase is Phase.IDLE
    english = TerminalUI(ui.terminal, language="en")
    english.press(Key.CONFIRM)
    assert english.screen.lines[1] == "1.Purchase"


def test_settlement_from_the_menu(ui: TerminalUI, host: BackgroundAcquirer, tmp_path: Path) -> None:
    _sign_on(ui)
    card = _card(host, tmp_path / "card.json")
    _menu(ui, "Purchase")
    _keys(ui, "100O")
    ui.present(card, "insert")
    assert ui.wait_for(Phase.PIN)
    _keys(ui, "1234O")
    assert ui.wait_for(Phase.RESULT) and ui.result is not None and ui.result.approved
    _keys(ui, "O")
    _menu(ui, "Settle")
    assert ui.wait_for(Phase.RESULT) and ui.result is not None and ui.result.approved
    assert ui.terminal.state.log == []


def test_an_offline_pin_typed_on_the_pin_pad_goes_to_the_card(
    ui: TerminalUI, host: BackgroundAcquirer, tmp_path: Path
) -> None:
    text = resources.files("zhifu.card").joinpath("profiles/debit.json").read_text("utf-8")
    contact = "0000000000000000420342035E0343031F00"
    profile = json.loads(text.replace(contact, "00000000000000000103"))  # plaintext offline PIN
    profile["name"] = "offline-pin"
    (tmp_path / "offline.json").write_text(json.dumps(profile), encoding="utf-8")
    issuer = host.host.services.issuer
    assert isinstance(issuer, Issuer)
    card = tmp_path / "card.json"
    issuer.issue_card("debit", 100_000, "1234", card, profile=str(tmp_path / "offline.json"))
    capabilities = TerminalConfig(capabilities=bytes.fromhex("E090C8"))
    ui.terminal.kernel = KernelOptions(capabilities, DEFAULT_KERNEL.capks)
    _sign_on(ui)
    _menu(ui, "Purchase")
    _keys(ui, "2000O")
    ui.present(card, "insert")
    assert ui.wait_for(Phase.PIN)  # asked during the card's verification, before the host
    _keys(ui, "1234O")
    assert ui.wait_for(Phase.RESULT) and ui.result is not None
    assert ui.result.approved and ui.result.pin_entered, ui.result.message
    assert EmulatedCard.load(card).image.applications[0].state.pin_tries == 3


def test_the_cardholder_chooses_between_two_applications(
    ui: TerminalUI, host: BackgroundAcquirer, tmp_path: Path
) -> None:
    text = resources.files("zhifu.card").joinpath("profiles/debit.json").read_text("utf-8")
    profile = json.loads(text)
    second = json.loads(json.dumps(profile["applications"][0]))
    second["aid"] = "A000000333010102"
    for item in second["fci"]["contact"]:
        if item[0] == "50":
            item[1] = "ascii:UnionPay Credit"
        elif item[0] == "87":
            item[1] = "02"
    profile["applications"].append(second)
    profile["name"] = "two-apps"
    (tmp_path / "two.json").write_text(json.dumps(profile), encoding="utf-8")
    issuer = host.host.services.issuer
    assert isinstance(issuer, Issuer)
    card = tmp_path / "card.json"
    issuer.issue_card("debit", 100_000, "1234", card, profile=str(tmp_path / "two.json"))
    _sign_on(ui)
    _menu(ui, "Purchase")
    _keys(ui, "1500O")
    ui.present(card, "insert")
    assert ui.wait_for(Phase.SELECT)
    assert ui.screen.lines[:3] == ["请选择应用", "1.UnionPay Debit", "2.UnionPay Credit"]
    _keys(ui, "2")
    assert ui.wait_for(Phase.PIN)
    _keys(ui, "1234O")
    assert ui.wait_for(Phase.RESULT) and ui.result is not None and ui.result.approved

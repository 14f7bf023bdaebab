"""Application selection on a card with two UnionPay applications in its PSE: without a choice
the terminal takes the higher priority; the cardholder's choice (a chooser, the command line's
``--aid``) selects the other, and the host approves a purchase on either."""

from __future__ import annotations

import copy
import json
from importlib import resources
from pathlib import Path

import pytest

from zhifu.cli.main import main
from zhifu.terminal.chip import Candidate, ChipSession

from .conftest import Bank

PIN = "1234"
DEBIT, CREDIT = "A000000333010101", "A000000333010102"


def two_application_card(bank: Bank, tmp_path: Path, *, confirm: bool = False) -> Path:
    """The debit profile with a second application (credit AID, priority 2) beside the first."""
    text = resources.files("zhifu.card").joinpath("profiles/debit.json").read_text("utf-8")
    profile = json.loads(text)
    second = copy.deepcopy(profile["applications"][0])
    second["aid"] = CREDIT
    for interface in second["fci"].values():
        for item in interface:
            if item[0] in ("50", "9F12"):
                item[1] = "ascii:UnionPay Credit"
            elif item[0] == "87":
                item[1] = "82" if confirm else "02"
    profile["applications"].append(second)
    profile["name"] = "two-apps"
    path = tmp_path / "two-apps.json"
    path.write_text(json.dumps(profile), encoding="utf-8")
    card = tmp_path / "two-apps-card.json"
    bank.issuer.issue_card("debit", 100_000, PIN, card, profile=str(path))
    return card


def test_the_higher_priority_or_the_cardholders_choice(bank: Bank, tmp_path: Path) -> None:
    card = two_application_card(bank, tmp_path)
    chip = ChipSession(card)
    chip.read(100, 0x00)
    assert chip.aid.hex().upper() == DEBIT
    chip.close()
    seen: list[list[str]] = []

    def choose(candidates: list[Candidate]) -> int:
        seen.append([c.label for c in candidates])
        return 1

    chosen = ChipSession(card, choose=choose)
    chosen.read(100, 0x00)
    assert chosen.aid.hex().upper() == CREDIT
    assert seen == [["UnionPay Debit", "UnionPay Credit"]]
    chosen.close()
    term = bank.terminal()
    term.choose_application = choose
    sale = term.transact("purchase", card, pin=PIN, amount=12_00)
    assert sale.approved, sale.message
    (row,) = bank.host.database.query(
        "SELECT fields FROM journal WHERE mti = '0200' AND direction = 'in' ORDER BY seq DESC "
        "LIMIT 1"
    )
    assert f"84={CREDIT}" in json.loads(row[0])["55"]


def test_the_command_line_chooses_by_aid(
    bank: Bank, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    card = two_application_card(bank, tmp_path)
    term = bank.terminal()
    folder = str(term.state.folder)
    term.close()
    argv = ["terminal", "purchase", "--state", folder, "--card", str(card), "--pin", PIN,
            "--amount", "1.00", "--json"]  # fmt: skip
    assert main([*argv, "--aid", CREDIT]) == 0
    assert json.loads(capsys.readouterr().out)["approved"] is True
    assert main([*argv, "--aid", "A0000000031010"]) == 2
    assert "--aid" in capsys.readouterr().err


def test_an_application_that_needs_confirmation_is_not_taken_silently(
    bank: Bank, tmp_path: Path
) -> None:
    card = two_application_card(bank, tmp_path, confirm=True)
    chip = ChipSession(card)
    chip.read(100, 0x00)  # the debit application needs no confirmation: taken
    assert chip.aid.hex().upper() == DEBIT
    chip.close()

"""The command lines other programs call: names, JSON keys and exit statuses (0 answered,
1 not completed, 2 bad arguments)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from zhifu.cli.main import main

from .conftest import MID, Bank

KEYS = {"response_code", "approved", "stan", "batch", "rrn", "auth_code", "amount",
        "masked_pan", "reversed"}  # fmt: skip


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    status = main(list(argv))
    out = capsys.readouterr().out
    return status, (json.loads(out) if out.strip().startswith("{") else {})


def test_a_purchase_from_the_command_line(
    bank: Bank, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZHIFU_HOME", str(bank.folder / "var"))
    card, term = str(bank.folder / "cli-card.json"), str(bank.folder / "cli-term")
    status, issued = run(capsys, "issuer", "card", "issue", "--product", "debit", "--balance",
                         "1000.00", "--pin", "1234", "--out", card, "--json")  # fmt: skip
    assert status == 0 and str(issued["masked_pan"]).startswith("622800")
    status, reg = run(capsys, "acquirer", "register-terminal", "--merchant", MID, "--terminal",
                      "10000042", "--json")  # fmt: skip
    components = [c["component"] for c in reg["components"]]  # type: ignore[attr-defined]
    assert status == 0 and len(components) == 2
    status, _ = run(capsys, "terminal", "init", "--state", term, "--merchant", MID, "--terminal",
                    "10000042", "--tmk-component", components[0], "--tmk-component",
                    components[1])  # fmt: skip
    assert status == 0
    assert run(capsys, "terminal", "signon", "--state", term, "--host", bank.address)[0] == 0
    slips = bank.folder / "slips"
    status, sale = run(capsys, "terminal", "purchase", "--state", term, "--card", card, "--pin",
                       "1234", "--amount", "12.34", "--receipt", str(slips), "--json")  # fmt: skip
    assert status == 0 and set(sale) >= KEYS and sale["approved"] is True
    assert sale["amount"] == "12.34" and sale["reversed"] is False
    _check_slips(slips, sale, issued)
    status, balance = run(capsys, "issuer", "balance", "--card", card, "--json")
    assert status == 0 and balance["available"] == "987.66" and balance["ledger"] == "987.66"
    status, declined = run(capsys, "terminal", "purchase", "--state", term, "--card", card,
                           "--pin", "0000", "--amount", "1.00", "--json")  # fmt: skip
    assert status == 0 and declined["response_code"] == "55" and declined["approved"] is False
    with pytest.raises(SystemExit) as bad:
        main(["terminal", "purchase", "--state", term, "--card", card, "--amount", "1.234"])
    assert bad.value.code == 2 and "--amount" in capsys.readouterr().err
    status, settled = run(capsys, "terminal", "settle", "--state", term, "--json")
    assert status == 0 and settled["balanced"] is True


def test_no_host_is_exit_1_and_says_whether_a_reversal_is_pending(
    bank: Bank, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    card, term = bank.card(), bank.terminal("10000043", timeout=0.5)
    term.close()
    bank.background.stop()
    status, result = run(capsys, "terminal", "purchase", "--state", str(term.state.folder),
                         "--card", str(card), "--pin", "1234", "--amount", "5.00",
                         "--timeout", "0.5", "--json")  # fmt: skip
    assert status == 1 and result["answered"] is False
    assert result["reversal_pending"] is True


def _check_slips(slips: Path, sale: dict[str, object], issued: dict[str, object]) -> None:
    """Both copies as text and PNG: the masked PAN, the amount, never the whole PAN."""
    assert len(sale["receipts"]) == 4  # type: ignore[arg-type]
    merchant = (slips / f"{sale['batch']}-{sale['stan']}-merchant.txt").read_text("utf-8")
    holder = (slips / f"{sale['batch']}-{sale['stan']}-cardholder.txt").read_text("utf-8")
    assert "商户存根 MERCHANT COPY" in merchant and "持卡人存根 CARDHOLDER COPY" in holder
    for text in (merchant, holder):
        assert f"{issued['masked_pan']} /I" in text and "RMB 12.34" in text
        assert "消费 SALE" in text and str(sale["rrn"]) in text
    assert "密码已验证 PIN VERIFIED" in merchant and "PIN VERIFIED" not in holder
    with Image.open(slips / f"{sale['batch']}-{sale['stan']}-merchant.png") as image:
        assert image.width == 384 and image.mode == "1"
        assert image.height > 300 and image.getextrema() == (0, 255)  # ink on paper

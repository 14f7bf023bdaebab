"""Canary values — a PIN, its PIN block, the track, the CVN-bearing discretionary data, the
TMK's components — planted in the flows of a whole bank: none of them is found afterwards in
any log line, journal, database, state, settlement file or backup — and, with the ledger on
PostgreSQL, in a dump of its database (the card files are the chips and
the LMK file is the LMK: those two hold secrets by design)."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import subprocess
from pathlib import Path

import pytest

import zhifu.card
from zhifu.acquirer import AcquirerConfig, register_terminal, start_in_background
from zhifu.acquirer.backup import back_up
from zhifu.card.stripe import StripeCard
from zhifu.issuer import Issuer
from zhifu.ledger import Ledger
from zhifu.terminal import Terminal
from zhifu.terminal.chip import ChipSession, KernelOptions
from zhifu.terminal.flow import DEFAULT_KERNEL
from zhifu.terminal.kernel.config import TerminalConfig
from zhifu.terminal.receipt import receipt_lines, receipt_png

from .conftest import LMK, MID, Bank

PIN, WRONG_PIN = "9473158260", "8362719405"  # long enough not to occur by chance in a file
CVN_DATA = "7391528846"  # the discretionary data of track 2, where the CVN sits
PROFILES = Path(zhifu.card.__file__).parent / "profiles"


def _needles(values: list[str]) -> list[bytes]:
    found: list[bytes] = []
    for value in values:
        found += [value.encode(), value.lower().encode(), value.upper().encode()]
        clean = value.upper().replace("=", "D")
        if all(c in "0123456789ABCDEF" for c in clean):
            found.append(bytes.fromhex(clean + "F" * (len(clean) % 2)))
    return [n for n in found if len(n) >= 4]


def test_no_secret_is_left_anywhere(bank: Bank, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    profile = json.loads((PROFILES / "debit.json").read_text(encoding="utf-8"))
    profile["name"] = "canary"
    profile["card"]["discretionary"] = CVN_DATA
    profile_path = bank.folder / "canary-profile.json"
    profile_path.write_text(json.dumps(profile), encoding="utf-8")
    card = bank.folder / "card-canary.json"
    bank.issuer.issue_card("debit", 100_000, PIN, card, profile=str(profile_path))
    services = bank.host.services
    reg = register_terminal(services.registry, services.hsm, MID, "10000077")
    components = [c.material.reveal().hex().upper() for c in reg.components]
    term = Terminal.init(bank.folder / "term-canary", MID, "10000077", components)
    assert term.sign_on(bank.address).get("39") == "00"
    facts = ChipSession(card).facts()
    pin_block = term._pin_block(PIN, facts.pan)
    sale = term.transact("purchase", card, pin=PIN, amount=1_234)
    term.transact("purchase", card, pin=WRONG_PIN, amount=5)
    term.transact("balance", card, pin=PIN)
    term.transact("purchase", card, pin=PIN, amount=10, fallback=True)
    tap = term.transact("purchase", card, amount=50, tap=True)
    assert tap.approved, tap.message
    for copy in ("merchant", "cardholder"):  # the slips: the card number masked only
        lines = receipt_lines(tap, MID, "10000077", copy=copy)
        (bank.folder / f"slip-{copy}.txt").write_text("\n".join(lines), encoding="utf-8")
        receipt_png(lines, bank.folder / f"slip-{copy}.png")
    term.transact("void", card, pin=PIN, original=sale.stan)
    term.transact("preauth", card, pin=PIN, amount=300)
    term.settle()  # balanced: the merchant's CSV, the IC TC upload
    # a second terminal: a stripe card swiped, an offline approval kept and uploaded, and an
    # unbalanced batch that uploads every record (PANs in 2 and 48)
    reg2 = register_terminal(services.registry, services.hsm, MID, "10000078")
    parts2 = [c.material.reveal().hex().upper() for c in reg2.components]
    other = Terminal.init(bank.folder / "term-canary-2", MID, "10000078", parts2)
    assert other.sign_on(bank.address).get("39") == "00"
    stripe_file = bank.folder / "card-stripe.json"
    bank.issuer.issue_card("magstripe", 100_000, PIN, stripe_file)
    stripe = StripeCard.load(stripe_file)
    assert other.transact("purchase", stripe_file, pin=PIN, amount=20, swipe=True).approved
    other.kernel = KernelOptions(
        TerminalConfig(capabilities=bytes.fromhex("E028C8"), floor_limit=100_00),
        DEFAULT_KERNEL.capks,
    )
    assert other.transact("purchase", card, amount=30).response_code == "Y1"
    assert other.state.offline  # kept sealed in state.json until the upload
    other.kernel = DEFAULT_KERNEL
    assert other.transact("purchase", card, pin=PIN, amount=40).approved
    other.state.log[0]["amount"] += 1
    assert other.settle()["balanced"] is False
    other.close()
    term.close()
    bank.background.stop()
    back_up(bank.folder / "var", bank.folder / "canary.zbak", "canary backup passphrase")

    track = facts.track2
    assert CVN_DATA in track
    planted = {
        "PIN": [PIN, f"2A{PIN}FFFF"],
        "wrong PIN": [WRONG_PIN],
        "PIN block": [pin_block],
        "track": [track, track.replace("D", "=")],
        "discretionary (CVN)": [CVN_DATA],
        "TMK component": components,
        "PAN": [facts.pan],
        "expiry (with the service code)": [facts.expiry + "220"],
        "stripe PAN": [stripe.track2.pan],
        "stripe track 2 (with its CVN)": [
            stripe.track2.encode(with_sentinels=False, with_lrc=False)
        ],
    }
    by_design = ("lmk.key", "canary-profile.json")
    files = [p for p in bank.folder.rglob("*") if p.is_file()
             and not p.name.startswith("card-") and p.name not in by_design]  # fmt: skip
    assert any(p.name == "acquirer.db" for p in files) and any(p.suffix == ".csv" for p in files)
    assert {"audit.db", "risk.db", "canary.zbak"} <= {p.name for p in files}
    logs = caplog.text.encode()
    assert any(n in (bank.folder / "card-canary.json").read_bytes() for n in _needles([track]))
    for what, values in planted.items():
        for needle in _needles(values):
            assert needle not in logs, f"{what} in the log"
            for path in files:
                assert needle not in path.read_bytes(), f"{what} in {path.relative_to(bank.folder)}"


def test_no_secret_in_the_postgresql_ledger(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same flows with the ledger on PostgreSQL: its dump holds no PAN, PIN or track."""
    monkeypatch.setenv("ZHIFU_LMK", LMK)
    monkeypatch.setenv("ZHIFU_LEDGER_URL", pg_url)
    config = dataclasses.replace(AcquirerConfig.local(tmp_path / "var", port=0), risk="monitor")
    background = start_in_background(config, environ={"ZHIFU_LMK": LMK})
    try:
        services = background.host.services
        issuer = services.issuer
        assert isinstance(issuer, Issuer)
        card = tmp_path / "card-pg.json"
        issuer.issue_card("debit", 100_000, PIN, card)
        reg = register_terminal(services.registry, services.hsm, MID, "10000079")
        parts = [c.material.reveal().hex().upper() for c in reg.components]
        term = Terminal.init(tmp_path / "term-pg", MID, "10000079", parts)
        address = f"127.0.0.1:{background.port}"
        assert term.sign_on(address).get("39") == "00"
        facts = ChipSession(card).facts()
        assert term.transact("purchase", card, pin=PIN, amount=1_234).approved
        term.transact("purchase", card, pin=WRONG_PIN, amount=5)
        assert term.settle()["balanced"] is True
        term.close()
    finally:
        background.stop()
    assert Ledger.open(pg_url, create=False).check().balanced
    dump = _pg_dump(pg_url)
    assert b"COPY" in dump and b"transfers" in dump  # the ledger is there
    track = [facts.track2, facts.track2.replace("D", "=")]
    for what, values in {"PIN": [PIN, WRONG_PIN], "PAN": [facts.pan], "track": track}.items():
        for needle in _needles(values):
            assert needle not in dump, f"{what} in the PostgreSQL ledger"


def _pg_dump(url: str) -> bytes:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))
    binary = str(found[-1]) if found else shutil.which("pg_dump")
    assert binary, "pg_dump comes with Debian's postgresql package"
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    return subprocess.run([binary, "--dbname", plain], capture_output=True, check=True,
                          timeout=60).stdout  # fmt: skip

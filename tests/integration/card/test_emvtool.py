"""python-emv's ``emvtool`` (PyPI ``emv`` 1.0.14) reads every built-in card profile through pcscd.

Each profile is issued afresh and served to reader 0 of the private pcscd (conftest.py) by
VpcdCardServer; emvtool, an EMV reader that shares no code with zhifu, runs as a child process
against it: ``info`` (SELECT PSE and PPSE, their directory records, SELECT of every listed
application, its records, GET DATA for the PIN try counter and the ATCs) and ``listapps``;
on one card also ``readers``, ``--redact info`` and ``appdata``. What it prints must be what the
card file holds: the application label and AID, each record (``File: SFI,record``), the PAN
(emvtool shows it in clear, as decimal digits, unless ``--redact``), the expiry date
(``YY/MM/DD``), the PIN try counter.

What emvtool 1.0.14 gets wrong, written down here and asserted as it is:

* Its console script cannot open a card with the pyscard we pin. It asks the connection for
  ``T0_protocol``, a class attribute that pyscard's ``CardConnectionDecorator`` inherited from
  ``CardConnection`` in pyscard 2.0.0 (the version emv pins, older than ours) and has no
  longer: every command that touches a card dies with that AttributeError before its first
  APDU (``_console_script_fails_before_any_apdu``; it fails once a release fixes this). The
  reads therefore run emvtool's own entry point, ``emv.command.client:run``, with that one
  attribute given back (RUN_EMVTOOL); nothing else of emvtool is changed.
* ``appdata`` sends GET PROCESSING OPTIONS with empty PDOL data (``83 00``) whatever the card's
  PDOL (9F38) asks for. A card whose PDOL is not empty answers 6700 (wrong length), which
  emvtool shows as a traceback of ``ErrorResponse``; the card's ATC does not move.

One test function, so that pytest-xdist never starts two daemons at once. Every wait is bounded.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.image.model import Application, CardImage
from zhifu.card.issuing import issue_card
from zhifu.card.profile import builtin_profiles
from zhifu.card.readers.pcsc import PcscReader
from zhifu.card.readers.vpcd import VpcdCardServer
from zhifu.codec import tlv

if TYPE_CHECKING:
    from tests.integration.card.conftest import PrivatePcscd

WAIT = 15.0
TOOL_TIMEOUT = 60.0  # emvtool info reads SFI 1 to 30 of three directories: about a second
# emvtool's entry point with the one class attribute that pyscard 2.0.0 had and ours has not.
RUN_EMVTOOL = """
import sys
from smartcard.CardConnection import CardConnection
from smartcard.CardConnectionDecorator import CardConnectionDecorator
CardConnectionDecorator.T0_protocol = CardConnection.T0_protocol
from emv.command.client import run
sys.argv[0] = "emvtool"
run()
"""
# terminaltables draws its borders in the VT100 line-drawing character set: ESC ( 0 ... ESC ( B
BORDER = re.compile(r"\x1b\(0[^\x1b]*\x1b\(B")
FILE_TITLE = re.compile(r"File: (\d+),(\d+)")
APP_HEADER = re.compile(r'^Application "(.*)", DF Name: \[([0-9A-F ]+)\]$')


@dataclass
class Printed:
    """What one emvtool run printed, its tables' borders turned into ``|``."""

    returncode: int
    stdout: str
    stderr: str

    def ok(self) -> str:
        """The output, after checking that emvtool exited 0 without a traceback."""
        assert self.returncode == 0 and "Traceback" not in self.stderr, self.stderr
        return self.stdout


def _run(command: list[str]) -> Printed:
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False
    )
    return Printed(done.returncode, BORDER.sub("|", done.stdout), done.stderr)


def run_emvtool(*args: str) -> Printed:
    """emvtool (through RUN_EMVTOOL) on reader 0; PCSCLITE_CSOCK_NAME is in the environment."""
    return _run([sys.executable, "-c", RUN_EMVTOOL, "--reader", "0", *args])


def _spaced(data: bytes) -> str:
    """Bytes as emvtool prints them: ``A0 00 00 03 33``."""
    return " ".join(f"{b:02X}" for b in data)


def _rows(text: str) -> list[list[str]]:
    """The cells of every table row (lines with at least two borders)."""
    return [
        [cell.strip() for cell in line.split("|")[1:-1]]
        for line in text.splitlines()
        if line.count("|") >= 3  # a row of two or more cells
    ]


def _value(text: str, tag: str) -> str | None:
    """The value cell of the row for ``tag`` (as emvtool writes it: ``[5F 24]``)."""
    for cells in _rows(text):
        if cells and cells[0] == f"[{tag}]":
            return cells[-1]
    return None


def _sections(text: str) -> dict[str, str]:
    """``info`` output by heading: PSE, PPSE, one per application (its AID), metadata."""
    sections: dict[str, list[str]] = {}
    current = sections.setdefault("", [])
    for line in text.splitlines():
        header = APP_HEADER.match(line)
        if line.startswith("1PAY.SYS.DDF01 ("):
            current = sections.setdefault("pse", [])
        elif line.startswith("2PAY.SYS.DDF01 ("):
            current = sections.setdefault("ppse", [])
        elif header:
            current = sections.setdefault(header[2].replace(" ", ""), [])
        elif line.startswith("Fetching card metadata"):
            current = sections.setdefault("metadata", [])
        current.append(line)
    return {name: "\n".join(lines) for name, lines in sections.items()}


def _files(text: str) -> list[tuple[int, int]]:
    return [(int(sfi), int(rec)) for sfi, rec in FILE_TITLE.findall(text)]


def _directory(image: CardImage) -> list[tuple[str, bytes]]:
    """(label, AID) of each application the PSE lists, in record order."""
    if image.card_blocked or image.pse_fci is None:
        return []
    found = []
    for _, record in sorted(image.pse_records.items()):
        entries = [e for item in tlv.decode(record) for e in item.find_all(0x61)]
        for entry in entries:
            label, aid = entry.find(0x50), entry.find(0x4F)
            assert label is not None and aid is not None
            found.append((label.value.decode("ascii"), aid.value))
    return found


def _record_value(app: Application, tag: int) -> bytes:
    for record in app.records.values():
        item = tlv.find(tlv.decode(record), tag)
        if item is not None:
            return item.value
    raise AssertionError(f"no {tag:X} in the records of {app.aid.hex()}")


def _check_application(section: str, app: Application) -> None:
    """The application's records, PAN and expiry as the card file has them."""
    assert _files(section) == sorted(app.records)
    pan = _record_value(app, 0x5A).hex().upper().rstrip("F")
    assert _value(section, "5A") == pan
    expiry = _record_value(app, 0x5F24)
    assert _value(section, "5F 24") == "/".join(f"{b:02X}" for b in expiry)


def _check_info(printed: Printed, image: CardImage) -> None:
    sections = _sections(printed.ok())
    listed = _directory(image)
    if not listed:
        assert "1PAY.SYS.DDF01 not available" in sections["pse"]
        assert set(sections) == {"", "pse", "ppse", "metadata"}
        assert _rows(sections["metadata"]) == []  # GET DATA refused on a blocked card
        return
    assert _files(sections["pse"]) == sorted((1, n) for n in image.pse_records)
    apps = {app.aid: app for app in image.applications}
    for label, aid in listed:
        header = f'Application "{label}", DF Name: [{_spaced(aid)}]'
        assert header in sections[aid.hex().upper()]
        _check_application(sections[aid.hex().upper()], apps[aid])
    last = apps[listed[-1][1]]  # GET DATA goes to the application selected last
    metadata = dict((cells[0], cells[1]) for cells in _rows(sections["metadata"]))
    # no offline PIN, no PIN try counter: GET DATA 9F17 answers 6A88 and emvtool leaves it out
    pin_tries = None if last.pin_block is None else str(last.state.pin_tries)
    assert metadata.get("pin_retries") == pin_tries
    assert metadata.get("atc") == str(last.state.atc)


def _check_listapps(printed: Printed, image: CardImage) -> None:
    listed = enumerate(_directory(image))
    expected = [[str(i), f'"{label}"', f"[{_spaced(aid)}]"] for i, (label, aid) in listed]
    assert _rows(printed.ok()) == [["Index", "Label", "ADF"], *expected]


def _wait_removed(private_pcscd: PrivatePcscd) -> None:
    """Wait until pcscd has seen the last card leave reader 0 (before the next one comes)."""
    reader = PcscReader(private_pcscd.reader_name(0))
    deadline = time.monotonic() + WAIT
    while reader.wait_for_card(0.0):
        assert time.monotonic() < deadline, f"the card stays:\n{private_pcscd.log_tail()}"
        time.sleep(0.05)


def _serve(private_pcscd: PrivatePcscd, card: EmulatedCard) -> VpcdCardServer:
    server = VpcdCardServer(card, port=private_pcscd.port, connect_timeout=WAIT)
    server.start()
    assert server.wait_connected(WAIT), f"no vpcd: {server.error}"
    reader = PcscReader(private_pcscd.reader_name(0))
    assert reader.wait_for_card(WAIT), f"no card present:\n{private_pcscd.log_tail()}"
    return server


def _console_script_fails_before_any_apdu(
    private_pcscd: PrivatePcscd, tool: Path, card_path: Path
) -> None:
    """The bare console script: the AttributeError of pyscard 2.0.0's missing attribute."""
    card = EmulatedCard.load(card_path)
    server = _serve(private_pcscd, card)
    try:
        printed = _run([str(tool), "--reader", "0", "listapps"])
        assert _run([str(tool), "version"]).ok().strip() == "1.0.14"
    finally:
        server.stop()
    _wait_removed(private_pcscd)
    assert printed.returncode == 1
    missing = "AttributeError: 'CardConnectionDecorator' object has no attribute 'T0_protocol'"
    assert missing in printed.stderr
    assert server.apdus == 0


def _extras_on_one_card(private_pcscd: PrivatePcscd, image: CardImage, card_path: Path) -> None:
    """readers, --redact info (no clear PAN in 5A) and appdata (6700, the ATC unmoved)."""
    readers = run_emvtool("readers").ok()
    assert f"0: {private_pcscd.reader_name(0)}" in readers
    assert f"1: {private_pcscd.reader_name(1)}" in readers
    app = image.applications[0]
    redacted = _sections(run_emvtool("--redact", "info").ok())[app.aid.hex().upper()]
    assert _value(redacted, "5A") == "[REDACTED]" and _value(redacted, "57") == "[REDACTED]"
    assert _value(redacted, "5F 24") is not None
    pdol = tlv.find(tlv.decode(app.fci["contact"]), 0x9F38)
    assert pdol is not None and pdol.value  # a PDOL that wants data
    appdata = run_emvtool("appdata", "0")
    assert appdata.returncode == 1
    assert 'ErrorResponse: <ErrorResponse: "Unknown error: 67 00">' in appdata.stderr
    assert CardImage.load(card_path).applications[0].state.atc == app.state.atc


def test_emvtool_reads_every_profile(
    private_pcscd: PrivatePcscd, emvtool: Path, tmp_path: Path
) -> None:
    profiles = builtin_profiles()
    assert "pboc-reference" in profiles and len(profiles) >= 5
    _console_script_fails_before_any_apdu(private_pcscd, emvtool, _issue(tmp_path, "debit")[1])
    for name in profiles:
        image, card_path = _issue(tmp_path, name)
        server = _serve(private_pcscd, EmulatedCard.load(card_path))
        try:
            _check_info(run_emvtool("info"), image)
            _check_listapps(run_emvtool("listapps"), image)
            if name == "debit":
                _extras_on_one_card(private_pcscd, image, card_path)
        finally:
            server.stop()
        assert server.error is None, f"{name}: {server.error}"
        _wait_removed(private_pcscd)


def _issue(tmp_path: Path, name: str) -> tuple[CardImage, Path]:
    path = tmp_path / f"{name}.json"
    return issue_card(name, None, path), path

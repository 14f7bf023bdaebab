"""The emulated card through real pcscd (vsmartcard vpcd), read by two independent clients.

The card is served to a private pcscd (see conftest.py) by VpcdCardServer, in this process
or through ``zhifu card serve-vpcd`` in a child process; the terminal side is PcscReader
(pyscard) and, as a second client that shares no code with zhifu, OpenSC's ``opensc-tool``.
Every wait is bounded (WAIT seconds). One test function, so that pytest-xdist never starts
two daemons at once.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from zhifu.card.apdu import CommandApdu, ResponseApdu
from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.image.model import CardImage
from zhifu.card.issuing import issue_card
from zhifu.card.readers.base import CardReader, ReaderError, exchange
from zhifu.card.readers.pcsc import PcscReader, list_readers
from zhifu.card.readers.vpcd import VpcdCardServer
from zhifu.card.scripted import terminal_values
from zhifu.codec import tlv

if TYPE_CHECKING:
    from tests.integration.card.conftest import PrivatePcscd

WAIT = 15.0

SELECT_PPSE = "00A404000E325041592E5359532E444446303100"
SELECT_PSE = "00A404000E315041592E5359532E444446303100"
PAN = "6228000000000011"
# The card side of the CLI test: `zhifu card serve-vpcd` as a sub-command of a bare parser
# (card_cmd.register wires it into `zhifu card`).
SERVE_SCRIPT = """
import argparse, sys
from zhifu.cli.card.serve import register_serve
from zhifu.cli.common import emit
parser = argparse.ArgumentParser(prog="zhifu card")
register_serve(parser.add_subparsers())
args = parser.parse_args(sys.argv[1:])
sys.exit(emit(args.handler(args), args.json))
"""


def _select(reader: CardReader, name: bytes) -> ResponseApdu:
    return exchange(reader, CommandApdu(0x00, 0xA4, 0x04, 0x00, name, le=256))


def _ppse_then_gpo(reader: CardReader) -> dict[str, bytes]:
    """SELECT PPSE, SELECT the first AID it lists, GPO with the PDOL data; the GPO answer."""
    ppse = exchange(reader, CommandApdu.decode(bytes.fromhex(SELECT_PPSE)))
    assert ppse.sw_hex == "9000"
    entry = tlv.find(tlv.decode(ppse.data), 0x4F)
    assert entry is not None, "no ADF name (4F) in the PPSE FCI"
    fci = _select(reader, entry.value)
    assert fci.sw_hex == "9000"
    pdol = tlv.find(tlv.decode(fci.data), 0x9F38)
    assert pdol is not None, "no PDOL (9F38) in the FCI"
    assert any(tag == 0x9F66 for tag, _ in tlv.parse_dol(pdol.value))  # qPBOC: TTQ asked for
    pdol_data = tlv.build_dol_data(pdol.value, terminal_values(100))
    gpo = exchange(reader, CommandApdu(0x80, 0xA8, 0x00, 0x00, tlv.tlv(0x83, pdol_data).encode()))
    assert gpo.sw_hex == "9000"
    assert gpo.data[:1] == b"\x77"  # format 2 template (qPBOC)
    return tlv.to_dict(tlv.decode(gpo.data))


def _empty_reader(private_pcscd: PrivatePcscd) -> None:
    reader = PcscReader(private_pcscd.reader_name(0))
    assert reader.wait_for_card(0.3) is False
    with pytest.raises(ReaderError, match="Zhifu vpcd 00 00"):
        reader.connect()
    assert not reader.connected


def _in_process_server(private_pcscd: PrivatePcscd, tmp_path: Path) -> None:
    """VpcdCardServer in this process fills reader 0: PPSE, SELECT AID, GPO."""
    card_path = tmp_path / "debit.json"
    issue_card("debit", PAN, card_path)
    card = EmulatedCard.load(card_path)
    with VpcdCardServer(card, port=private_pcscd.port, connect_timeout=WAIT) as server:
        assert server.wait_connected(WAIT), f"no vpcd: {server.error}"
        reader = PcscReader(private_pcscd.reader_name(0))
        assert reader.wait_for_card(WAIT), f"no card present:\n{private_pcscd.log_tail()}"
        assert private_pcscd.reader_name(0) in list_readers()
        with reader:
            assert reader.atr == card.image.atr
            found = _ppse_then_gpo(reader)
    assert len(found["82"]) == 2 and found["94"] and len(found["94"]) % 4 == 0
    assert {"9F36", "9F26", "9F10"} <= set(found)  # qPBOC: the cryptogram comes with the GPO
    assert not server.connected and server.error is None
    assert server.apdus >= 3
    assert CardImage.load(card_path).applications[0].state.atc == int(found["9F36"].hex(), 16)


def _cli_server(private_pcscd: PrivatePcscd, tmp_path: Path) -> None:
    """`zhifu card serve-vpcd` in a child process fills reader 1; SIGINT stops it cleanly."""
    card_path = tmp_path / "credit.json"
    issue_card("credit", PAN, card_path)
    src = Path(__file__).resolve().parents[3] / "src"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]))
    port = str(private_pcscd.port + 1)
    command = [sys.executable, "-c", SERVE_SCRIPT, "serve-vpcd", "--card", str(card_path)]
    child = subprocess.Popen(
        [*command, "--port", port, "--wait", str(WAIT), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        reader = PcscReader(private_pcscd.reader_name(1))
        assert reader.wait_for_card(WAIT), f"no card present:\n{private_pcscd.log_tail()}"
        with reader:
            pse = exchange(reader, CommandApdu.decode(bytes.fromhex(SELECT_PSE)))
            assert pse.sw_hex == "9000" and pse.data[:1] == b"\x6f"
            verify = reader.transmit(bytes.fromhex("0020008008241234FFFFFFFFFF"))
            assert verify[-2:] == b"\x69\x85"  # VERIFY before GPO: conditions not satisfied
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=WAIT)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate(timeout=WAIT)
    assert child.returncode == 0, err.decode(errors="replace")
    assert json.loads(out)["apdus"] >= 2
    assert b"241234" not in err and b"serving" in err  # progress only, no APDU data


RECEIVED = re.compile(r"Received \(SW1=0x([0-9A-F]{2}), SW2=0x([0-9A-F]{2})\)", re.IGNORECASE)
READ_RECORD_1_SFI_1 = "00B2010C00"
SELECT_PSE_NEXT = "00A404020E315041592E5359532E444446303100"


def _opensc_answers(output: str) -> list[tuple[str, bytes]]:
    """(SW, data) of each "Received" block of ``opensc-tool --send-apdu`` output.

    The data follows as a hex dump, 16 bytes a line in the first 48 columns, then ASCII.
    """
    answers: list[tuple[str, bytearray]] = []
    for line in output.splitlines():
        found = RECEIVED.match(line)
        if found:
            answers.append(((found[1] + found[2]).upper(), bytearray()))
        elif answers and line.strip() and not line.startswith("Sending:"):
            answers[-1][1].extend(bytes.fromhex(line[:48]))
    return [(sw, bytes(data)) for sw, data in answers]


def _run_tool(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=WAIT, check=False)


def _opensc_client(private_pcscd: PrivatePcscd, tool: str, tmp_path: Path) -> None:
    """opensc-tool on reader 0: ATR, SELECT PSE, its directory record, SELECT next (6A82),
    SELECT the application, READ RECORD; each answer as the card file says."""
    card_path = tmp_path / "reference.json"
    issue_card("pboc-reference", None, card_path)
    card = EmulatedCard.load(card_path)
    app = card.image.applications[0]
    select_aid = "00A4040008" + app.aid.hex().upper() + "00"
    apdus = [SELECT_PSE, READ_RECORD_1_SFI_1, SELECT_PSE_NEXT, select_aid, READ_RECORD_1_SFI_1]
    with VpcdCardServer(card, port=private_pcscd.port, connect_timeout=WAIT) as server:
        assert server.wait_connected(WAIT), f"no vpcd: {server.error}"
        assert PcscReader(private_pcscd.reader_name(0)).wait_for_card(WAIT)
        atr = _run_tool([tool, "--reader", "0", "--atr"])
        sends = [arg for apdu in apdus for arg in ("--send-apdu", apdu)]
        done = _run_tool([tool, "--reader", "0", *sends])
    assert atr.returncode == 0, atr.stderr
    assert atr.stdout.strip().replace(":", "").upper() == card.image.atr.hex().upper()
    assert done.returncode == 0, done.stderr
    assert _opensc_answers(done.stdout) == [
        ("9000", card.image.pse_fci),
        ("9000", card.image.pse_records[1]),
        ("6A82", b""),  # one PSE: no next occurrence
        ("9000", app.fci["contact"]),
        ("9000", app.records[(1, 1)]),
    ]


def test_card_through_pcscd_and_vpcd(
    private_pcscd: PrivatePcscd, opensc_tool: str, tmp_path: Path
) -> None:
    _empty_reader(private_pcscd)
    _in_process_server(private_pcscd, tmp_path)
    _cli_server(private_pcscd, tmp_path)
    _opensc_client(private_pcscd, opensc_tool, tmp_path)

"""The kernel's steps after the records are read, in EMV order, on a card in the reader.

:func:`run_kernel` takes the scripted exchange of :mod:`zhifu.card.scripted` (application
selected, GPO done, records read), runs processing restrictions, offline data authentication,
cardholder verification, terminal risk management and terminal action analysis, writes TVR
(95), TSI (9B) and the CVM results (9F34) into the terminal's values (what CDOL1 and field 55
carry), and returns the decision for the first GENERATE AC.

>>> from zhifu.card.icc.emulated import EmulatedCard
>>> from zhifu.card.oda.ca import builtin_test_ca
>>> from zhifu.terminal.chip import ChipSession
>>> chip = ChipSession(EmulatedCard.example())
>>> chip.read(100_00, 0x00)
>>> result = run_kernel(chip.terminal, 100_00, capks=[builtin_test_ca("rsa")],
...     perform_cvm=lambda code: "ok", today=date(2026, 11, 25))
>>> result.decision.name, result.oda.method, result.tvr.names()
('ARQC', 'dda', ['online PIN entered', 'transaction exceeds floor limit'])
>>> result.tsi.hex()
'E800'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from zhifu.card.oda.ca import CaKey
from zhifu.card.scripted import Terminal as ScriptedTerminal
from zhifu.codec import tlv
from zhifu.terminal.kernel.action import Decision, analyse
from zhifu.terminal.kernel.bits import Tsi, TsiBit, Tvr, TvrBit
from zhifu.terminal.kernel.config import TerminalConfig
from zhifu.terminal.kernel.cvm import CvmOutcome, Performer, verify
from zhifu.terminal.kernel.oda import OdaOutcome, authenticate, static_data
from zhifu.terminal.kernel.restrictions import restrictions
from zhifu.terminal.kernel.risk import risk

__all__ = ["KernelResult", "card_objects", "run_kernel"]


@dataclass
class KernelResult:
    """TVR, TSI, the CVM and ODA outcomes and the decision (AAC, TC or ARQC)."""

    tvr: Tvr
    tsi: Tsi
    cvm: CvmOutcome
    oda: OdaOutcome
    decision: Decision


def card_objects(term: ScriptedTerminal) -> dict[int, bytes]:
    """Every primitive data object of the records read, with the AIP and the selected AID."""
    found: dict[int, bytes] = {}
    for record in term.trace.records.values():
        for item in tlv.decode(record)[0].children:
            found.setdefault(item.tag, item.value)
    found[0x82] = term.trace.aip
    if 0x84 in term.values:
        found.setdefault(0x4F, term.values[0x84])
    return found


def _get_data(term: ScriptedTerminal, tag: int) -> bytes | None:
    answer = term.send(0x80, 0xCA, tag >> 8, tag & 0xFF)
    if not answer.ok:
        return None
    found = tlv.find(tlv.decode(answer.data), tag)
    return found.value if found is not None else None


def _internal_authenticate(term: ScriptedTerminal) -> Callable[[bytes], bytes | None]:
    def send(ddol: bytes) -> bytes | None:
        answer = term.send(0x00, 0x88, 0x00, 0x00, ddol)
        if not answer.ok:
            return None
        items = tlv.decode(answer.data)
        if items and items[0].tag == 0x80:
            return items[0].value
        found = tlv.find(items, 0x9F4B)
        return found.value if found is not None else None

    return send


def run_kernel(
    term: ScriptedTerminal,
    amount: int,
    *,
    capks: Iterable[CaKey],
    perform_cvm: Performer,
    today: date,
    config: TerminalConfig | None = None,
    transaction_type: int = 0x00,
    draw: Callable[[], int] | None = None,
) -> KernelResult:
    """Run the steps on the card in ``term`` (see the module docstring)."""
    cfg = config or TerminalConfig()
    card = card_objects(term)
    tvr, tsi = Tvr(), Tsi()
    pan = (card.get(0x5A) or b"").hex().upper().rstrip("F")
    if pan in cfg.exception_file:
        tvr.set(TvrBit.ON_EXCEPTION_FILE)
    for bit in restrictions(card, cfg, transaction_type, today):
        tvr.set(bit)
    static = static_data(term.trace.afl, term.trace.records)
    oda = authenticate(
        card, static, pan, term=cfg, capks=capks,
        internal_authenticate=_internal_authenticate(term), values=term.values, today=today,
    )  # fmt: skip
    for bit in oda.tvr:
        tvr.set(bit)
    if oda.performed:
        tsi.set(TsiBit.ODA_PERFORMED)
    cvm = verify(card.get(0x8E), amount, cfg, perform_cvm)
    if cvm.performed and card.get(0x82, b"\x00")[0] & 0x10:
        tsi.set(TsiBit.CVM_PERFORMED)
    for bit in cvm.tvr:
        tvr.set(bit)
    counters = None
    if 0x9F14 in card and 0x9F23 in card:
        counters = (_get_data(term, 0x9F36), _get_data(term, 0x9F13))
    for bit in risk(amount, cfg, card, counters, draw=draw):
        tvr.set(bit)
    tsi.set(TsiBit.TRM_PERFORMED)
    decision = analyse(tvr, cfg, card)
    tsi.set(TsiBit.CRM_PERFORMED)
    term.values.update({0x95: bytes(tvr), 0x9B: bytes(tsi), 0x9F34: cvm.results})
    return KernelResult(tvr, tsi, cvm, oda, decision)

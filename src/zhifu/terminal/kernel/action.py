"""Terminal action analysis (EMV 4.3 Book 3 §10.7): the TVR against the action codes.

The terminal ORs its action code (TAC) with the card's (IAC: denial 9F0E, online 9F0F,
default 9F0D) and ANDs each with the TVR:

1. denial matches → AAC (decline offline);
2. an online-capable terminal: online matches → ARQC, else TC (approve offline);
3. an offline-only terminal (or one that could not go online, :func:`default_action`):
   default matches → AAC, else TC.

Absent IACs count as denial all zeros, online and default all ones (EMV: a card without IACs
goes online or declines whenever anything is wrong).

>>> from zhifu.terminal.kernel.bits import Tvr, TvrBit
>>> analyse(Tvr.of(TvrBit.EXCEEDS_FLOOR_LIMIT), TerminalConfig(), {}).name
'ARQC'
>>> analyse(Tvr(), TerminalConfig(), {0x9F0F: bytes(5), 0x9F0D: bytes(5)}).name
'TC'
>>> card = {0x9F0E: bytes.fromhex("0040000000")}
>>> analyse(Tvr.of(TvrBit.EXPIRED_APPLICATION), TerminalConfig(), card).name
'AAC'
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from zhifu.terminal.kernel.bits import Tvr
from zhifu.terminal.kernel.config import TerminalConfig

__all__ = ["Decision", "analyse", "default_action"]


class Decision(Enum):
    """The cryptogram the terminal asks for in the first GENERATE AC (P1)."""

    AAC = 0x00
    TC = 0x40
    ARQC = 0x80


_ONES = b"\xff" * 5


def _matches(tvr: Tvr, tac: bytes, iac: bytes) -> bool:
    return any(t & (a | b) for t, a, b in zip(bytes(tvr), tac, iac, strict=True))


def analyse(tvr: Tvr, term: TerminalConfig, card: Mapping[int, bytes]) -> Decision:
    """The decision for the first GENERATE AC."""
    if _matches(tvr, term.tac_denial, card.get(0x9F0E, bytes(5))):
        return Decision.AAC
    if term.online_capable:
        online = _matches(tvr, term.tac_online, card.get(0x9F0F, _ONES))
        return Decision.ARQC if online else Decision.TC
    return default_action(tvr, term, card)


def default_action(tvr: Tvr, term: TerminalConfig, card: Mapping[int, bytes]) -> Decision:
    """Offline-only, or the host could not be reached: the default codes decide (AAC or TC)."""
    default = _matches(tvr, term.tac_default, card.get(0x9F0D, _ONES))
    return Decision.AAC if default else Decision.TC

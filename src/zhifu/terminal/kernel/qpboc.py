"""The contactless (qPBOC) tap as the terminal runs it (PBOC 3.0 part 12; card-terminal §1.6).

One tap: SELECT PPSE and its directory (the terminal's AIDs by priority), SELECT the AID, GET
PROCESSING OPTIONS with the PDOL data — the card answers with its cryptogram at once (template
77: AIP, AFL, ATC, 9F26/9F27/9F10, Track 2 equivalent, CTQ 9F6C, e-cash balance) — then READ
RECORD for the rest. The terminal qualifiers 9F66 say what the reader can do and what this
amount needs:

* byte 1: qPBOC ``20``, contact chip ``10``, online PIN ``04``, signature ``02``;
* byte 2: online cryptogram required ``80`` (always, see below), CVM required ``40`` above the
  contactless CVM limit.

Limits (:class:`~zhifu.terminal.kernel.config.TerminalConfig`): above the contactless
transaction limit the tap is refused (insert the card); above the CVM limit the cardholder
enters the PIN (online); at or above the contactless floor limit the terminal asks for an
online cryptogram, below it the card may approve offline from its e-cash balance (TC, with
fDDA): the terminal verifies the fDDA and keeps the TC for its later upload
(``docs/terminal.md``).

>>> ttq(500_00, TerminalConfig()).hex(), ttq(1_500_00, TerminalConfig()).hex()
('36800000', '36c00000')
"""

from __future__ import annotations

from typing import Final

from zhifu.terminal.kernel.config import TerminalConfig

__all__ = ["TAP_TAGS", "cvm_required", "ttq"]

TAP_TAGS: Final = (0x9F26, 0x9F27, 0x9F10, 0x9F36, 0x82, 0x9F6C, 0x9F5D)
"""What the GPO answer of a tap carries for field 55 (beside the terminal's own values)."""


def cvm_required(amount: int, term: TerminalConfig, ctq: bytes | None) -> bool:
    """Online PIN: above the contactless CVM limit, or when the card's CTQ asks for it."""
    asked = bool(ctq and ctq[0] & 0x80)
    return amount > term.contactless_cvm_limit or asked


def ttq(amount: int, term: TerminalConfig) -> bytes:
    """The terminal transaction qualifiers (9F66) for this amount."""
    first = 0x20 | 0x10 | 0x04 | 0x02
    online = 0x80 if amount >= term.contactless_floor_limit else 0
    second = online | (0x40 if amount > term.contactless_cvm_limit else 0)
    return bytes([first, second, 0, 0])

"""``zhifu card apdu`` at a terminal: a console for talking to a card by hand.

When ``zhifu card apdu --card FILE`` gets no APDU arguments and its standard input is a
terminal (and ``--json`` is not asked for), it prompts for one APDU a line, with line editing
and a history of the session (readline; nothing is written to disk, since APDUs can carry PIN
blocks). Each answer shows as the card sent it, then the meaning of its status word and its
data as a TLV tree with tag names (PAN, track 2 and the cardholder name masked unless
``--reveal``). Commands: ``help``, ``reset`` (power off and on: a new session, the ATR again),
``quit`` or ``exit``; Ctrl-D leaves as well, Ctrl-C drops the line being typed. The card file
is kept up to date as the card commits its state, as in the other modes.

>>> from zhifu.card.icc.emulated import EmulatedCard
>>> lines = iter(["80CA9F3600", "quit"])
>>> run_console(EmulatedCard.example(), lambda prompt: next(lines), print, title="ref")
zhifu card console: ref, ATR 3B8B80015A484946552D50424F433342
type an APDU in hex, help for the commands, quit or Ctrl-D to leave
6985
  6985: conditions of use not satisfied (使用条件不满足)
0
"""

from __future__ import annotations

from collections.abc import Callable

from zhifu.card.apdu import describe_sw
from zhifu.card.icc.emulated import EmulatedCard
from zhifu.cli.common import hexu, parse_hex
from zhifu.codec import tlv
from zhifu.core.errors import DecodeError, UsageError

__all__ = ["HELP", "PROMPT", "answer_lines", "run_console", "terminal_reader"]

PROMPT = "apdu> "
HELP = """\
an APDU in hex, spaces allowed, is sent to the card; for example
  00A404000E315041592E5359532E444446303100   SELECT PSE (contact directory)
  00A404000E325041592E5359532E444446303100   SELECT PPSE (contactless directory)
  00A4040008A00000033301010100               SELECT the UnionPay debit application
  00B2010C00                                 READ RECORD 1 of SFI 1
  80CA9F3600                                 GET DATA: the ATC (9F36)
help    this text
reset   power the card off and on: a new session, the ATR again
quit    leave (also exit, or Ctrl-D); Ctrl-C drops the line being typed"""

ReadLine = Callable[[str], str]
Write = Callable[[str], None]


def terminal_reader() -> ReadLine:
    """``input`` with readline's line editing and in-memory history."""
    import readline  # noqa: F401, PLC0415 - changes input() for the whole process: console only

    return input


def answer_lines(response: bytes, *, reveal: bool = False) -> list[str]:
    """A response for people: data and SW as sent, the SW's meaning, the data's TLV tree."""
    data, sw = response[:-2], int.from_bytes(response[-2:], "big")
    lines = [f"{hexu(data)} {sw:04X}" if data else f"{sw:04X}", f"  {describe_sw(sw)}"]
    if data:
        try:
            tree = tlv.render_tree(tlv.decode(data), reveal=reveal)
        except DecodeError:
            lines.append("  (the data is not BER-TLV)")
        else:
            lines += ["  " + row for row in tree.splitlines()]
    return lines


def _command(card: EmulatedCard, text: str, write: Write, reveal: bool) -> bool:
    """Run one line; False when it asks to leave."""
    word = text.lower()
    if word in ("quit", "exit"):
        return False
    if word == "help":
        write(HELP)
    elif word == "reset":
        write(f"ATR {hexu(card.power_on())}")
    else:
        try:
            apdu = parse_hex("APDU", text)
        except UsageError:
            write("not an APDU (hex digits, spaces allowed) nor a command: try help")
            return True
        for line in answer_lines(card.transmit(apdu), reveal=reveal):
            write(line)
    return True


def run_console(
    card: EmulatedCard, read_line: ReadLine, write: Write, *, reveal: bool = False, title: str = ""
) -> int:
    """The console loop over ``read_line`` (raises EOFError at the end, KeyboardInterrupt on
    Ctrl-C) and ``write`` (one line a call); returns the exit status, 0."""
    atr = card.power_on()
    write(f"zhifu card console: {title or card.image.profile}, ATR {hexu(atr)}")
    write("type an APDU in hex, help for the commands, quit or Ctrl-D to leave")
    while True:
        try:
            line = read_line(PROMPT)
        except EOFError:  # Ctrl-D
            write("")
            return 0
        except KeyboardInterrupt:  # Ctrl-C: the line is dropped
            write("")
            continue
        text = line.split("#", 1)[0].strip()
        if text and not _command(card, text, write, reveal):
            return 0

"""``zhifu card``: issue emulated PBOC cards, talk APDUs to them, show them; ``zhifu emv tlv``.

``zhifu card apdu`` prints one line per response, data then status word in upper-case hex
(``--json``: one JSON object per line, ``{"data": .., "sw": ..}``). Without HEX arguments it
reads one APDU per line from standard input (blank lines and ``#`` comments skipped) and
prints and flushes each response before reading the next line: one power-on session that a
script can drive. At a terminal it is a console instead (:mod:`zhifu.cli.card.console`).
The card file is updated as the card commits its state.

A file that is not what the option wants (a key file or a PNG given as ``--card``), a folder
that does not exist for ``--out``, or a card already there (without ``--force``) is a
one-line error naming the option, exit status 2 (:mod:`zhifu.cli.card.files`).

>>> import os, tempfile
>>> from zhifu.cli.common import emit
>>> parser = argparse.ArgumentParser(prog="zhifu")
>>> register(parser.add_subparsers())
>>> def run(*argv: str) -> int:
...     args = parser.parse_args(argv)
...     return emit(args.handler(args), args.json)
>>> card = os.path.join(tempfile.mkdtemp(), "ref.json")
>>> run("card", "issue", "--profile", "pboc-reference", "--out", card)
issued a pboc-reference card, PAN 622800******1117, A000000333010101
0
>>> run("card", "apdu", "--card", card, "00A4040008A00000033301010100", "80CA9F7900")
... # doctest: +ELLIPSIS
6F578408A000000333010101...9000
9F79060000000000009000
0
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from zhifu.card.conformance import check_card
from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.image.model import Application, CardImage
from zhifu.card.issuing import IssuerKeys, issue_card
from zhifu.card.profile import builtin_profiles
from zhifu.cli.card.console import run_console, terminal_reader
from zhifu.cli.card.files import check_out, profile_error, read_card, read_issuer
from zhifu.cli.card.serve import register_serve
from zhifu.cli.card.show import show_card
from zhifu.cli.common import Outcome, SubParsers, hexu, leaf, parse_hex
from zhifu.codec import tlv
from zhifu.codec.pan import mask_pan
from zhifu.core.errors import DecodeError, UsageError

__all__ = ["register", "register_emv"]

APDU_EPILOG = """\
Without HEX arguments the APDUs come from standard input, one a line (blank lines and
# comments skipped), each answered before the next line is read.

At a terminal (standard input a tty, no --json) this is a console for people instead: a
prompt with line editing and a history of the session (not saved: APDUs can carry PIN
blocks); each answer is decoded (the status word's meaning, the data as a TLV tree with tag
names; PAN and track 2 masked unless --reveal). Type help for its commands, quit or exit to
leave, or press Ctrl-D; Ctrl-C drops the line being typed."""


def register(sub: SubParsers) -> None:
    """Add ``card`` and its sub-commands to the command tree."""
    text = "emulated PBOC 3.0 cards: issue from a profile, send APDUs, show the personalisation"
    group = sub.add_parser("card", help=text, description=text)
    group.set_defaults(help_parser=group)
    cmds = group.add_subparsers(title="card commands", metavar="COMMAND")

    names = ", ".join(builtin_profiles())
    p = leaf(cmds, "issue", _issue, "personalise a card file from a profile")
    p.add_argument("--profile", required=True, metavar="NAME|FILE", help=f"one of {names}")
    p.add_argument("--pan", help="the PAN (default: the profile's, or a test-BIN PAN)")
    p.add_argument("--out", required=True, metavar="CARD", help="the card file to write")
    p.add_argument("--force", action="store_true", help="replace the card file if it exists")
    p.add_argument(
        "--issuer",
        metavar="FILE",
        help="issuer key file (created with new master keys when missing; "
        "default: the built-in test issuer)",
    )

    p = leaf(cmds, "apdu", _apdu, "power the card up and send APDUs (arguments, stdin, console)")
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = APDU_EPILOG
    p.add_argument("--card", required=True, metavar="CARD", help="the card file")
    p.add_argument(
        "--interface",
        choices=("auto", "contact", "contactless"),
        default="auto",
        help="auto (default): SELECT PSE/PPSE decides",
    )
    p.add_argument("--reveal", action="store_true", help="console: do not mask PAN, track 2")
    p.add_argument("apdus", nargs="*", metavar="HEX", help="command APDUs, in hex")

    p = leaf(cmds, "show", _show, "the personalisation, PAN masked, without key material")
    p.add_argument("--card", metavar="CARD", help="the card file")
    p.add_argument("legacy_card", nargs="?", metavar="CARD", help=argparse.SUPPRESS)

    p = leaf(cmds, "check", _check, "check a card against the EMV/PBOC data dictionary")
    p.add_argument("--card", required=True, metavar="CARD", help="the card file")

    leaf(cmds, "profiles", _profiles, "list the built-in profiles")
    register_serve(cmds)


def register_emv(sub: SubParsers) -> None:
    """Add ``emv`` (``emv tlv``) to the command tree."""
    text = "EMV data: decode BER-TLV with tag names"
    group = sub.add_parser("emv", help=text, description=text)
    group.set_defaults(help_parser=group)
    cmds = group.add_subparsers(title="emv commands", metavar="COMMAND")
    p = leaf(cmds, "tlv", _tlv, "print a BER-TLV tree with tag names (PAN and track 2 masked)")
    p.add_argument("data", metavar="HEX", help="the TLV bytes, in hex")
    p.add_argument("--reveal", action="store_true", help="do not mask PAN, track 2, name")


# ------------------------------------------------------------------------------ issue


def _issuer(path: str | None) -> tuple[IssuerKeys, str, bool]:
    """The issuer, how to say where it comes from, and whether it is new (to be saved)."""
    if path is None:
        return IssuerKeys.test(), "the built-in test issuer", False
    if Path(path).exists():
        return read_issuer(path), f"issuer keys {path}", False
    if not Path(path).parent.is_dir():
        raise UsageError(f"the folder {Path(path).parent} does not exist", argument="issuer")
    return IssuerKeys.generate(), f"new issuer keys written to {path}", True


def _save(what: IssuerKeys | CardImage, path: str, argument: str) -> None:
    try:
        what.save(path)
    except OSError as exc:
        raise UsageError(f"cannot write {path} ({exc.strerror})", argument=argument) from None


def _issue(args: argparse.Namespace) -> Outcome:
    check_out(args.out, force=args.force)
    issuer, source, new_issuer = _issuer(args.issuer)
    try:
        image = issue_card(args.profile, args.pan, None, issuer=issuer)
    except DecodeError as exc:
        raise profile_error(args.profile, exc) from None
    if new_issuer:  # written once the card can be issued: a failed issue leaves no file
        _save(issuer, args.issuer, "issuer")
    _save(image, args.out, "out")
    pans = [_pan(app) for app in image.applications]
    aids = [hexu(app.aid) for app in image.applications]
    shown = pans[0] or "-"
    data = {"profile": image.profile, "pan": shown, "aids": aids, "card": args.out}
    data["issuer"] = source
    return Outcome(data, f"issued a {image.profile} card, PAN {shown}, {', '.join(aids)}")


def _pan(app: Application) -> str | None:
    value = app.internal(0x5A)
    return None if value is None else mask_pan(value.hex().upper().rstrip("F"))


def _profiles(args: argparse.Namespace) -> Outcome:
    names = builtin_profiles()
    return Outcome({"profiles": names}, names)


# ------------------------------------------------------------------------------ apdu


def _answer(card: EmulatedCard, apdu: bytes, as_json: bool, out: TextIO) -> None:
    response = card.transmit(apdu)
    data, sw = hexu(response[:-2]), hexu(response[-2:])
    line = json.dumps({"data": data, "sw": sw}) if as_json else data + sw
    out.write(line + "\n")
    out.flush()


def _write(line: str) -> None:
    print(line, flush=True)


def _apdu(args: argparse.Namespace) -> Outcome:
    apdus = [parse_hex("HEX", text) for text in args.apdus]
    card = EmulatedCard(read_card(args.card), args.card, interface=args.interface)
    as_json, status = bool(args.json), 0
    args.json = False  # the responses are printed here, one line each, as they come
    if not apdus and not as_json and sys.stdin.isatty():
        title = f"{card.image.profile} card {args.card}"
        status = run_console(card, terminal_reader(), _write, reveal=args.reveal, title=title)
        return Outcome({}, [], status)
    card.power_on()
    if apdus:
        for apdu in apdus:
            _answer(card, apdu, as_json, sys.stdout)
        return Outcome({}, [])
    for number, line in enumerate(sys.stdin, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            apdu = parse_hex("HEX", text)
        except UsageError:
            print(f"zhifu: error: line {number}: not hexadecimal", file=sys.stderr, flush=True)
            status = 2
            continue
        _answer(card, apdu, as_json, sys.stdout)
    return Outcome({}, [], status)


# ------------------------------------------------------------------------------ show


def _show(args: argparse.Namespace) -> Outcome:
    path = args.card
    if args.legacy_card is not None:
        if path is not None:
            raise UsageError("give the card once, as --card CARD", argument="card")
        print("zhifu: warning: 'card show CARD' is deprecated, use --card CARD", file=sys.stderr)
        path = args.legacy_card
    if path is None:
        raise UsageError("the card file is required", argument="card")
    data, lines = show_card(read_card(path))
    return Outcome(data, lines)


# ------------------------------------------------------------------------------ check


def _check(args: argparse.Namespace) -> Outcome:
    """Exit status 1 (a negative answer) when the card departs from the dictionary."""
    findings = check_card(read_card(args.card))
    data = {"card": args.card, "findings": [finding._asdict() for finding in findings]}
    if not findings:
        text = "every data element as the dictionary gives it; PAN, expiry, service code agree"
        return Outcome(data, f"{args.card}: {text}")
    return Outcome(data, [str(finding) for finding in findings], 1)


# ------------------------------------------------------------------------------ emv tlv


def _tlv(args: argparse.Namespace) -> Outcome:
    items = tlv.decode(parse_hex("HEX", args.data))
    tree = tlv.render_tree(items, reveal=args.reveal)
    return Outcome({"tlv": tlv.describe(items, reveal=args.reveal)}, tree.splitlines())

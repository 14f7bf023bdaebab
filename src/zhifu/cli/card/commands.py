"""``zhifu card``: issue emulated PBOC cards, talk APDUs to them, show them; ``zhifu emv tlv``.

``zhifu card apdu`` prints one line per response, data then status word in upper-case hex
(``--json``: one JSON object per line, ``{"data": .., "sw": ..}``). Without HEX arguments it
reads one APDU per line from standard input (blank lines and ``#`` comments skipped) and
prints and flushes each response before reading the next line: one power-on session that a
script can drive. The card file is updated as the card commits its state.

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
from typing import Any, TextIO

from zhifu.card.icc.emulated import EmulatedCard
from zhifu.card.image.model import Application, CardImage
from zhifu.card.issuing import IssuerKeys, issue_card
from zhifu.card.profile import builtin_profiles
from zhifu.cli.card.serve import register_serve
from zhifu.cli.common import Outcome, SubParsers, hexu, leaf, parse_hex
from zhifu.codec import tlv
from zhifu.codec.pan import mask_pan
from zhifu.core.errors import DecodeError, UsageError

__all__ = ["register", "register_emv"]


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
    p.add_argument(
        "--issuer",
        metavar="FILE",
        help="issuer key file (created with new master keys when missing; "
        "default: the built-in test issuer)",
    )

    p = leaf(cmds, "apdu", _apdu, "power the card up and send APDUs (arguments or stdin)")
    p.add_argument("--card", required=True, metavar="CARD", help="the card file")
    p.add_argument(
        "--interface",
        choices=("auto", "contact", "contactless"),
        default="auto",
        help="auto (default): SELECT PSE/PPSE decides",
    )
    p.add_argument("apdus", nargs="*", metavar="HEX", help="command APDUs, in hex")

    p = leaf(cmds, "show", _show, "the personalisation, PAN masked, without key material")
    p.add_argument("card", metavar="CARD", help="the card file")

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


def _issuer(path: str | None) -> tuple[IssuerKeys, str]:
    if path is None:
        return IssuerKeys.test(), "the built-in test issuer"
    if Path(path).exists():
        return IssuerKeys.load(path), f"issuer keys {path}"
    issuer = IssuerKeys.generate()
    issuer.save(path)
    return issuer, f"new issuer keys written to {path}"


def _issue(args: argparse.Namespace) -> Outcome:
    issuer, source = _issuer(args.issuer)
    image = issue_card(args.profile, args.pan, Path(args.out), issuer=issuer)
    pans = [_pan(app) for app in image.applications]
    aids = [hexu(app.aid) for app in image.applications]
    shown = pans[0] or "-"
    data = {"profile": image.profile, "pan": shown, "aids": aids, "card": args.out}
    data["issuer"] = source
    return Outcome(data, f"issued a {image.profile} card, PAN {shown}, {', '.join(aids)}")


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


def _apdu(args: argparse.Namespace) -> Outcome:
    apdus = [parse_hex("HEX", text) for text in args.apdus]
    card = EmulatedCard.load(args.card, interface=args.interface)
    card.power_on()
    as_json, status = bool(args.json), 0
    args.json = False  # the responses are printed here, one line each, as they come
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


def _pan(app: Application) -> str | None:
    value = app.internal(0x5A)
    if value is None:
        return None
    return mask_pan(value.hex().upper().rstrip("F"))


def _tree(data: bytes) -> list[dict[str, Any]]:
    try:
        return tlv.describe(tlv.decode(data))
    except DecodeError:
        return [{"length": len(data), "error": "not BER-TLV"}]


def _app_view(app: Application) -> dict[str, Any]:
    state = app.state
    return {
        "aid": hexu(app.aid),
        "pan": _pan(app),
        "expiry": (app.internal(0x5F24) or b"").hex(),
        "algorithms": sorted(app.keys),
        "oda": sorted(app.icc_key),
        "offline_pin": app.pin_block is not None,
        "pin_try_limit": app.pin_try_limit,
        "fci": {name: _tree(fci) for name, fci in app.fci.items()},
        "paths": {name: path.to_json() for name, path in app.paths.items()},
        "iad": hexu(app.iad),
        "records": {f"{k[0]}.{k[1]}": _tree(app.records[k]) for k in sorted(app.records)},
        "data": {tlv.tag_hex(t): hexu(v) for t, v in app.data.items()},
        "qpboc_data": _tree(b"".join(tlv.Tlv(t, v).encode() for t, v in app.qpboc_data.items())),
        "state": {
            "atc": state.atc,
            "last_online_atc": state.last_online_atc,
            "pin_tries": state.pin_tries,
            "ec_balance": state.ec_balance,
            "blocked": state.blocked,
            "offline_count": state.offline_count,
            "online_pending": state.online_pending,
            "transaction_log": len(state.transaction_log),
            "load_log": len(state.load_log),
        },
    }


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _label(app: Application) -> bytes:
    for fci in app.fci.values():
        item = tlv.find(tlv.decode(fci), 0x50)
        if item is not None:
            return item.value
    return b""


def _scrub(value: Any, digits: str, masked: str) -> Any:
    """Mask the PAN wherever it still shows in clear (e.g. inside an SM2 ICC certificate)."""
    if isinstance(value, str):
        return value.replace(digits, masked)
    if isinstance(value, list):
        return [_scrub(item, digits, masked) for item in value]
    if isinstance(value, dict):
        return {key: _scrub(item, digits, masked) for key, item in value.items()}
    return value


def _app_lines(app: Application, view: dict[str, Any]) -> list[str]:
    state, label = app.state, _label(app)
    lines = [
        f"application {view['aid']} {label.decode('ascii', 'replace')!r}",
        f"  PAN {view['pan'] or '-'}, expiry {view['expiry'] or '-'}, "
        f"algorithms {'+'.join(view['algorithms']) or '-'}, ODA {'+'.join(view['oda']) or '-'}",
        f"  ATC {state.atc}, last online ATC {state.last_online_atc}, PIN tries "
        f"{state.pin_tries}/{app.pin_try_limit}{'' if app.pin_block else ' (no offline PIN)'}, "
        f"blocked {'yes' if state.blocked else 'no'}",
    ]
    limit = app.data.get(0x9F77)
    if limit is not None:
        lines.append(
            f"  e-cash balance {_yuan(state.ec_balance)} (limit {_yuan(int(limit.hex()))}), "
            f"{len(state.transaction_log)} transaction log, {len(state.load_log)} load log records"
        )
    for name, path in app.paths.items():
        sm = f" (SM {hexu(path.afl_sm)})" if path.afl_sm else ""
        lines.append(f"  path {name}: AIP {hexu(path.aip)} AFL {hexu(path.afl)}{sm}")
    for key in sorted(app.records):
        lines.append(f"  record {key[0]}.{key[1]}")
        tree = tlv.render_tree(tlv.decode(app.records[key]))
        lines += ["    " + row for row in tree.splitlines()]
    return lines


def _show(args: argparse.Namespace) -> Outcome:
    image = CardImage.load(args.card)
    views = [_app_view(app) for app in image.applications]
    data = {
        "profile": image.profile,
        "atr": hexu(image.atr),
        "card_blocked": image.card_blocked,
        "applications": views,
    }
    lines = [f"card {image.profile}, ATR {hexu(image.atr)}"]
    if image.card_blocked:
        lines.append("CARD BLOCKED")
    for app, view in zip(image.applications, views, strict=True):
        lines += _app_lines(app, view)
    for app in image.applications:
        pan = app.internal(0x5A)
        if pan is not None:
            digits = pan.hex().upper().rstrip("F")
            masked = mask_pan(digits)
            data, lines = _scrub(data, digits, masked), _scrub(lines, digits, masked)
    return Outcome(data, lines)


# ------------------------------------------------------------------------------ emv tlv


def _tlv(args: argparse.Namespace) -> Outcome:
    items = tlv.decode(parse_hex("HEX", args.data))
    tree = tlv.render_tree(items, reveal=args.reveal)
    return Outcome({"tlv": tlv.describe(items, reveal=args.reveal)}, tree.splitlines())

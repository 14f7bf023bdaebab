"""``zhifu iso8583``: decode and encode UnionPay POS ISO 8583 frames.

``decode`` prints the framing, header, MTI, bitmap and every field with its name (field 55 as a
tag tree, the sub-fields of 22/53/60/61/62/63), the PAN and tracks masked unless ``--reveal``;
``--json`` gives the same as data. ``encode`` takes exactly what ``decode --json --reveal``
prints and gives the frame back byte for byte (a MAC is computed when ``--mac-key`` is given).

>>> import argparse
>>> parser = argparse.ArgumentParser(prog="zhifu")
>>> register(parser.add_subparsers())
>>> frame = ("0028" "6006010000" "613100311108" "0800" "0020000000800010" "000001"
...          "3232303033363030" "0011" "000000000030")
>>> args = parser.parse_args(["iso8583", "decode", frame])
>>> for line in args.handler(args).lines: print(line)
frame   length 40, profile cup
tpdu    6006010000  id 60, destination 0601, source 0000
header  613100311108  application 61, version 31, status 0, requirement 0 (none), software 311108
mti     0800  网络管理请求 network management request
bitmap  0020000000800010  fields 11 41 60
 11  受卡方系统跟踪号 system trace audit number (STAN)
     000001
 41  受卡机终端标识码 card acceptor terminal id
     22003600
 60  自定义域 private: 60.1-60.7 (type, batch, ...)
     00000000003
     60.1 交易类型码: 00  management / settlement / script advice
     60.2 批次号: 000000
     60.3 网络管理信息码: 003  sign-on: double-length keys
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from zhifu.cli.common import Outcome, SubParsers, hexu, leaf, name_arguments, parse_hex
from zhifu.core.errors import DecodeError, EncodeError, UsageError
from zhifu.crypto.cipher import Cipher
from zhifu.crypto.mac import mac_cup_ecb, mac_x9_19
from zhifu.iso8583 import mac as iso_mac
from zhifu.iso8583.describe import Form, describe_frame, encode_description
from zhifu.iso8583.message import Message
from zhifu.iso8583.profiles import PROFILES

__all__ = ["register", "render_description"]


def register(sub: SubParsers) -> None:
    """Add ``iso8583`` and its sub-commands to the command tree."""
    text = "UnionPay POS ISO 8583: decode a frame into named fields, or encode one"
    group = sub.add_parser("iso8583", help=text, description=text)
    group.set_defaults(help_parser=group)
    cmds = group.add_subparsers(title="iso8583 commands", metavar="COMMAND")
    p = leaf(cmds, "decode", _decode, "decode a frame (length, TPDU, header, message)")
    p.add_argument("data", metavar="HEX", nargs="?", help="the frame in hex (default: stdin)")
    p.add_argument("--file", metavar="FILE", help="read the hex from a file")
    shape = p.add_mutually_exclusive_group()
    shape.add_argument("--bare", action="store_true", help="a message from the MTI on")
    shape.add_argument("--no-length", action="store_true", help="a frame without its length")
    p.add_argument("--profile", default="cup", choices=tuple(PROFILES), help="acquirer profile")
    p.add_argument("--reveal", action="store_true", help="show PAN, tracks, PIN block and keys")
    p = leaf(cmds, "encode", _encode, "encode what `decode --json --reveal` prints")
    p.add_argument("data", metavar="JSON", nargs="?", help="the description (default: stdin)")
    p.add_argument("--file", metavar="FILE", help="read the JSON from a file")
    p.add_argument("--mac-key", metavar="HEX", help="MAK: compute field 64")
    p.add_argument("--mac-alg", default="cup-ecb", choices=("cup-ecb", "x9.19"), help="MAC")
    p.add_argument("--mac-cipher", choices=("des", "3des", "sm4"), help="cup-ecb block cipher")
    name_arguments(p, key="--mac-key")


def _read_input(args: argparse.Namespace, argument: str) -> str:
    if args.data is not None and args.file:
        raise UsageError(f"give {argument} or --file, not both", argument="--file")
    if args.data is not None:
        return str(args.data)
    if args.file:
        try:
            return Path(args.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read it ({type(exc).__name__})", argument="--file") from None
    return sys.stdin.read()


def _decode(args: argparse.Namespace) -> Outcome:
    text = _read_input(args, "HEX").replace(":", "")
    data = parse_hex("HEX", text)
    form: Form = "bare" if args.bare else "no-length" if args.no_length else "frame"
    try:
        desc = describe_frame(data, form=form, profile=args.profile, reveal=args.reveal)
    except DecodeError as exc:
        raise UsageError(str(exc), argument="HEX") from None
    return Outcome(desc, render_description(desc))


def _mac_fn(args: argparse.Namespace) -> Callable[[bytes], bytes]:
    key = parse_hex("--mac-key", args.mac_key)
    if args.mac_alg == "x9.19":
        if len(key) != 16:
            raise UsageError("x9.19 takes a 16-byte key", argument="--mac-key")
        return lambda mab: mac_x9_19(key, mab)
    if args.mac_cipher:
        cipher = Cipher.parse(args.mac_cipher)
    else:
        cipher = Cipher.DES if len(key) == 8 else Cipher.TDES
    return lambda mab: mac_cup_ecb(cipher, key, mab)


def _encode(args: argparse.Namespace) -> Outcome:
    try:
        data = json.loads(_read_input(args, "JSON"))
    except json.JSONDecodeError as exc:
        raise UsageError(f"not JSON ({exc.msg} at {exc.pos})", argument="JSON") from None
    if not isinstance(data, dict):
        raise UsageError("expected a JSON object", argument="JSON")
    sign = None
    if args.mac_key:
        mac_fn = _mac_fn(args)

        def sign(message: Message, profile: str) -> bytes:
            return iso_mac.sign(message, mac_fn, profile)

    try:
        encoded = encode_description(data, sign=sign)
    except EncodeError as exc:
        raise UsageError(str(exc), argument="JSON") from None
    return Outcome({"hex": hexu(encoded), "length": len(encoded)}, hexu(encoded))


# ------------------------------------------------------------------------------------ text


def render_description(desc: Mapping[str, Any]) -> list[str]:
    """The text lines of a :func:`~zhifu.iso8583.describe.describe_frame` result."""
    lines = []
    head = f"frame   {desc['form']}" if desc["form"] != "frame" else "frame  "
    if "length" in desc:
        head += f" length {desc['length']}"
    lines.append(f"{head}, profile {desc['profile']}")
    if "tpdu" in desc:
        t, h = desc["tpdu"], desc["header"]
        lines.append(
            f"tpdu    {t['hex']}  id {t['id']}, destination {t['destination']}, "
            f"source {t['source']}"
        )
        lines.append(
            f"header  {h['hex']}  application {h['application_type']}, version {h['version']}, "
            f"status {h['terminal_status']}, requirement {h['processing_requirement']} "
            f"({h['processing_requirement_meaning']}), software {h['software_version']}"
        )
    lines.append(f"mti     {desc['mti']}  {desc['mti_name']}")
    numbers = " ".join(desc["fields"])
    lines.append(f"bitmap  {desc['bitmap']}  fields {numbers}")
    for number, entry in desc["fields"].items():
        lines += _render_field(number, entry)
    if desc.get("pads"):
        pads = ", ".join(f"{k}: {v}" for k, v in desc["pads"].items())
        lines.append(f"pads    {pads} (pad nibbles other than the profile's)")
    if desc.get("masked_fields"):
        lines.append(f"masked  fields {', '.join(desc['masked_fields'])} (use --reveal)")
    return lines


def _render_field(number: str, entry: Mapping[str, Any]) -> list[str]:
    name = entry["name"].partition(" ")[2]
    lines = [f"{number:>3}  {name}"]
    value = entry["value"]
    text = f'  "{entry["text"]}"' if "text" in entry else ""
    lines.append(f"     {value}{text}")
    for key in ("meaning", "action", "status", "detail_error"):
        if key in entry:
            lines.append(f"     {key}: {entry[key]}")
    for sub in entry.get("subfields", []):
        label = sub.get("name", "")
        meaning = f"  {sub['meaning']}" if "meaning" in sub else ""
        lines.append(f"     {sub['id']} {label}: {sub['value']}{meaning}".replace(" :", ":"))
    if "tlv" in entry:
        lines += _render_tlv(entry["tlv"], 5)
    for index, record in enumerate(entry.get("records", []), 1):
        lines.append(f"     record {index}")
        lines += _render_tlv(record, 7)
    for key, item in entry.get("sign_on_keys", {}).items():
        lines.append(f"     {key}: {item}")
    return lines


def _render_tlv(entries: list[dict[str, Any]], indent: int) -> list[str]:
    lines = []
    for item in entries:
        pad = " " * indent
        if "children" in item:
            lines.append(f"{pad}{item['tag']} {item['name']}")
            lines += _render_tlv(item["children"], indent + 2)
            continue
        text = f' "{item["text"]}"' if "text" in item else ""
        lines.append(f"{pad}{item['tag']} {item['name']} [{item['length']}] {item['value']}{text}")
    return lines

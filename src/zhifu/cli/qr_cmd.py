"""``zhifu qr``: make, read, check and classify barcode-payment codes.

- ``qr encode``: an EMVCo merchant-presented payload from fields (``--gui ... --amount``,
  ``--fields JSON``, ``--field 62.05=REF``), or any ``--text``; ``--png``/``--svg`` draw it.
- ``qr decode PAYLOAD | --image FILE``: the parsed tree (EMVCo MPM or CPM) and any deviations.
- ``qr validate PAYLOAD``: exit 0 when valid, 1 listing every deviation.
- ``qr classify CODE``: the kind and the issuing institution (exit 1 when unknown or refused).

PAYLOAD ``-`` reads one line from standard input.

>>> from zhifu.cli.common import emit
>>> parser = argparse.ArgumentParser(prog="zhifu")
>>> register(parser.add_subparsers())
>>> def run(*argv: str) -> int:
...     args = parser.parse_args(argv)
...     return emit(args.handler(args), args.json)
>>> run("qr", "classify", "120061098828009406")
payment_code: WeChat Pay (Tenpay) [wechat] (prefix 12, 18 digits)
0
>>> run("qr", "validate", "000201" + "6304ABCD")  # doctest: +ELLIPSIS
invalid: ... error(s)
...
1
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Final

from zhifu.barcode.codes.classify import CodeKind, classify
from zhifu.barcode.codes.cpm import CPM_PREFIX, CpmPayload, decode_cpm
from zhifu.barcode.codes.emvqr.model import DataObject, Deviation, Severity
from zhifu.barcode.codes.emvqr.mpm import build_mpm, merchant_fields
from zhifu.barcode.codes.emvqr.parse import ParseResult, parse_mpm
from zhifu.barcode.codes.render import decode_image, render_png, render_svg
from zhifu.barcode.registry import institution
from zhifu.cli.common import Outcome, SubParsers, leaf
from zhifu.core.errors import DecodeError, EncodeError, UsageError
from zhifu.core.money import Currency, Money


def register(sub: SubParsers) -> None:
    """Add ``qr`` and its sub-commands to the command tree."""
    text = "barcode payments: EMVCo QR payloads, payment and collection codes, code images"
    group = sub.add_parser("qr", help=text, description=text)
    group.set_defaults(help_parser=group)
    cmds = group.add_subparsers(title="qr commands", metavar="COMMAND")
    _register_encode(cmds)
    p = leaf(cmds, "decode", _decode, "print the parsed tree of a payload or of a code image")
    p.add_argument("payload", metavar="PAYLOAD", nargs="?", help="the payload text (- = stdin)")
    p.add_argument("--image", metavar="FILE", help="read the code(s) from an image instead")
    p = leaf(cmds, "validate", _validate, "check a payload: exit 0 if valid, 1 with deviations")
    p.add_argument("payload", metavar="PAYLOAD", help="the payload text (- = stdin)")
    p = leaf(cmds, "classify", _classify, "name a code's kind and issuing institution")
    p.add_argument("code", metavar="CODE", help="the scanned text (- = stdin)")


def _register_encode(cmds: SubParsers) -> None:
    p = leaf(cmds, "encode", _encode, "build an EMVCo payload, or draw a code image")
    p.add_argument("--text", help="encode this text as it is (instead of building a payload)")
    p.add_argument("--gui", help="merchant account template 00 (e.g. test.zhifu.pay)")
    p.add_argument("--merchant-id", help="merchant account template 01")
    p.add_argument("--merchant-name", help="59, ans (Latin letters)")
    p.add_argument("--city", help="60, ans")
    p.add_argument("--mcc", help="52, merchant category code (4 digits)")
    p.add_argument("--amount", help="54; makes a dynamic code (01 = 12)")
    p.add_argument("--currency", default="CNY", help="currency of --amount (default CNY = 156)")
    p.add_argument("--country", default="CN", help="58 (default CN)")
    p.add_argument("--name-zh", help="64/01, the merchant name in Chinese")
    p.add_argument("--city-zh", help="64/02, the city in Chinese")
    p.add_argument("--reference", help="62/05 reference label (e.g. the order number)")
    p.add_argument("--fields", metavar="JSON", help='fields as JSON: {"52": "5812", "62": {..}}')
    p.add_argument(
        "--field", action="append", default=[], metavar="ID=VALUE", help="one field (62.05=X)"
    )
    p.add_argument("--png", metavar="FILE", help="write a PNG of the QR symbol")
    p.add_argument("--svg", metavar="FILE", help="write an SVG of the QR symbol")
    p.add_argument("--scale", type=int, default=4, help="pixels per module (default 4)")


def _stdin_or(value: str) -> str:
    return sys.stdin.readline().rstrip("\r\n") if value == "-" else value


def _encode(args: argparse.Namespace) -> Outcome:
    built = args.gui or args.fields or args.field
    if args.text is not None and built:
        raise UsageError("give either --text or payload fields, not both", argument="--text")
    if args.text is not None:
        content = _stdin_or(args.text)
    elif built:
        content = _build(args)
    else:
        raise UsageError(
            "nothing to encode: give --text, --gui, --fields or --field", argument="--text"
        )
    data: dict[str, Any] = {"payload": content}
    lines = [content]
    if args.png:
        _write(args.png, "--png", render_png(content, scale=args.scale))
        data["png"] = args.png
        lines.append(f"wrote {args.png}")
    if args.svg:
        _write(args.svg, "--svg", render_svg(content, scale=args.scale).encode("utf-8"))
        data["svg"] = args.svg
        lines.append(f"wrote {args.svg}")
    return Outcome(data, lines)


# the payload fields the options of ``qr encode`` fill in (EMVCo MPM ids), for errors
FIELD_OPTIONS: Final = {
    "26": "--gui",
    "26.00": "--gui",
    "26.01": "--merchant-id",
    "52": "--mcc",
    "53": "--currency",
    "54": "--amount",
    "58": "--country",
    "59": "--merchant-name",
    "60": "--city",
    "62": "--reference",
    "62.05": "--reference",
    "64": "--name-zh",
    "64.01": "--name-zh",
    "64.02": "--city-zh",
}


def _build(args: argparse.Namespace) -> str:
    """The payload, or a UsageError naming the option whose field broke the rules."""
    try:
        return build_mpm(_fields(args))
    except EncodeError as exc:
        field = exc.field or ""
        option = FIELD_OPTIONS.get(field) if args.gui else None
        if option is not None and field.split(".")[0] not in _given_ids(args):
            raise UsageError(exc.reason, argument=option) from None
        given = "--fields" if args.fields else "--field" if args.field else "--gui"
        reason = f"field {field}: {exc.reason}" if field else exc.reason
        raise UsageError(reason, argument=given) from None


def _given_ids(args: argparse.Namespace) -> set[str]:
    """The top-level ids set by ``--field`` and ``--fields`` (a JSON object by now)."""
    given = {item.partition("=")[0].split(".")[0] for item in args.field}
    return given | set(json.loads(args.fields)) if args.fields else given


def _fields(args: argparse.Namespace) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if args.gui:
        amount = None
        if args.amount is not None:
            amount = Money.parse(args.amount, Currency.of(args.currency))
        missing = [f for f in ("merchant_id", "merchant_name", "city", "mcc") if not vars(args)[f]]
        if missing:
            raise UsageError("needed with --gui", argument="--" + missing[0].replace("_", "-"))
        fields = merchant_fields(
            gui=args.gui,
            merchant_id=args.merchant_id,
            name=args.merchant_name,
            city=args.city,
            mcc=args.mcc,
            amount=amount,
            country=args.country,
            name_zh=args.name_zh,
            city_zh=args.city_zh,
            reference=args.reference,
        )
    if args.fields:
        try:
            extra = json.loads(args.fields)
        except json.JSONDecodeError as exc:
            raise UsageError(f"not JSON ({exc.msg})", argument="--fields") from None
        if not isinstance(extra, dict):
            raise UsageError("a JSON object of ids", argument="--fields")
        fields.update(extra)
    for item in args.field:
        _set_path(fields, item)
    return fields


def _set_path(fields: dict[str, Any], item: str) -> None:
    path, sep, value = item.partition("=")
    if not sep or not path:
        raise UsageError(f"expected ID=VALUE, got {item!r}", argument="--field")
    parts = path.split(".")
    level = fields
    for part in parts[:-1]:
        nxt = level.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise UsageError(f"{part} is not a template here", argument="--field")
        level = nxt
    level[parts[-1]] = value


def _write(path: str, argument: str, data: bytes) -> None:
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}", argument=argument) from None


def _decode(args: argparse.Namespace) -> Outcome:
    if (args.payload is None) == (args.image is None):
        raise UsageError("give a PAYLOAD or --image FILE (one of them)", argument="PAYLOAD")
    if args.image is not None:
        return _decode_image(args.image)
    data, lines = _describe(_stdin_or(args.payload))
    return Outcome(data, lines, 0 if data.get("decoded") else 1)


def _decode_image(path: str) -> Outcome:
    try:
        texts = decode_image(path, code128=True)
    except UsageError as exc:
        raise UsageError(exc.message, argument="--image") from None
    except DecodeError as exc:  # not an image
        raise UsageError(f"{path}: {exc.reason}", argument="--image") from None
    if not texts:
        return Outcome({"image": path, "codes": []}, f"no code found in {path}", 1)
    codes, lines = [], []
    for text in texts:
        data, described = _describe(text)
        codes.append(data)
        lines += [f"code: {text}", *("  " + line for line in described)]
    return Outcome({"image": path, "codes": codes}, lines)


def _describe(text: str) -> tuple[dict[str, Any], list[str]]:
    """The decoded view of one scanned text: MPM tree, CPM tree or a classification."""
    if text.startswith(CPM_PREFIX):
        cpm = decode_cpm(text)
        return {"kind": "emvco_cpm", "decoded": True, **cpm.to_dict()}, _cpm_lines(cpm)
    if text.startswith("0002"):
        result = parse_mpm(text)
        data = {"kind": "emvco_mpm", "decoded": bool(result.tree), **result.to_dict()}
        return data, _mpm_lines(result)
    found = classify(text)
    data = {"decoded": found.kind is not CodeKind.UNKNOWN, "text": text, **found.to_dict()}
    return data, [_classification_line(found.kind, found.institution, found.reason)]


def _mpm_lines(result: ParseResult) -> list[str]:
    lines: list[str] = []
    for obj in result.tree:
        lines += _object_lines(obj, 0)
    return lines + _deviation_lines(result.deviations)


def _object_lines(obj: DataObject, depth: int) -> list[str]:
    pad = "    " * depth
    if obj.children is None:
        return [f"{pad}{obj.id} {obj.name} ({obj.length}): {obj.value}"]
    lines = [f"{pad}{obj.id} {obj.name} ({obj.length})"]
    for child in obj.children:
        lines += _object_lines(child, depth + 1)
    return lines


def _deviation_lines(deviations: list[Deviation]) -> list[str]:
    if not deviations:
        return ["deviations: none"]
    return ["deviations:"] + [f"  {d.severity.value}: {d}" for d in deviations]


def _cpm_lines(cpm: CpmPayload) -> list[str]:
    lines = [f"85 Payload Format Indicator: {cpm.format_indicator}"]
    for app in cpm.applications:
        view = app.to_dict()
        lines.append(f"61 Application Template: AID {view['aid']}")
        for key in ("label", "pan", "expiry", "service_code"):
            if view[key] is not None:
                lines.append(f"    {key}: {view[key]}")
        lines.append(f"    tags: {' '.join(view['tags'])}")
        if view["transparent"]:
            lines.append(f"    transparent templates: {' '.join(view['transparent'])}")
    return lines


def _validate(args: argparse.Namespace) -> Outcome:
    text = _stdin_or(args.payload)
    if text.startswith(CPM_PREFIX):
        try:
            decode_cpm(text)
        except DecodeError as exc:
            return Outcome({"valid": False, "error": str(exc)}, f"invalid: {exc}", 1)
        return Outcome({"valid": True, "deviations": []}, "valid (EMVCo CPM)")
    result = parse_mpm(text)
    data = {"valid": result.valid, "deviations": [d.to_dict() for d in result.deviations]}
    warnings = [d for d in result.deviations if d.severity is Severity.WARNING]
    if result.valid:
        head = "valid" + (f" ({len(warnings)} warning(s))" if warnings else "")
        return Outcome(data, [head] + [f"  warning: {d}" for d in warnings])
    head = f"invalid: {len(result.errors)} error(s)"
    lines = [head] + [f"  {d.severity.value}: {d}" for d in result.deviations]
    return Outcome(data, lines, 1)


def _classify(args: argparse.Namespace) -> Outcome:
    found = classify(_stdin_or(args.code))
    line = _classification_line(found.kind, found.institution, found.reason)
    ok = found.valid and found.institution is not None
    return Outcome(found.to_dict(), line, 0 if ok else 1)


def _classification_line(kind: CodeKind, inst: str | None, reason: str) -> str:
    who = f"{institution(inst).name} [{inst}]" if inst is not None else "unknown institution"
    return f"{kind.value}: {who} ({reason})"

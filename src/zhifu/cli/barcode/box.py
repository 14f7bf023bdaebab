"""``zhifu box``: the merchant's hands-free scanning box (意锐小盒, D5), emulated.

``zhifu box --url URL --merchant-id M --key-id K --key FILE --image FRAME --amount 12.34``
reads the camera frame (an image of the customer's phone screen), decodes the payment code,
sends a signed micropay for the amount the cashier entered, and announces the result
("收款成功 12.34元"): spoken into ``--wav FILE`` by ``espeak-ng`` when it is installed,
printed in any case. Exit status 0 when paid, 1 when refused.

>>> parser = argparse.ArgumentParser(prog="zhifu")
>>> register(parser.add_subparsers())
>>> args = parser.parse_args(["box", "--url", "http://127.0.0.1:8000", "--merchant-id", "M1",
...     "--key-id", "k1", "--key", "k.pem", "--image", "f.png", "--amount", "12.34"])
>>> args.amount, args.terminal_id
('12.34', 'BOX00001')
"""

from __future__ import annotations

import argparse
from pathlib import Path

from zhifu.cli.barcode.support import parse_yuan
from zhifu.cli.common import Outcome, SubParsers, leaf
from zhifu.core.errors import UsageError


def register(sub: SubParsers) -> None:
    """Add ``box`` to the command tree."""
    p = leaf(
        sub,
        "box",
        _box,
        "scanning box: read a payment code from an image, charge it, announce the result",
    )
    p.add_argument("--url", required=True, help="the zhifu server (http://127.0.0.1:8000)")
    p.add_argument("--merchant-id", required=True, help="the merchant the box belongs to")
    p.add_argument("--key-id", required=True, help="the merchant's registered key id")
    p.add_argument(
        "--key", required=True, metavar="FILE", help="the merchant's private key (SM2 or RSA PEM)"
    )
    p.add_argument("--image", required=True, metavar="FILE", help="camera frame of the phone")
    p.add_argument("--amount", required=True, help="amount the cashier entered, in yuan (12.34)")
    p.add_argument("--terminal-id", default="BOX00001", help="the box's terminal id")
    p.add_argument("--out-trade-no", help="order number (default: terminal id + time)")
    p.add_argument("--wav", metavar="FILE", help="speak the result into this WAV (espeak-ng)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the answer")


def _box(args: argparse.Namespace) -> Outcome:
    from zhifu.barcode.api.client import ApiClient  # noqa: PLC0415
    from zhifu.barcode.api.signing import SigningKey, load_private_key  # noqa: PLC0415
    from zhifu.barcode.box import collect  # noqa: PLC0415 - late: the CLI starts fast

    amount = parse_yuan(args.amount, "amount")
    try:
        pem = Path(args.key).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read: {exc.strerror}", argument="key") from None
    algorithm, private = load_private_key(pem)
    client = ApiClient(args.url, SigningKey(args.key_id, algorithm, private), timeout=args.timeout)
    try:
        result = collect(
            client,
            args.merchant_id,
            args.image,
            amount,
            terminal_id=args.terminal_id,
            out_trade_no=args.out_trade_no,
            wav=Path(args.wav) if args.wav else None,
        )
    finally:
        client.close()
    data = {
        "ok": result.ok,
        "announcement": result.text,
        "amount": result.amount,
        "error_code": result.error_code,
        "order": result.order,
        "wav": None if result.wav is None else str(result.wav),
    }
    lines = [result.text]
    if args.wav and result.wav is None:
        lines.append("(espeak-ng is not installed: the announcement is text only)")
    return Outcome(data, lines, status=0 if result.ok else 1)
